/*
 * `tocsin man tocsin|tocsin.conf`: the manual pages tocsin(1) and tocsin.conf(5) in roff,
 * generated from the subcommand table and the configuration key table, so they cannot
 * drift from the binary. `make man` writes them to build/man/; `make install` installs them.
 */
#include "cli/cli.h"
#include "core/config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

/* roff: a leading '.' or '\'' starts a request, '\' an escape, '-' should be \-. */
static void roff_text(const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", stdout);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else if (*s == '\n')
            fputs("\n.br\n", stdout);
        else
            putchar(*s);
    }
}

static void man_tocsin(void)
{
    puts(
        ".TH TOCSIN 1 \"\" \"tocsin " TOCSIN_VERSION "\" \"tocsin manual\"\n"
        ".SH NAME\ntocsin \\- campaign engine: supporters act by replying to email and SMS\n"
        ".SH SYNOPSIS\n.B tocsin\n[\\fB\\-c\\fR \\fIFILE\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n"
        ".SH DESCRIPTION\ntocsin is one daemon next to PostgreSQL. Supporters reply to email\n"
        "and texts (JOIN, RSVP, STOP ...); organisers import people, create teams and events\n"
        "and send newsletters, reminders and digests. Every state is a row in PostgreSQL.\n"
        ".SH OPTIONS\n.TP\n\\fB\\-c\\fR \\fIFILE\\fR\nRead the configuration from FILE instead of\n"
        "\\fI./tocsin.conf\\fR, then \\fI/etc/tocsin/tocsin.conf\\fR. See \\fBtocsin.conf\\fR(5).\n"
        ".TP\n\\fB\\-\\-help\\fR, \\fB\\-\\-version\\fR\nThe command list; the version.\n"
        ".SH COMMANDS\n`tocsin COMMAND \\-\\-help` shows a command's options.");
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        fputs(".TP\n.B ", stdout);
        roff_text(c->usage);
        putchar('\n');
        roff_text(c->summary);
        putchar('\n');
    }
    puts(".SH ENVIRONMENT\nEvery configuration key can be set as "
         "\\fBTOCSIN_\\fISECTION\\fB_\\fIKEY\\fR,\n"
         "e.g. \\fBTOCSIN_DATABASE_URL\\fR; the environment overrides the file.\n"
         ".SH EXIT STATUS\n0 on success; otherwise a \\fBsysexits\\fR(3) code with a one\\-line "
         "reason\n"
         "on standard error: 64 usage, 65 bad data, 69 database unreachable, 75 try again\n"
         "later (\\fBtocsin inject\\fR, as an MTA expects), 78 configuration error.\n"
         ".SH FILES\n\\fI/etc/tocsin/tocsin.conf\\fR\n"
         ".SH SEE ALSO\n\\fBtocsin.conf\\fR(5); the documents in "
         "\\fI/usr/local/share/doc/tocsin\\fR.");
}

static const char *type_name(enum config_type t)
{
    switch (t) {
    case CONFIG_INT:
        return "number";
    case CONFIG_BOOL:
        return "on|off";
    case CONFIG_CHOICE:
        return "choice";
    case CONFIG_SECRET:
        return "secret";
    default:
        return "text";
    }
}

static void man_conf(void)
{
    puts(".TH TOCSIN.CONF 5 \"\" \"tocsin " TOCSIN_VERSION "\" \"tocsin manual\"\n"
         ".SH NAME\ntocsin.conf \\- configuration of tocsin\n"
         ".SH DESCRIPTION\nAn INI file: \\fB[section]\\fR headers and \\fBkey = value\\fR lines;\n"
         "\\fB#\\fR and \\fB;\\fR start comments. Unknown sections and keys are errors.\n"
         "Every key can be overridden by the environment variable\n"
         "\\fBTOCSIN_\\fISECTION\\fB_\\fIKEY\\fR (upper case). \\fBtocsin config check\\fR\n"
         "validates a file with the checks \\fBtocsin run\\fR makes;\n"
         "\\fBtocsin config example\\fR prints every key with its default.\n"
         "The file holds secrets: make it readable by the daemon's user only.");
    const char *section = "";
    for (int i = 0; config_keys[i].section; i++) {
        const struct config_key *k = &config_keys[i];
        if (strcmp(section, k->section) != 0) {
            section = k->section;
            printf(".SH [%s]\n", section);
        }
        printf(".TP\n.B %s\n", k->key);
        printf("(%s", k->type == CONFIG_CHOICE && k->choices ? k->choices : type_name(k->type));
        if (k->type == CONFIG_INT && k->choices)
            printf(", %s", k->choices);
        fputs("; default: ", stdout);
        roff_text(*k->default_value ? k->default_value : "empty");
        puts(")\n.br");
        roff_text(k->help);
        putchar('\n');
    }
    puts(".SH SEE ALSO\n\\fBtocsin\\fR(1)");
}

int cli_man(int argc, char **argv)
{
    const char *usage = "tocsin man tocsin|tocsin.conf   (roff on stdout; `man -l -` reads it)";
    if (cli_wants_help(argc, argv, usage))
        return EX_OK;
    if (argc == 2 && strcmp(argv[1], "tocsin") == 0)
        man_tocsin();
    else if (argc == 2 && strcmp(argv[1], "tocsin.conf") == 0)
        man_conf();
    else
        return cli_fail(EX_USAGE, "man", "usage: %s", usage);
    return EX_OK;
}
