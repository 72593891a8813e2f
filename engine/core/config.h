/*
 * config — the INI file and TOCSIN_SECTION_KEY environment overrides.
 *
 * Every key is declared once in config_keys[] (config.c) with its type, default and help;
 * the parser, `tocsin config example` (tocsin.conf.example) and docs follow from it.
 * config_load() reads, in order: the built-in defaults, the file (-c FILE, else
 * ./tocsin.conf, else /etc/tocsin/tocsin.conf, else none), then the environment. Unknown
 * sections or keys, bad values and malformed lines fail with "FILE:LINE: reason" in
 * *error_r (caller frees). Values are process-wide and read-only once the daemon starts;
 * config_str() never returns NULL ("" when unset).
 */
#ifndef TOCSIN_CONFIG_H
#define TOCSIN_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

enum config_type { CONFIG_STRING, CONFIG_INT, CONFIG_BOOL, CONFIG_CHOICE, CONFIG_SECRET };

struct config_key {
    const char *section;
    const char *key;
    enum config_type type;
    const char *default_value;
    const char *choices; /* CONFIG_CHOICE: "a|b|c"; CONFIG_INT: "min..max" */
    const char *help;
};

extern const struct config_key config_keys[];

/* path may be NULL for the default search. Returns 0, or -1 with *error_r set. */
int config_load(const char *path, char **error_r);
/* The file that was read, or "(none)". */
const char *config_source(void);
/* Where a key's value came from: "FILE:LINE", "environment TOCSIN_SECTION_KEY" or
 * "default" — what error messages about a value point at. */
const char *config_origin(const char *section, const char *key);

const char *config_str(const char *section, const char *key);
long config_int(const char *section, const char *key);
bool config_bool(const char *section, const char *key);
/* Set a value after loading (tests and CLI flags); validated like a file value. */
int config_set(const char *section, const char *key, const char *value, char **error_r);

/* The database connection string: [database] url, or the checkout's local cluster
 * (host=$PWD/var/run dbname=tocsin user=postgres) when unset. Caller frees. */
char *config_database_url(void);

/* Write the documented example file (every key, its default, its help). */
void config_write_example(FILE *out);

#endif
