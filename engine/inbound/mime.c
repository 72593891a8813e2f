#include "inbound/mime.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <libetpan/libetpan.h>
#include <string.h>
#include <strings.h>

/* ---- charsets ------------------------------------------------------------------------- */

bool mime_valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned char c = *p;
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += n + 1;
    }
    return true;
}

/* The iconv name for a label as found in mail, or NULL for "treat as UTF-8". Labels are
 * compared loosely because clients write "latin-1", "UTF8", "\"utf-8\"" and worse.
 * ISO-8859-1 and US-ASCII are read as windows-1252, as browsers do: the bytes 0x80-0x9F
 * in real mail labelled latin-1 are nearly always Windows quotes and dashes. */
static char *charset_name(const char *label)
{
    if (!label)
        return NULL;
    struct buf b = BUF_INIT;
    for (const char *p = label; *p; p++)
        if (isalnum((unsigned char)*p))
            buf_addch(&b, (char)tolower((unsigned char)*p));
    char *key = buf_detach(&b);
    static const struct {
        const char *key, *name;
    } aliases[] = {
        {"utf8", NULL},
        {"", NULL},
        {"usascii", "WINDOWS-1252"},
        {"ascii", "WINDOWS-1252"},
        {"iso88591", "WINDOWS-1252"},
        {"latin1", "WINDOWS-1252"},
        {"l1", "WINDOWS-1252"},
        {"windows1252", "WINDOWS-1252"},
        {"cp1252", "WINDOWS-1252"},
        {"xuserdefined", "WINDOWS-1252"},
        {"unknown8bit", "WINDOWS-1252"},
        {"xunknown", "WINDOWS-1252"},
        {"iso885915", "ISO-8859-15"},
        {"latin9", "ISO-8859-15"},
    };
    char *name = NULL;
    bool known = false;
    for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
        if (strcmp(key, aliases[i].key) == 0) {
            name = aliases[i].name ? xstrdup(aliases[i].name) : NULL;
            known = true;
            break;
        }
    free(key);
    if (known)
        return name;
    /* Anything else goes to iconv as written, minus quotes and spaces. */
    struct buf raw = BUF_INIT;
    for (const char *p = label; *p; p++)
        if (!isspace((unsigned char)*p) && *p != '"' && *p != '\'')
            buf_addch(&raw, *p);
    return buf_detach(&raw);
}

/* Convert with iconv, replacing every byte it cannot read by U+FFFD. -1 if iconv does not
 * know the charset. */
static int iconv_to_utf8(const char *from, const char *data, size_t len, struct buf *out)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1)
        return -1;
    char *in = (char *)data;
    size_t left = len;
    while (left > 0) {
        buf_grow(out, left * 4 + 16);
        char *o = out->data + out->len;
        size_t room = out->cap - out->len - 1;
        size_t r = iconv(cd, &in, &left, &o, &room);
        out->len = (size_t)(o - out->data);
        out->data[out->len] = '\0';
        if (r != (size_t)-1)
            break;
        if (errno == E2BIG)
            continue;
        /* EILSEQ or EINVAL: one unreadable byte, then carry on. */
        buf_adds(out, "\xEF\xBF\xBD");
        in++;
        left--;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    iconv(cd, NULL, NULL, &(char *){NULL}, &(size_t){0});
    iconv_close(cd);
    return 0;
}

char *mime_to_utf8(const char *charset, const char *data, size_t len)
{
    char *name = charset_name(charset);
    struct buf out = BUF_INIT;
    buf_grow(&out, len + 1);
    if (mime_valid_utf8(data, len) && (!name || strcasecmp(name, "WINDOWS-1252") == 0)) {
        /* Valid UTF-8 under a UTF-8, ASCII or Latin-1 label: mislabelled UTF-8 is far
         * more common than Latin-1 text that happens to form valid UTF-8 sequences. */
        buf_add(&out, data, len);
    } else if (!name || iconv_to_utf8(name, data, len, &out) < 0) {
        buf_reset(&out);
        iconv_to_utf8(mime_valid_utf8(data, len) ? "UTF-8" : "WINDOWS-1252", data, len, &out);
    }
    free(name);
    /* NUL bytes would cut the text short downstream (libpq, the grammar). */
    size_t w = 0;
    for (size_t r = 0; r < out.len; r++)
        if (out.data[r] != '\0')
            out.data[w++] = out.data[r];
    out.len = w;
    out.data[w] = '\0';
    return buf_detach(&out);
}

/* ---- headers -------------------------------------------------------------------------- */

char *mime_decode_words(const char *value)
{
    if (!value)
        return NULL;
    size_t index = 0;
    char *decoded = NULL;
    char *result;
    /* Unencoded 8-bit bytes in headers are nearly always UTF-8 today. */
    if (mailmime_encoded_phrase_parse("utf-8", value, strlen(value), &index, "utf-8", &decoded) ==
            MAILIMF_NO_ERROR &&
        decoded) {
        result = mime_to_utf8("utf-8", decoded, strlen(decoded));
        free(decoded);
    } else {
        result = mime_to_utf8("utf-8", value, strlen(value));
    }
    /* Control characters in a header are never meant; keep logs and replies clean. */
    for (char *p = result; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    return result;
}

char *mime_address(const char *value)
{
    if (!value)
        return NULL;
    const char *start = NULL, *end = NULL;
    const char *lt = strrchr(value, '<');
    if (lt && strchr(lt, '>')) {
        start = lt + 1;
        end = strchr(start, '>');
    } else {
        /* A bare address, possibly among a display name or a comment: the word with '@'. */
        const char *at = strchr(value, '@');
        if (!at)
            return NULL;
        start = at;
        while (start > value && !strchr(" \t,;:(\"", start[-1]))
            start--;
        end = at;
        while (*end && !strchr(" \t,;)\"", *end))
            end++;
    }
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    if (end <= start || !memchr(start, '@', (size_t)(end - start)))
        return NULL;
    return str_lower(xstrndup(start, (size_t)(end - start)));
}

/* Parse the header block of `raw`: unfolded lines up to the first empty line. */
static void parse_headers(const char *raw, size_t len, struct mime_message *m)
{
    size_t cap = 0, pos = 0;
    while (pos < len) {
        const char *line = raw + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0)
            break;
        if ((line[0] == ' ' || line[0] == '\t')) {
            if (m->nheaders == 0)
                continue;
            struct mime_header *h = &m->headers[m->nheaders - 1];
            size_t i = 0;
            while (i < n && (line[i] == ' ' || line[i] == '\t'))
                i++;
            char *more = mime_to_utf8("utf-8", line + i, n - i);
            char *joined = xasprintf("%s %s", h->value, more);
            free(more);
            free(h->value);
            h->value = joined;
            continue;
        }
        const char *colon = memchr(line, ':', n);
        size_t name_len = colon ? (size_t)(colon - line) : 0;
        bool valid = name_len > 0;
        for (size_t i = 0; valid && i < name_len; i++)
            valid = line[i] > 32 && line[i] < 127;
        if (!valid)
            break; /* not a header: the body starts here (a missing blank line) */
        if (m->nheaders == cap) {
            cap = cap ? cap * 2 : 32;
            m->headers = xrealloc(m->headers, cap * sizeof(*m->headers));
        }
        size_t v = name_len + 1;
        while (v < n && (line[v] == ' ' || line[v] == '\t'))
            v++;
        m->headers[m->nheaders].name = xstrndup(line, name_len);
        /* Raw 8-bit headers (Latin-1 from old clients) become valid UTF-8 here, so every
         * string taken from a header is safe for PostgreSQL and the logs. */
        m->headers[m->nheaders].value = mime_to_utf8("utf-8", line + v, n - v);
        m->nheaders++;
    }
}

const char *mime_header(const struct mime_message *m, const char *name)
{
    for (size_t i = 0; i < m->nheaders; i++)
        if (strcasecmp(m->headers[i].name, name) == 0)
            return m->headers[i].value;
    return NULL;
}

char *mime_header_decoded(const struct mime_message *m, const char *name)
{
    return mime_decode_words(mime_header(m, name));
}

/* ---- HTML ----------------------------------------------------------------------------- */

static void add_codepoint(struct buf *b, unsigned long cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp == 0xA0)
        cp = ' ';
    if (cp < 0x80) {
        buf_addch(b, (char)cp);
    } else if (cp < 0x800) {
        buf_addch(b, (char)(0xC0 | (cp >> 6)));
        buf_addch(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        buf_addch(b, (char)(0xE0 | (cp >> 12)));
        buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        buf_addch(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        buf_addch(b, (char)(0xF0 | (cp >> 18)));
        buf_addch(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        buf_addch(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* Decode the entity at s (after '&'); returns the bytes consumed, 0 if not an entity. */
static size_t add_entity(struct buf *b, const char *s, const char *end)
{
    static const struct {
        const char *name;
        unsigned long cp;
    } named[] = {
        {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},
        {"apos", '\''},    {"nbsp", ' '},      {"eacute", 0xE9},  {"egrave", 0xE8},
        {"ecirc", 0xEA},   {"agrave", 0xE0},   {"acirc", 0xE2},   {"ccedil", 0xE7},
        {"ocirc", 0xF4},   {"ucirc", 0xFB},    {"ugrave", 0xF9},  {"icirc", 0xEE},
        {"Eacute", 0xC9},  {"rsquo", 0x2019},  {"lsquo", 0x2018}, {"ldquo", 0x201C},
        {"rdquo", 0x201D}, {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
        {"laquo", 0xAB},   {"raquo", 0xBB},    {"euro", 0x20AC},  {"copy", 0xA9},
    };
    const char *semi = memchr(s, ';', (size_t)(end - s) < 12 ? (size_t)(end - s) : 12);
    if (!semi || semi == s)
        return 0;
    size_t n = (size_t)(semi - s);
    if (s[0] == '#') {
        char *num = xstrndup(s + 1, n - 1);
        char *stop = NULL;
        unsigned long cp = (num[0] == 'x' || num[0] == 'X') ? strtoul(num + 1, &stop, 16)
                                                            : strtoul(num, &stop, 10);
        bool ok = stop && *stop == '\0' && stop != num;
        free(num);
        if (!ok)
            return 0;
        add_codepoint(b, cp);
        return n + 1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(named); i++)
        if (strlen(named[i].name) == n && memcmp(named[i].name, s, n) == 0) {
            add_codepoint(b, named[i].cp);
            return n + 1;
        }
    return 0;
}

/* Start a new output line, with the quote prefix of the current blockquote depth. */
static void html_newline(struct buf *b, bool *line_open)
{
    if (b->len > 0 && b->data[b->len - 1] != '\n')
        buf_addch(b, '\n');
    *line_open = false;
}

static void html_open_line(struct buf *b, int quote_depth, bool *line_open)
{
    if (!*line_open) {
        for (int i = 0; i < quote_depth; i++)
            buf_adds(b, "> ");
        *line_open = true;
    }
}

static void html_text_char(struct buf *b, char c, int quote_depth, bool *line_open)
{
    html_open_line(b, quote_depth, line_open);
    buf_addch(b, c);
}

/* Elements whose content is never text: index into no_end_tag[], or -1. */
static int skippable_index(const char *tag)
{
    static const char *const names[] = {"script", "style", "head", "title"};
    for (int i = 0; i < (int)ARRAY_SIZE(names); i++)
        if (strcmp(tag, names[i]) == 0)
            return i;
    return -1;
}

/* What mime_html_to_text() carries from one character to the next. */
struct html_text {
    struct buf out;
    int quote_depth;
    bool line_open, space_pending;
    bool no_end_tag[4]; /* a skippable element seen without its end tag (skippable_index()) */
};

/* After a tag: blockquote changes the quote depth; block elements end the line. */
static void html_layout_tag(struct html_text *h, const char *tag, size_t n, bool closing)
{
    if (strcmp(tag, "blockquote") == 0) {
        html_newline(&h->out, &h->line_open);
        h->quote_depth += closing ? -1 : 1;
        if (h->quote_depth < 0)
            h->quote_depth = 0;
    } else if (strcmp(tag, "br") == 0 || strcmp(tag, "p") == 0 || strcmp(tag, "div") == 0 ||
               strcmp(tag, "tr") == 0 || strcmp(tag, "li") == 0 || strcmp(tag, "hr") == 0 ||
               (n == 2 && tag[0] == 'h' && isdigit((unsigned char)tag[1])) ||
               strcmp(tag, "table") == 0) {
        if (strcmp(tag, "br") == 0 && !h->line_open && h->quote_depth > 0)
            html_text_char(&h->out, ' ', h->quote_depth, &h->line_open);
        html_newline(&h->out, &h->line_open);
    }
}

/* The end of the element `tag` whose start tag ends at `close`: just past its end tag, or
 * NULL when it has none (then remembered, so a flood of unclosed ones cannot make the
 * scan quadratic). */
static const char *html_skip_element(struct html_text *h, int skip, const char *tag,
                                     const char *close, const char *end)
{
    char *end_tag = xasprintf("</%s", tag);
    size_t tlen = strlen(end_tag);
    const char *q = close;
    while (q < end && ((size_t)(end - q) < tlen || strncasecmp(q, end_tag, tlen) != 0))
        q++;
    free(end_tag);
    const char *q_close = q < end ? memchr(q, '>', (size_t)(end - q)) : NULL;
    if (!q_close)
        h->no_end_tag[skip] = true;
    return q_close ? q_close + 1 : NULL;
}

/* The markup starting at `p` (a '<'): a tag, a comment, or an element whose content is
 * never text. Returns where the text goes on, or NULL when nothing after it is text. */
static const char *html_markup(struct html_text *h, const char *p, const char *end)
{
    const char *close = memchr(p, '>', (size_t)(end - p));
    if (!close)
        return NULL;
    const char *t = p + 1;
    bool closing = t < close && *t == '/';
    if (closing)
        t++;
    size_t n = 0;
    while (t + n < close && isalnum((unsigned char)t[n]))
        n++;
    char *tag = str_lower(xstrndup(t, n));
    const char *next = close + 1;
    int skip = closing ? -1 : skippable_index(tag);
    const char *skipped =
        skip >= 0 && !h->no_end_tag[skip] ? html_skip_element(h, skip, tag, close, end) : NULL;
    if (skipped) {
        next = skipped;
    } else if (end - p >= 4 && strncmp(p, "<!--", 4) == 0) {
        const char *c = memmem(p, (size_t)(end - p), "-->", 3);
        next = c ? c + 3 : NULL;
    } else {
        html_layout_tag(h, tag, n, closing);
        h->space_pending = false;
    }
    free(tag);
    return next;
}

char *mime_html_to_text(const char *html, size_t len)
{
    struct html_text h = {.out = BUF_INIT};
    const char *p = html, *end = html + len;
    buf_grow(&h.out, len / 2 + 1);
    while (p && p < end) {
        if (*p == '<') {
            p = html_markup(&h, p, end);
            continue;
        }
        if (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t') {
            h.space_pending = h.line_open;
            p++;
            continue;
        }
        if (h.space_pending) {
            html_text_char(&h.out, ' ', h.quote_depth, &h.line_open);
            h.space_pending = false;
        }
        if (*p == '&') {
            html_open_line(&h.out, h.quote_depth, &h.line_open);
            size_t used = add_entity(&h.out, p + 1, end);
            if (used) {
                p += used + 1;
                continue;
            }
        }
        html_text_char(&h.out, *p, h.quote_depth, &h.line_open);
        p++;
    }
    h.out.data[h.out.len] = '\0';
    return buf_detach(&h.out);
}

/* ---- MIME tree ------------------------------------------------------------------------ */

static char *content_type_of(struct mailmime_content *ct)
{
    if (!ct || !ct->ct_type)
        return xstrdup("text/plain");
    const char *type = "application";
    struct mailmime_type *t = ct->ct_type;
    if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE && t->tp_data.tp_discrete_type) {
        switch (t->tp_data.tp_discrete_type->dt_type) {
        case MAILMIME_DISCRETE_TYPE_TEXT:
            type = "text";
            break;
        case MAILMIME_DISCRETE_TYPE_IMAGE:
            type = "image";
            break;
        case MAILMIME_DISCRETE_TYPE_AUDIO:
            type = "audio";
            break;
        case MAILMIME_DISCRETE_TYPE_VIDEO:
            type = "video";
            break;
        case MAILMIME_DISCRETE_TYPE_EXTENSION:
            type = t->tp_data.tp_discrete_type->dt_extension
                       ? t->tp_data.tp_discrete_type->dt_extension
                       : "x";
            break;
        default:
            break;
        }
    } else if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE && t->tp_data.tp_composite_type) {
        switch (t->tp_data.tp_composite_type->ct_type) {
        case MAILMIME_COMPOSITE_TYPE_MESSAGE:
            type = "message";
            break;
        case MAILMIME_COMPOSITE_TYPE_MULTIPART:
            type = "multipart";
            break;
        case MAILMIME_COMPOSITE_TYPE_EXTENSION:
            type = t->tp_data.tp_composite_type->ct_token ? t->tp_data.tp_composite_type->ct_token
                                                          : "x";
            break;
        default:
            break;
        }
    }
    char *s = xasprintf("%s/%s", type, ct->ct_subtype ? ct->ct_subtype : "");
    return str_lower(s);
}

static bool is_attachment(struct mailmime *part)
{
    if (!part->mm_mime_fields)
        return false;
    for (clistiter *it = clist_begin(part->mm_mime_fields->fld_list); it; it = clist_next(it)) {
        struct mailmime_field *f = clist_content(it);
        if (f->fld_type == MAILMIME_FIELD_DISPOSITION && f->fld_data.fld_disposition &&
            f->fld_data.fld_disposition->dsp_type &&
            f->fld_data.fld_disposition->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
            return true;
    }
    return false;
}

/* The decoded bytes of a single part, converted to UTF-8 with its charset. */
static char *part_text(struct mailmime *part)
{
    struct mailmime_data *data =
        part->mm_type == MAILMIME_SINGLE ? part->mm_data.mm_single : part->mm_body;
    if (!data || data->dt_type != MAILMIME_DATA_TEXT)
        return xstrdup("");
    const char *bytes = data->dt_data.dt_text.dt_data;
    size_t len = data->dt_data.dt_text.dt_length;
    char *decoded = NULL;
    size_t decoded_len = 0, index = 0;
    if (data->dt_encoded && (data->dt_encoding == MAILMIME_MECHANISM_BASE64 ||
                             data->dt_encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE)) {
        if (mailmime_part_parse(bytes, len, &index, data->dt_encoding, &decoded, &decoded_len) ==
            MAILIMF_NO_ERROR) {
            bytes = decoded;
            len = decoded_len;
        } else {
            decoded = NULL;
        }
    }
    const char *charset =
        part->mm_content_type ? mailmime_content_charset_get(part->mm_content_type) : NULL;
    char *text = mime_to_utf8(charset, bytes ? bytes : "", bytes ? len : 0);
    if (decoded)
        mmap_string_unref(decoded);
    return text;
}

struct walk {
    struct mailmime *plain, *html;
    struct mailmime *status, *returned;
};

static void walk_parts(struct mailmime *part, struct walk *w, int depth)
{
    if (!part || depth > 20)
        return;
    char *ct = content_type_of(part->mm_content_type);
    switch (part->mm_type) {
    case MAILMIME_SINGLE:
        if (strcmp(ct, "message/delivery-status") == 0 ||
            strcmp(ct, "message/global-delivery-status") == 0) {
            if (!w->status)
                w->status = part;
        } else if (strcmp(ct, "text/rfc822-headers") == 0 ||
                   strcmp(ct, "message/rfc822-headers") == 0) {
            if (!w->returned)
                w->returned = part;
        } else if (!is_attachment(part)) {
            if (strcmp(ct, "text/plain") == 0 && !w->plain)
                w->plain = part;
            else if (strcmp(ct, "text/html") == 0 && !w->html)
                w->html = part;
        }
        break;
    case MAILMIME_MULTIPLE:
        for (clistiter *it = clist_begin(part->mm_data.mm_multipart.mm_mp_list); it;
             it = clist_next(it))
            walk_parts(clist_content(it), w, depth + 1);
        break;
    case MAILMIME_MESSAGE:
        if (depth == 0) {
            walk_parts(part->mm_data.mm_message.mm_msg_mime, w, depth + 1);
        } else if (!w->returned) {
            /* A forwarded or returned message: its words are not the sender's, but a
             * bounce's returned headers are here. */
            w->returned = part;
        }
        break;
    }
    free(ct);
}

/* The header block at the start of a returned message's text. */
static char *header_block(const char *text)
{
    const char *end = strstr(text, "\n\n");
    const char *crlf = strstr(text, "\r\n\r\n");
    if (crlf && (!end || crlf < end))
        end = crlf;
    return end ? xstrndup(text, (size_t)(end - text) + 1) : xstrdup(text);
}

int mime_parse(const char *raw, size_t len, struct mime_message **msg_r, char **error_r)
{
    struct mime_message *m = xcalloc(1, sizeof(*m));
    /* An mbox "From " separator line is not part of the message. */
    if (len >= 5 && memcmp(raw, "From ", 5) == 0) {
        const char *nl = memchr(raw, '\n', len);
        size_t skip = nl ? (size_t)(nl - raw) + 1 : len;
        raw += skip;
        len -= skip;
    }
    /* libetpan's quoted-printable decoder reads a byte or two past a part that ends the
     * input (found by the fuzzer): work on a copy with zero padding. */
    char *padded = xmalloc(len + 8);
    memcpy(padded, raw, len);
    memset(padded + len, 0, 8);
    raw = padded;
    parse_headers(raw, len, m);
    if (m->nheaders == 0) {
        free(padded);
        *error_r = xstrdup("not a mail message: no header block");
        mime_free(&m);
        return -1;
    }
    struct mailmime *tree = NULL;
    size_t index = 0;
    struct walk w = {0};
    if (mailmime_parse(raw, len, &index, &tree) == MAILIMF_NO_ERROR && tree) {
        walk_parts(tree, &w, 0);
        struct mailmime *body =
            tree->mm_type == MAILMIME_MESSAGE ? tree->mm_data.mm_message.mm_msg_mime : tree;
        m->content_type = content_type_of(body ? body->mm_content_type : NULL);
        if (body && body->mm_content_type) {
            char *rt = mailmime_content_param_get(body->mm_content_type, "report-type");
            if (rt)
                m->report_type = str_lower(xstrdup(rt));
        }
    } else {
        m->content_type = xstrdup("text/plain");
    }
    if (w.plain) {
        m->text = part_text(w.plain);
    } else if (w.html) {
        char *html = part_text(w.html);
        m->text = mime_html_to_text(html, strlen(html));
        m->text_from_html = true;
        free(html);
    } else if (!tree) {
        /* libetpan gave up: read what follows the header block as plain text. */
        const char *body = strstr(raw, "\n\n");
        m->text = body ? mime_to_utf8(NULL, body + 2, len - (size_t)(body + 2 - raw)) : xstrdup("");
    } else {
        m->text = xstrdup("");
    }
    if (w.status)
        m->delivery_status = part_text(w.status);
    if (w.returned) {
        char *text = part_text(w.returned);
        m->returned_headers = header_block(text);
        free(text);
    }
    if (tree)
        mailmime_free(tree);
    free(padded);
    *msg_r = m;
    return 0;
}

void mime_free(struct mime_message **msg)
{
    struct mime_message *m = *msg;
    if (!m)
        return;
    for (size_t i = 0; i < m->nheaders; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->headers);
    free(m->text);
    free(m->content_type);
    free(m->report_type);
    free(m->delivery_status);
    free(m->returned_headers);
    free(m);
    *msg = NULL;
}
