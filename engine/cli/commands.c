/*
 * commands — `tocsin commands`: the supporters' commands as the Markdown table of
 * docs/commands.md, walked from handlers[] (handlers/help.c). Paste it between the
 * table's markers after adding or changing a command; tests/unit/test_handlers.c fails
 * while the two differ.
 */
#include "lib/buf.h"
#include "cli/cli.h"
#include "handlers/handlers.h"

#include <stdio.h>
#include <sysexits.h>

int cli_commands_table(int argc, char **argv)
{
    const char *text = "tocsin commands   (the supporters' commands, as docs/commands.md's table)";
    if (cli_wants_help(argc, argv, text))
        return EX_OK;
    if (argc > 1)
        return cli_fail(EX_USAGE, "commands", "takes no arguments");
    struct buf table = BUF_INIT;
    help_markdown_table(&table);
    fputs(buf_str(&table), stdout);
    buf_release(&table);
    return EX_OK;
}
