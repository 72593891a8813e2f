#include "lib/csv.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <string.h>

#define CSV_MAX_FIELD (64 * 1024)

struct csv {
    FILE *in;
    char sep;
    long line, record_line;
    int peeked;      /* a character read ahead, or EOF, or -2 for none */
    struct buf head; /* the first line, read ahead to guess the separator */
    size_t head_pos;
    struct buf *fields;
    char **ptrs;
    int nfields, cap;
};

static int next_char(struct csv *csv)
{
    int c;
    if (csv->peeked != -2) {
        c = csv->peeked;
        csv->peeked = -2;
    } else if (csv->head_pos < csv->head.len) {
        c = (unsigned char)csv->head.data[csv->head_pos++];
    } else {
        c = getc(csv->in);
    }
    if (c == '\n')
        csv->line++;
    return c;
}

static void unread_char(struct csv *csv, int c)
{
    if (c == '\n')
        csv->line--;
    csv->peeked = c;
}

struct csv *csv_open(FILE *in, char separator)
{
    struct csv *csv = xcalloc(1, sizeof(*csv));
    csv->in = in;
    csv->line = 1;
    csv->peeked = -2;
    /* Read the first line ahead: it shows the byte-order mark and the separator. */
    int c;
    while ((c = getc(in)) != EOF) {
        buf_addch(&csv->head, (char)c);
        if (c == '\n' || csv->head.len > CSV_MAX_FIELD)
            break;
    }
    if (csv->head.len >= 3 && memcmp(csv->head.data, "\xEF\xBB\xBF", 3) == 0)
        csv->head_pos = 3;
    if (!separator) {
        int commas = 0, semis = 0;
        for (size_t i = 0; i < csv->head.len; i++) {
            commas += csv->head.data[i] == ',';
            semis += csv->head.data[i] == ';';
        }
        separator = semis > commas ? ';' : ',';
    }
    csv->sep = separator;
    return csv;
}

void csv_close(struct csv **csvp)
{
    struct csv *csv = *csvp;
    if (!csv)
        return;
    for (int i = 0; i < csv->cap; i++)
        buf_release(&csv->fields[i]);
    free(csv->fields);
    free(csv->ptrs);
    buf_release(&csv->head);
    free(csv);
    *csvp = NULL;
}

static struct buf *new_field(struct csv *csv)
{
    if (csv->nfields == csv->cap) {
        int cap = csv->cap ? csv->cap * 2 : 16;
        csv->fields = xrealloc(csv->fields, (size_t)cap * sizeof(*csv->fields));
        csv->ptrs = xrealloc(csv->ptrs, (size_t)cap * sizeof(*csv->ptrs));
        for (int i = csv->cap; i < cap; i++)
            buf_init(&csv->fields[i]);
        csv->cap = cap;
    }
    struct buf *f = &csv->fields[csv->nfields++];
    buf_reset(f);
    buf_grow(f, 0);
    return f;
}

/* Skip to the end of the current line after an error. */
static void skip_line(struct csv *csv)
{
    int c;
    while ((c = next_char(csv)) != EOF && c != '\n')
        ;
}

int csv_next(struct csv *csv, char ***fields_r, int *nfields_r, const char **reason_r)
{
    int c;
    /* Skip blank lines between records. */
    do {
        c = next_char(csv);
        if (c == '\r')
            c = next_char(csv);
    } while (c == '\n');
    if (c == EOF)
        return 0;
    unread_char(csv, c);
    csv->record_line = csv->line;
    csv->nfields = 0;
    struct buf *f = new_field(csv);
    bool quoted = false, was_quoted = false;
    for (;;) {
        c = next_char(csv);
        if (quoted) {
            if (c == EOF) {
                *reason_r = "unterminated quoted field";
                return -1;
            }
            if (c == '"') {
                int d = next_char(csv);
                if (d == '"') {
                    buf_addch(f, '"');
                    continue;
                }
                unread_char(csv, d);
                quoted = false;
                continue;
            }
            buf_addch(f, (char)c);
        } else if (c == csv->sep) {
            f = new_field(csv);
            was_quoted = false;
            continue;
        } else if (c == '\r') {
            continue;
        } else if (c == '\n' || c == EOF) {
            break;
        } else if (c == '"' && f->len == 0 && !was_quoted) {
            quoted = was_quoted = true;
            continue;
        } else if (c == '\0') {
            *reason_r = "NUL byte in field";
            skip_line(csv);
            return -1;
        } else {
            buf_addch(f, (char)c);
        }
        if (f->len > CSV_MAX_FIELD) {
            *reason_r = "field longer than 64 KiB";
            skip_line(csv);
            return -1;
        }
    }
    for (int i = 0; i < csv->nfields; i++)
        csv->ptrs[i] = csv->fields[i].data;
    *fields_r = csv->ptrs;
    *nfields_r = csv->nfields;
    return 1;
}

long csv_line(const struct csv *csv)
{
    return csv->record_line;
}
