#include "core/database.h"
#include "core/config.h"
#include "lib/util.h"

struct db *database_open(char **error_r)
{
    char *url = config_database_url();
    struct db *db = config_database_pooled() ? db_open_pooled(url, error_r) : db_open(url, error_r);
    free(url);
    return db;
}

struct db *database_open_session(char **error_r)
{
    char *url = config_direct_url();
    struct db *db = db_open(url, error_r);
    free(url);
    return db;
}
