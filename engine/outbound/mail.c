#include "outbound/mail.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void add_base64(struct buf *out, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        buf_addch(out, base64_alphabet[(v >> 18) & 63]);
        buf_addch(out, base64_alphabet[(v >> 12) & 63]);
        buf_addch(out, i + 1 < n ? base64_alphabet[(v >> 6) & 63] : '=');
        buf_addch(out, i + 2 < n ? base64_alphabet[v & 63] : '=');
    }
}

/* Printable ASCII only, and short enough to need no folding. */
static bool header_plain(const char *value, size_t name_len)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++, n++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    /* "=?" could be read as the start of an encoded word. */
    return strstr(value, "=?") == NULL && n + name_len + 2 <= 998;
}

/* A header whose value we built ourselves (addresses, ids, URLs): kept on one line,
 * with any CR or LF turned into a space. */
static void add_raw_header(struct buf *out, const char *name, const char *value)
{
    buf_adds(out, name);
    buf_adds(out, ": ");
    for (const char *p = value; *p; p++)
        buf_addch(out, *p == '\r' || *p == '\n' ? ' ' : *p);
    buf_adds(out, "\r\n");
}

/* Encoded words of at most 45 bytes (60 base64 characters, 72 with the wrapper), cut on
 * UTF-8 character boundaries as RFC 2047 section 5 requires, folded between words; CR, LF
 * and other controls become spaces so a value can never start a header of its own. */
static void add_encoded_words(struct buf *out, const char *value)
{
    const unsigned char *p = (const unsigned char *)value;
    size_t len = strlen(value);
    bool first = true;
    unsigned char chunk[48];
    while (len > 0) {
        size_t take = len < 45 ? len : 45;
        while (take < len && take > 0 && (p[take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = len < 45 ? len : 45;
        for (size_t i = 0; i < take; i++)
            chunk[i] = p[i] < 0x20 || p[i] == 0x7f ? ' ' : p[i];
        if (!first)
            buf_adds(out, "\r\n ");
        buf_adds(out, "=?UTF-8?B?");
        add_base64(out, chunk, take);
        buf_adds(out, "?=");
        first = false;
        p += take;
        len -= take;
    }
}

void mail_add_header(struct buf *out, const char *name, const char *value)
{
    buf_adds(out, name);
    buf_adds(out, ": ");
    if (header_plain(value, strlen(name)))
        buf_adds(out, value);
    else
        add_encoded_words(out, value);
    buf_adds(out, "\r\n");
}

/* RFC 5322 3.2.3 specials: a display name holding one must be a quoted string. */
static bool has_specials(const char *s)
{
    return strpbrk(s, "()<>[]:;@\\,.\"") != NULL;
}

static bool address_valid(const char *a)
{
    const char *at = strchr(a, '@');
    if (!at || at == a || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
            return false;
    return true;
}

int mail_address_parse(const char *value, char **display_r, char **address_r, const char **reason_r)
{
    *display_r = *address_r = NULL;
    const char *lt = strrchr(value, '<');
    char *display = NULL, *address = NULL;
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt || gt[1] != '\0') {
            *reason_r = "expected Name <local@domain>: nothing may follow the '>'";
            return -1;
        }
        address = xstrndup_trim(lt + 1, (size_t)(gt - lt - 1));
        display = xstrndup_trim(value, (size_t)(lt - value));
        size_t n = strlen(display);
        if (n >= 2 && display[0] == '"' && display[n - 1] == '"') {
            memmove(display, display + 1, n - 2);
            display[n - 2] = '\0';
        }
    } else {
        address = xstrndup_trim(value, strlen(value));
        display = xstrdup("");
    }
    if (!address_valid(address)) {
        *reason_r = "expected an address local@domain (optionally Name <local@domain>)";
        free(display);
        free(address);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)display; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            *reason_r = "control character in the display name";
            free(display);
            free(address);
            return -1;
        }
    *display_r = display;
    *address_r = address;
    return 0;
}

void mail_add_address_header(struct buf *out, const char *name, const char *value)
{
    char *display = NULL, *address = NULL;
    const char *reason = NULL;
    if (mail_address_parse(value, &display, &address, &reason) < 0) {
        /* Checked by `config check` and at start-up; a value that still fails is written
         * as given, on one line, rather than dropped. */
        add_raw_header(out, name, value);
        return;
    }
    buf_adds(out, name);
    buf_adds(out, ": ");
    if (!*display) {
        buf_adds(out, address);
    } else if (!header_plain(display, strlen(name))) {
        add_encoded_words(out, display);
        buf_printf(out, " <%s>", address);
    } else if (has_specials(display)) {
        buf_addch(out, '"');
        for (const char *p = display; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_addch(out, '\\');
            buf_addch(out, *p);
        }
        buf_printf(out, "\" <%s>", address);
    } else {
        buf_printf(out, "%s <%s>", display, address);
    }
    buf_adds(out, "\r\n");
    free(display);
    free(address);
}

void mail_add_qp(struct buf *out, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)text;
    size_t in_len = strlen(text);
    /* Worst case: every byte becomes "=XX", plus a soft break every 25 of those, plus a
     * CR before every LF. Growing once and writing in place keeps a 10 KB body cheap. */
    buf_grow(out, in_len * 3 + (in_len / 25 + 2) * 3 + in_len + 2);
    char *w = out->data + out->len;
    size_t col = 0;
    while (*p) {
        if (*p == '\r' && p[1] == '\n')
            p++;
        if (*p == '\n') {
            *w++ = '\r';
            *w++ = '\n';
            col = 0;
            p++;
            continue;
        }
        unsigned char c = *p;
        bool at_eol = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
        /* Literal: printable ASCII but '=', blanks unless they end a line, and a dot
         * that starts a line (SMTP would read a lone "." as the end of data). */
        bool literal = (c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) ||
                       ((c == ' ' || c == '\t') && !at_eol);
        size_t width = literal ? 1 : 3;
        if (col + width > 75) {
            *w++ = '=';
            *w++ = '\r';
            *w++ = '\n';
            col = 0;
        }
        if (literal) {
            *w++ = (char)c;
        } else {
            *w++ = '=';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
        col += width;
        p++;
    }
    if (col > 0) {
        *w++ = '\r';
        *w++ = '\n';
    }
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
}

void mail_add_date(struct buf *out, time_t when)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&when, &tm);
    buf_printf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
               months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void add_text_part_headers(struct buf *out, const char *subtype)
{
    buf_printf(out, "Content-Type: text/%s; charset=utf-8\r\n", subtype);
    buf_adds(out, "Content-Transfer-Encoding: quoted-printable\r\n");
}

void mail_compose(const struct mail_parts *p, struct buf *out)
{
    buf_adds(out, "Date: ");
    mail_add_date(out, p->date);
    buf_adds(out, "\r\n");
    mail_add_address_header(out, "From", p->from);
    add_raw_header(out, "To", p->to);
    mail_add_header(out, "Subject", p->subject ? p->subject : "");
    add_raw_header(out, "Message-ID", p->message_id);
    if (p->in_reply_to)
        add_raw_header(out, "In-Reply-To", p->in_reply_to);
    if (p->references)
        add_raw_header(out, "References", p->references);
    if (p->reply_to)
        add_raw_header(out, "Reply-To", p->reply_to);
    if (p->auto_submitted)
        add_raw_header(out, "Auto-Submitted", p->auto_submitted);
    if (p->list_unsubscribe) {
        add_raw_header(out, "List-Unsubscribe", p->list_unsubscribe);
        add_raw_header(out, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        add_raw_header(out, "Precedence", "bulk");
    }
    buf_adds(out, "MIME-Version: 1.0\r\n");
    if (!p->html) {
        add_text_part_headers(out, "plain");
        buf_adds(out, "\r\n");
        mail_add_qp(out, p->text ? p->text : "");
        return;
    }
    /* "=_" can never occur in quoted-printable text, so the boundary cannot collide. */
    struct buf boundary = BUF_INIT;
    buf_printf(&boundary, "=_tocsin_%s_%lx", p->boundary_seed ? p->boundary_seed : "0",
               (unsigned long)p->date);
    buf_printf(out, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
               buf_str(&boundary));
    buf_printf(out, "--%s\r\n", buf_str(&boundary));
    add_text_part_headers(out, "plain");
    buf_adds(out, "\r\n");
    mail_add_qp(out, p->text ? p->text : "");
    buf_printf(out, "--%s\r\n", buf_str(&boundary));
    add_text_part_headers(out, "html");
    buf_adds(out, "\r\n");
    mail_add_qp(out, p->html);
    buf_printf(out, "--%s--\r\n", buf_str(&boundary));
    buf_release(&boundary);
}

bool mail_kind_is_transactional(const char *kind)
{
    /* Answers to something the person just did. Everything else — campaigns,
     * reminders, digests, anything new — is bulk and carries List-Unsubscribe. */
    static const char *const transactional[] = {
        "reply", "stop_confirmation", "help", "unknown", "confirmation", "confirm", "error"};
    for (size_t i = 0; i < sizeof(transactional) / sizeof(transactional[0]); i++)
        if (strcmp(kind, transactional[i]) == 0)
            return true;
    return false;
}
