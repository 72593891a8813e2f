/* tocsin — a campaign engine where supporters act by replying. See README.md. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
