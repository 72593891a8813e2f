/*
 * embed — turn files into a C source file holding their bytes.
 *
 * Usage: embed FILE|NAME=FILE... > embedded.c
 * Emits `const struct embedded_file embedded_files[]`, terminated by a NULL name, with each
 * file's path as given on the command line, or NAME when given as NAME=FILE (the web
 * assets come from web/node_modules/... and are served under a short name). The table is
 * declared in engine/lib/embedded.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "NAME=PATH" → PATH; a plain argument is both. */
static const char *path_of(const char *arg)
{
    const char *eq = strchr(arg, '=');
    return eq ? eq + 1 : arg;
}

static void print_name(const char *arg)
{
    const char *eq = strchr(arg, '=');
    printf("%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
}

int main(int argc, char **argv)
{
    printf("#include \"lib/embedded.h\"\n");
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(path_of(argv[i]), "rb");
        if (!f) {
            perror(path_of(argv[i]));
            return 1;
        }
        printf("static const unsigned char file_%d[] = {", i);
        int c;
        size_t n = 0;
        while ((c = getc(f)) != EOF) {
            printf("%s0x%02x,", n % 16 == 0 ? "\n" : "", c);
            n++;
        }
        printf("0x00};\n");
        fclose(f);
    }
    printf("const struct embedded_file embedded_files[] = {\n");
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(path_of(argv[i]), "rb");
        if (!f)
            return 1;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        printf("    {\"");
        print_name(argv[i]);
        printf("\", (const char *)file_%d, %ld},\n", i, size);
    }
    printf("    {0, 0, 0}\n};\n");
    return 0;
}
