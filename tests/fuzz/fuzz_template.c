/* libFuzzer target: compile a template from the input and render it, text and HTML. */
#include "lib/util.h"
#include "core/template.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    char *error = NULL;
    struct template *t = template_compile(text, &error);
    if (t) {
        json_t *vars = json_loads("{\"name\":\"Zoé <b>\",\"items\":[{\"n\":1},{\"n\":2}],"
                                  "\"event\":{\"title\":\"T\"},\"flag\":true}",
                                  0, NULL);
        struct buf out = BUF_INIT;
        template_render(t, vars, false, &out);
        template_render(t, vars, true, &out);
        free(template_missing(t, vars));
        buf_release(&out);
        json_decref(vars);
        template_free(&t);
    }
    free(error);
    free(text);
    return 0;
}
