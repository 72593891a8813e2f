/* libFuzzer target: read every record of a CSV input. */
#include "lib/csv.h"

#include <stdint.h>
#include <stdio.h>

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
        ;
    csv_close(&csv);
    fclose(f);
    return 0;
}
