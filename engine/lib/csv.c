#include "lib/csv.h"
#include "lib/buf.h"
#include "lib/utf8.h"
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#define CSV_MAX_FIELD (64 * 1024)

struct csv {
    FILE *in;
    FILE *copy;     /* a pipe's bytes, read once to detect the encoding; owned */
    iconv_t decode; /* to UTF-8, or (iconv_t)-1 when the file is UTF-8 */
    char *encoding;
    struct buf converted;
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

/* What the bytes of a whole stream say about their encoding. */
struct encoding_census {
    long utf8_sequences; /* valid multi-byte UTF-8 sequences */
    long invalid;        /* bytes that start no valid UTF-8 sequence */
    bool utf16;          /* a UTF-16 byte-order mark */
    bool bom;            /* a UTF-8 byte-order mark */
};

/* Count over the whole stream; when it cannot be rewound (a pipe), *copy_r gets its bytes. */
static int take_census(FILE *in, struct encoding_census *c, FILE **copy_r, char **error_r)
{
    memset(c, 0, sizeof(*c));
    *copy_r = NULL;
    off_t start = ftello(in);
    FILE *copy = NULL;
    if (start < 0 || fseeko(in, start, SEEK_SET) < 0) {
        copy = tmpfile();
        if (!copy) {
            *error_r = xasprintf("cannot buffer the input: %s", strerror(errno));
            return -1;
        }
    }
    unsigned char block[65536 + 4];
    size_t carry = 0, got;
    bool first = true;
    while ((got = fread(block + carry, 1, sizeof(block) - 4 - carry, in)) > 0 || carry) {
        if (copy && got && fwrite(block + carry, 1, got, copy) != got) {
            *error_r = xasprintf("cannot buffer the input: %s", strerror(errno));
            fclose(copy);
            return -1;
        }
        size_t len = carry + got, i = 0;
        if (first && len >= 2) {
            c->utf16 =
                (block[0] == 0xFF && block[1] == 0xFE) || (block[0] == 0xFE && block[1] == 0xFF);
            c->bom = len >= 3 && memcmp(block, "\xEF\xBB\xBF", 3) == 0;
            first = false;
        }
        while (i < len) {
            if (block[i] < 0x80) {
                i++;
                continue;
            }
            uint32_t cp;
            size_t n = utf8_decode(block + i, len - i, &cp);
            /* A sequence cut by the end of the block is finished with the next one. */
            if (!n && got && len - i < 4) {
                break;
            }
            if (n) {
                c->utf8_sequences++;
                i += n;
            } else {
                c->invalid++;
                i++;
            }
        }
        carry = len - i;
        memmove(block, block + i, carry);
        if (!got)
            break;
    }
    if (copy) {
        rewind(copy);
        *copy_r = copy;
    } else if (fseeko(in, start, SEEK_SET) < 0) {
        *error_r = xasprintf("cannot read the input twice: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The iconv name for an operator's --encoding, Latin-1 read as Windows-1252 as spreadsheets
 * (and browsers) do; NULL for UTF-8. */
static const char *iconv_name(const char *encoding)
{
    static const char *const latin1[] = {"latin-1",    "latin1", "iso-8859-1", "iso8859-1",
                                         "iso_8859-1", "l1",     "cp1252",     "windows-1252"};
    static const char *const utf8[] = {"utf-8", "utf8"};
    for (size_t i = 0; i < ARRAY_SIZE(utf8); i++)
        if (strcasecmp(encoding, utf8[i]) == 0)
            return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(latin1); i++)
        if (strcasecmp(encoding, latin1[i]) == 0)
            return "WINDOWS-1252";
    return encoding;
}

struct csv *csv_open(FILE *in, char separator)
{
    char *error = NULL;
    struct csv *csv = csv_open_encoded(in, separator, NULL, &error);
    if (csv)
        return csv;
    /* Nothing better to read such a stream as: UTF-8, rows that are not refused alone. */
    free(error);
    return csv_open_encoded(in, separator, "UTF-8", &error);
}

const char *csv_encoding(const struct csv *csv)
{
    return csv->encoding;
}

struct csv *csv_open_encoded(FILE *in, char separator, const char *encoding, char **error_r)
{
    const char *name = NULL;
    FILE *copy = NULL;
    if (encoding && *encoding) {
        name = iconv_name(encoding);
    } else {
        struct encoding_census census;
        if (take_census(in, &census, &copy, error_r) < 0)
            return NULL;
        if (census.utf16) {
            if (copy)
                fclose(copy);
            *error_r = xstrdup("the file is UTF-16 (Excel's \"Unicode text\"): save it as "
                               "\"CSV UTF-8\", or as CSV");
            return NULL;
        }
        if (!census.bom && census.invalid > census.utf8_sequences)
            name = "WINDOWS-1252";
    }
    iconv_t decode = (iconv_t)-1;
    if (name && (decode = iconv_open("UTF-8", name)) == (iconv_t)-1) {
        if (copy)
            fclose(copy);
        *error_r = xasprintf("unknown encoding %s", encoding ? encoding : name);
        return NULL;
    }
    struct csv *csv = xcalloc(1, sizeof(*csv));
    csv->copy = copy;
    csv->in = copy ? copy : in;
    in = csv->in;
    csv->decode = decode;
    csv->encoding = xstrdup(name ? name : "UTF-8");
    for (char *p = csv->encoding; *p; p++)
        *p = (char)toupper((unsigned char)*p);
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
    buf_release(&csv->converted);
    if (csv->decode != (iconv_t)-1)
        iconv_close(csv->decode);
    if (csv->copy)
        fclose(csv->copy);
    free(csv->encoding);
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

/* A field as UTF-8: transcoded from the file's encoding, or checked when the file is UTF-8.
 * The whole record was read, so a refusal leaves the reader at the next one. */
static int check_field(struct csv *csv, struct buf *f, const char **reason_r)
{
    if (csv->decode == (iconv_t)-1) {
        if (utf8_valid(f->data, f->len))
            return 0;
        *reason_r = "not UTF-8 (save the file as CSV UTF-8, or give --encoding)";
        return -1;
    }
    buf_reset(&csv->converted);
    buf_grow(&csv->converted, f->len * 3 + 1);
    char *in = f->data, *out = csv->converted.data;
    size_t left = f->len, room = csv->converted.cap - 1;
    iconv(csv->decode, NULL, NULL, NULL, NULL);
    if (iconv(csv->decode, &in, &left, &out, &room) == (size_t)-1) {
        *reason_r = "a byte that is not a character in the file's encoding";
        return -1;
    }
    buf_reset(f);
    buf_add(f, csv->converted.data, (size_t)(out - csv->converted.data));
    return 0;
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
        if (check_field(csv, &csv->fields[i], reason_r) < 0)
            return -1;
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
