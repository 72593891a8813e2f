#include "lib/form.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int form_decode(const char *s, size_t len, bool plus_is_space, char **out_r, const char **reason_r)
{
    char *out = xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                *reason_r = "bad percent escape";
                return -1;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0') {
            free(out);
            *reason_r = "NUL byte in a field";
            return -1;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    *out_r = out;
    return 0;
}

void form_add(struct form *form, const char *name, const char *value)
{
    form->fields = xrealloc(form->fields, (form->n + 1) * sizeof(*form->fields));
    form->fields[form->n].name = xstrdup(name);
    form->fields[form->n].value = xstrdup(value);
    form->n++;
}

int form_parse(const char *data, size_t len, struct form *form_r, const char **reason_r)
{
    struct form form = {0};
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(data + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - data) : len;
        if (end > i) {
            if (form.n == FORM_MAX_FIELDS) {
                *reason_r = "too many fields";
                goto fail;
            }
            const char *eq = memchr(data + i, '=', end - i);
            size_t name_end = eq ? (size_t)(eq - data) : end;
            char *name = NULL, *value = NULL;
            if (name_end == i) {
                *reason_r = "empty field name";
                goto fail;
            }
            if (form_decode(data + i, name_end - i, true, &name, reason_r) < 0)
                goto fail;
            if (form_decode(eq ? eq + 1 : data + end, eq ? end - name_end - 1 : 0, true, &value,
                            reason_r) < 0) {
                free(name);
                goto fail;
            }
            if (!utf8_valid(name, strlen(name)) || !utf8_valid(value, strlen(value))) {
                free(name);
                free(value);
                *reason_r = "field is not UTF-8";
                goto fail;
            }
            form.fields = xrealloc(form.fields, (form.n + 1) * sizeof(*form.fields));
            form.fields[form.n].name = name;
            form.fields[form.n].value = value;
            form.n++;
        }
        i = end + 1;
    }
    *form_r = form;
    return 0;
fail:
    form_release(&form);
    return -1;
}

const char *form_get(const struct form *form, const char *name)
{
    for (size_t i = 0; i < form->n; i++)
        if (strcmp(form->fields[i].name, name) == 0)
            return form->fields[i].value;
    return NULL;
}

void form_release(struct form *form)
{
    for (size_t i = 0; i < form->n; i++) {
        free(form->fields[i].name);
        free(form->fields[i].value);
    }
    free(form->fields);
    form->fields = NULL;
    form->n = 0;
}

char *form_without(const char *data, size_t len, const char *name)
{
    struct buf out = BUF_INIT;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        const char *name_end = eq ? eq : pair_end;
        char *decoded = NULL;
        const char *reason;
        /* A name that does not decode cannot be `name`: it is kept as it came. */
        bool drop = form_decode(p, (size_t)(name_end - p), true, &decoded, &reason) == 0 &&
                    strcmp(decoded, name) == 0;
        free(decoded);
        if (!drop && pair_end > p) {
            if (out.len)
                buf_addch(&out, '&');
            buf_add(&out, p, (size_t)(pair_end - p));
        }
        p = amp ? amp + 1 : end;
    }
    return buf_detach(&out);
}
