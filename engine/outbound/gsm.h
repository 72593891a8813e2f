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
 * sms_compose() is the same with [sms] transliterate and [sms] stop_mention as written
 * (nothing when it is empty or "off": the per-language defaults are appended where the
 * reader's language is known, by campaign_render()), and sms_estimate() the cost of a
 * campaign text for `recipients` people, with the mention of [engine] default_locale —
 * what `tocsin sms-estimate` prints and what a campaign can show before sending.
 *
 * The opt-out mention ("STOP mention") a campaign or organiser text ends with, for a
 * reader of `locale`: sms_stop_mention() is [sms] stop_mention when set, nothing when it
 * is "off", else gsm_default_stop_mention() — "STOP au <number>" in French, "Reply STOP
 * to opt out" in English — when [sms] from is a number people can text back (a short code
 * or a phone number), else nothing: telling people to text STOP to an alphanumeric sender
 * would be a lie. The French number is written the national way (+33612345678 →
 * 0612345678). Both return a string the caller frees, "" when there is none.
 * gsm_mentions_stop() is true when a text already says STOP (the whole word, any case):
 * a text with neither a mention nor the word leaves without telling how to opt out —
 * sms_lacks_stop(), which `campaign create` and MSG warn about. A language default is only
 * appended to a text that does not already say STOP (sms_append_default_mention()); a
 * configured mention always is, by sms_compose().
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

char *gsm_default_stop_mention(const char *locale, const char *sender);
char *sms_stop_mention(const char *locale);
bool gsm_mentions_stop(const char *text);
bool sms_lacks_stop(const char *text, const char *locale);
/* `text` with the default mention of `locale` when [sms] stop_mention is empty and the text
 * says no STOP; otherwise a copy. Caller frees. */
char *sms_append_default_mention(const char *text, const char *locale);

struct sms_estimate {
    struct gsm_info info; /* of the composed campaign text */
    long long recipients;
    long long total_segments;
};
/* Composes `body` as a campaign SMS; *composed_r (may be NULL) gets the text, caller frees. */
void sms_estimate(const char *body, long long recipients, struct sms_estimate *est_r,
                  char **composed_r);

#endif
