/* libFuzzer target: read every record of a CSV input, whatever its encoding; every field of a
 * record that is accepted is valid UTF-8 (it goes to PostgreSQL as text). */
#include "lib/csv.h"
#include "lib/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    struct csv *csv = csv_open(f, 0);
    char **fields;
    int n;
    const char *reason;
    int got, records = 0;
    while ((got = csv_next(csv, &fields, &n, &reason)) != 0 && records++ < 100000)
        for (int i = 0; got == 1 && i < n; i++)
            if (!utf8_valid(fields[i], strlen(fields[i])))
                abort();
    csv_close(&csv);
    fclose(f);
    return 0;
}
