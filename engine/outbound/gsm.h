/*
 * gsm — how many SMS a text costs: GSM 03.38 (GSM-7) or UCS-2, and the segment count.
 *
 * gsm_analyse() is pure: a text made only of characters of the GSM-7 default alphabet and
 * its extension table (^ { } \ [ ] ~ | € and form feed, which cost two septets each) is
 * GSM-7: one SMS up to 160 septets, else segments of 153 (the rest is the concatenation
 * header). Anything else is UCS-2: 70 UTF-16 units, else segments of 67. A segment never
 * splits an escape pair or a surrogate pair, so a long text can need one more segment
 * than a plain division says. Bytes that are not UTF-8 count as UCS-2 units.
 * gsm_transliterate() returns a copy (caller frees) where typographic quotes, dashes,
 * ellipsis, guillemets, no-break and other special spaces, bullets and ligatures are
 * replaced by GSM-7 equivalents, and invisible characters (soft hyphen, zero-width space,
 * BOM) are dropped; letters with diacritics are left alone (a name must stay a name).
 * gsm_compose() is what the SMS transports send: `body`, transliterated when
 * `transliterate`, with " " + `stop_mention` appended when kind is "campaign" and the
 * mention is non-empty and not already at the end (so composing twice changes nothing).
 * sms_compose() is the same with [sms] transliterate and [sms] stop_mention, and
 * sms_estimate() the cost of a campaign text for `recipients` people — what
 * `tocsin sms-estimate` prints and what a campaign can show before sending.
 */
#ifndef TOCSIN_GSM_H
#define TOCSIN_GSM_H

#include <stdbool.h>
#include <stddef.h>

enum sms_encoding { SMS_GSM7, SMS_UCS2 };

struct gsm_info {
    enum sms_encoding encoding;
    size_t units; /* septets (GSM-7) or UTF-16 code units (UCS-2) */
    size_t chars; /* characters (code points) */
    int segments; /* 1 for an empty text: it is still one SMS */
};

void gsm_analyse(const char *utf8, struct gsm_info *info_r);
const char *gsm_encoding_name(enum sms_encoding encoding); /* "gsm7" or "ucs2" */
char *gsm_transliterate(const char *utf8);
char *gsm_compose(const char *body, const char *kind, bool transliterate, const char *stop_mention);

char *sms_compose(const char *body, const char *kind);

struct sms_estimate {
    struct gsm_info info; /* of the composed campaign text */
    long long recipients;
    long long total_segments;
};
/* Composes `body` as a campaign SMS; *composed_r (may be NULL) gets the text, caller frees. */
void sms_estimate(const char *body, long long recipients, struct sms_estimate *est_r,
                  char **composed_r);

#endif
