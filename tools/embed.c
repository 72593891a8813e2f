/*
 * embed — turn files into a C source file holding their bytes.
 *
 * Usage: embed FILE... > embedded.c
 * Emits `const struct embedded_file embedded_files[]`, terminated by a NULL name, with each
 * file's path as given on the command line. The table is declared in engine/lib/embedded.h.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    printf("#include \"lib/embedded.h\"\n");
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
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
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            return 1;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        printf("    {\"%s\", (const char *)file_%d, %ld},\n", argv[i], i, size);
    }
    printf("    {0, 0, 0}\n};\n");
    return 0;
}
