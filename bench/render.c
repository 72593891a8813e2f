/*
 * Template renders per second, for bench/run-fanout:
 *   render TEMPLATE_FILE N            the campaign template alone, N renders (no database)
 *   render --campaign ID N            campaign_render() of N queued rows of campaign ID, as a
 *                                     worker does (one query per row for the person)
 * Prints "renders/s".
 */
#include "lib/db.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/template.h"
#include "outbound/campaign_render.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die(66, "%s: cannot read", path);
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    return buf_detach(&b);
}

int main(int argc, char **argv)
{
    char *error = NULL;
    if (argc != 3 && argc != 4)
        die(64, "usage: render TEMPLATE N | render --campaign ID N");
    if (config_load(NULL, &error) < 0)
        die(78, "config: %s", error);
    if (strcmp(argv[1], "--campaign") == 0) {
        char *url = config_database_url();
        struct db *db = db_open(url, &error);
        if (!db)
            die(69, "%s", error);
        long n = atol(argv[3]);
        const char *params[] = {argv[2], argv[3]};
        PGresult *res = db_exec(db,
                                "SELECT id FROM outbound_messages WHERE campaign_id = $1"
                                " ORDER BY id LIMIT $2",
                                2, params, &error);
        if (!res)
            die(70, "%s", error);
        int64_t start = now_monotonic_ms();
        size_t bytes = 0;
        for (int i = 0; i < PQntuples(res); i++) {
            struct rendered_message m;
            if (campaign_render(db, strtoll(PQgetvalue(res, i, 0), NULL, 10), &m, &error) < 0)
                die(70, "%s", error);
            bytes += strlen(m.text) + (m.html ? strlen(m.html) : 0);
            template_message_release(&m);
        }
        double s = (double)(now_monotonic_ms() - start) / 1000.0;
        printf("%.0f renders/s (%d rows with their person from the database, %zu bytes)\n",
               PQntuples(res) / (s > 0 ? s : 0.001), PQntuples(res), bytes);
        (void)n;
        PQclear(res);
        db_close(&db);
        free(url);
        return 0;
    }
    char *source = slurp(argv[1]);
    struct message_template *m = template_message_compile(source, argv[1], &error);
    if (!m)
        die(65, "%s", error);
    json_t *vars = campaign_sample_vars();
    long n = atol(argv[2]);
    size_t bytes = 0;
    int64_t start = now_monotonic_ms();
    for (long i = 0; i < n; i++) {
        struct rendered_message out;
        template_message_render(m, vars, &out);
        bytes += strlen(out.text);
        template_message_release(&out);
    }
    double s = (double)(now_monotonic_ms() - start) / 1000.0;
    printf("%.0f renders/s (template only, %ld renders, %zu bytes)\n", n / (s > 0 ? s : 0.001), n,
           bytes);
    json_decref(vars);
    template_message_free(&m);
    free(source);
    return 0;
}
