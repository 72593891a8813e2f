/* libFuzzer target: a webhook body as form fields, then each value's SMS cost and its
 * transliteration (which must stay valid UTF-8 when the input was). */
#include "lib/form.h"
#include "outbound/gsm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct form f;
    const char *reason;
    if (form_parse((const char *)data, size, &f, &reason) < 0)
        return 0;
    for (size_t i = 0; i < f.n; i++) {
        struct gsm_info info;
        gsm_analyse(f.fields[i].value, &info);
        if (info.segments < 1)
            abort();
        char *t = gsm_transliterate(f.fields[i].value);
        if (!utf8_valid(t, strlen(t)))
            abort();
        free(t);
    }
    form_release(&f);
    return 0;
}
