/*
 * mime — one RFC 5322 / MIME message turned into what the inbound pipeline reads.
 *
 * mime_parse() reads the top-level header block itself (unfolded, kept raw) and hands the
 * body to libetpan's MIME parser (mailmime_parse), then picks the text a person wrote:
 * text/plain first, else text/html converted to text (blockquotes become "> " lines so the
 * reply extractor can see them). Transfer encodings (quoted-printable, base64) are undone
 * and every charset is converted to UTF-8 with iconv; a broken or unknown charset label
 * falls back to UTF-8 when the bytes are valid UTF-8, else windows-1252, and invalid bytes
 * become U+FFFD — never a crash, never invalid UTF-8 out. For delivery reports the
 * message/delivery-status part and the returned message's headers are kept too.
 *
 * mime_parse() returns 0 and a message the caller frees with mime_free(), or -1 with
 * *error_r (caller frees) when the input is not a mail at all (no header block).
 * Every string returned by the helpers below is owned by the caller unless marked const.
 * This is the only module that includes libetpan's MIME API.
 */
#ifndef TOCSIN_MIME_H
#define TOCSIN_MIME_H

#include <stdbool.h>
#include <stddef.h>

struct mime_header {
    char *name;  /* as written */
    char *value; /* unfolded, leading white space removed, not decoded */
};

struct mime_message {
    struct mime_header *headers; /* top-level headers, in order */
    size_t nheaders;
    char *text;             /* the readable body in UTF-8, never NULL (may be "") */
    bool text_from_html;    /* no text/plain part: converted from text/html */
    char *content_type;     /* top-level "type/subtype", lower-case, never NULL */
    char *report_type;      /* multipart/report's report-type, lower-case, or NULL */
    char *delivery_status;  /* the message/delivery-status part (UTF-8), or NULL */
    char *returned_headers; /* headers of the returned message in a report, or NULL */
};

int mime_parse(const char *raw, size_t len, struct mime_message **msg_r, char **error_r);
void mime_free(struct mime_message **msg);

/* The first header of that name (case-insensitive), raw and unfolded; NULL if absent. */
const char *mime_header(const struct mime_message *m, const char *name);
/* The same, RFC 2047 encoded words decoded to UTF-8; NULL if absent. Caller frees. */
char *mime_header_decoded(const struct mime_message *m, const char *name);

/* Decode RFC 2047 encoded words in a header value to valid UTF-8. Caller frees. */
char *mime_decode_words(const char *value);
/* The first address (addr-spec) in a header value, lower-cased; NULL if none. */
char *mime_address(const char *value);
/* The display name of the first mailbox of a header value ("Zoé Petit" from
 * `"Petit, Zoé" <z@x>`, `=?utf-8?q?Zo=C3=A9_Petit?= <z@x>` or `z@x (Zoé Petit)`): quotes
 * and escapes removed, encoded words decoded, white space collapsed, control characters
 * dropped, at most 100 characters. NULL when there is none, or when it is only an
 * address (people.name must not be a copy of a contact). Caller frees. */
char *mime_display_name(const char *value);
/* Bytes in `charset` (may be NULL or unknown) to valid UTF-8. Caller frees. */
char *mime_to_utf8(const char *charset, const char *data, size_t len);
/* Readable text from HTML: tags dropped, entities decoded, blockquotes as "> " lines. */
char *mime_html_to_text(const char *html, size_t len);
/* True when the len bytes are valid UTF-8. */
bool mime_valid_utf8(const char *s, size_t len);

#endif
