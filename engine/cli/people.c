/*
 * people — `tocsin people list|show|export`: the questions of api/people.h, asked by the
 * operator (who reaches everyone); `people forget|forgotten` live in forget.c.
 */
#include "lib/buf.h"
#include "lib/util.h"
#include "core/account.h"
#include "api/people.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char *const people_usage =
    "tocsin people list [--team SLUG] [--tag T] [--search TEXT] [--opted-out email|sms]\n"
    "                          [--after ID] [--limit N] [--json]\n"
    "       tocsin people show CONTACT [--json] | tocsin people show --id ID [--json]\n"
    "       tocsin people export [--team SLUG] [--tag T] [--search TEXT] [--opted-out C] > F.csv\n"
    "       tocsin people forget CONTACT [--dry-run]   (erase them; the consent ledger stays)\n"
    "       tocsin people forgotten CONTACT [--json]   (the ledger kept for a forgotten address)";

static void take_filter(int *argc, char **argv, struct people_filter *f)
{
    f->team = cli_take_option(argc, argv, "--team");
    f->tag = cli_take_option(argc, argv, "--tag");
    f->search = cli_take_option(argc, argv, "--search");
    f->opted_out = cli_take_option(argc, argv, "--opted-out");
}

static int people_list_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    struct people_filter f = {0};
    take_filter(&argc, argv, &f);
    if (!cli_page_options(&argc, argv, &f.page, "people list"))
        return EX_USAGE;
    if (argc != 1)
        return cli_fail(EX_USAGE, "people list", "usage: %s", people_usage);
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = people_list(db, &operator, & f, &e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("people list", &e);
    cli_print_json(answer, json);
    json_decref(answer);
    return EX_OK;
}

static int people_show_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    const char *id_text = cli_take_option(&argc, argv, "--id");
    if (argc != (id_text ? 1 : 2))
        return cli_fail(EX_USAGE, "people show",
                        "usage: tocsin people show CONTACT [--json] | people show --id ID");
    int64_t person = 0, contact = 0;
    long id;
    if (id_text) {
        if (str_to_long(id_text, 1, INT64_MAX, &id) < 0)
            return cli_fail(EX_USAGE, "people show", "--id %s: expected a person id", id_text);
        person = id;
    } else {
        const char *reason = NULL;
        char *error = NULL;
        int found = contact_find(db, argv[1], &contact, &person, &reason, &error);
        if (found < 0) {
            int rc =
                cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_SOFTWARE, "people show", "%s", error);
            free(error);
            return rc;
        }
        if (found == 0)
            return cli_fail(EX_DATAERR, "people show", "%s: %s", argv[1], reason);
    }
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = people_show(db, &operator, person, &e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("people show", &e);
    if (json) {
        cli_print_json(answer, true);
    } else {
        const char *parts[] = {"contacts", "memberships", "rsvps", "consent", "messages"};
        json_t *summary = json_copy(answer);
        for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
            json_object_del(summary, parts[i]);
        cli_print_json(summary, false);
        json_decref(summary);
        for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
            json_t *rows = json_object_get(answer, parts[i]);
            printf("\n%s (%zu)\n", parts[i], json_array_size(rows));
            json_t *list = json_pack("{s:O}", "items", rows);
            cli_print_json(list, false);
            json_decref(list);
        }
    }
    json_decref(answer);
    return EX_OK;
}

static int people_export_cli(struct db *db, int argc, char **argv)
{
    struct people_filter f = {0};
    take_filter(&argc, argv, &f);
    if (argc != 1)
        return cli_fail(EX_USAGE, "people export", "usage: %s", people_usage);
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    struct buf out = BUF_INIT;
    int64_t after = 0, next = 0;
    int rc = EX_OK;
    do {
        buf_reset(&out);
        if (people_export_page(db, &operator, & f, after, &out, &next, &e) < 0) {
            rc = cli_model_fail("people export", &e);
            break;
        }
        fwrite(buf_str(&out), 1, out.len, stdout);
        after = next;
    } while (next);
    buf_release(&out);
    caller_release(&operator);
    return rc;
}

int cli_people(int argc, char **argv)
{
    static const struct cli_sub subs[] = {
        {"list", people_list_cli},           {"show", people_show_cli},
        {"export", people_export_cli},       {"forget", cli_people_forget},
        {"forgotten", cli_people_forgotten}, {NULL, NULL}};
    return cli_dispatch(argc, argv, subs, people_usage);
}
