#include "inbound/unsubscribe.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/consent.h"
#include "core/http.h"
#include "core/token.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The page's words, in the two languages tocsin writes: the person's own (people.locale),
 * else the Accept-Language of the browser when the link is not valid, else
 * [engine] default_locale. */
struct page_words {
    const char *lang, *title, *invalid, *unknown, *ask, *ask_end, *button, *already, *done_before,
        *done_after, *sent_by, *your_number, *your_address;
};

static const struct page_words words_fr = {
    .lang = "fr",
    .title = "Désinscription",
    .invalid = "Ce lien de désinscription n’est pas valide.",
    .unknown = "Cette adresse ne nous est plus connue.",
    .ask = "Ne plus rien recevoir à ",
    .ask_end = " ?",
    .button = "Me désinscrire",
    .already = " : cette adresse est déjà désinscrite.",
    .done_before = "C’est fait : ",
    .done_after = " ne recevra plus de messages de notre part.",
    .sent_by = "Messages envoyés par ",
    .your_number = "votre numéro",
    .your_address = "votre adresse",
};

static const struct page_words words_en = {
    .lang = "en",
    .title = "Unsubscribe",
    .invalid = "This unsubscribe link is not valid.",
    .unknown = "This address is no longer known to us.",
    .ask = "Stop all messages to ",
    .ask_end = "?",
    .button = "Unsubscribe",
    .already = " — this address is already unsubscribed.",
    .done_before = "Done: ",
    .done_after = " will receive no more messages from us.",
    .sent_by = "Messages sent by ",
    .your_number = "your number",
    .your_address = "your address",
};

static const struct page_words *words_for(const char *locale)
{
    if (locale && strncasecmp(locale, "fr", 2) == 0)
        return &words_fr;
    if (locale && strncasecmp(locale, "en", 2) == 0)
        return &words_en;
    return strcmp(config_str("engine", "default_locale"), "en") == 0 ? &words_en : &words_fr;
}

/* Before the person is known: the browser's first language, if it is one of ours. */
static const struct page_words *words_for_browser(struct http_request *req)
{
    const char *accept = http_header(req, "Accept-Language");
    return words_for(accept && strlen(accept) >= 2 ? accept : NULL);
}

static void add_escaped(struct buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '<' || *s == '>' || *s == '&' || *s == '"')
            buf_printf(out, "&#%d;", *s);
        else
            buf_addch(out, *s);
    }
}

static void respond_page(struct http_request *req, unsigned status, const struct page_words *w,
                         const char *body)
{
    struct buf page = BUF_INIT;
    buf_printf(&page,
               "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width\">"
               "<meta name=\"robots\" content=\"noindex\"><title>%s</title></head><body>\n",
               w->lang, w->title);
    buf_adds(&page, body);
    /* Who is writing: the CNIL asks that a message, and so its opt-out, name its sender. */
    const char *name = config_str("engine", "organisation");
    const char *contact = config_str("engine", "organisation_contact");
    if (*name) {
        buf_adds(&page, "\n<p>");
        buf_adds(&page, w->sent_by);
        add_escaped(&page, name);
        if (*contact) {
            buf_adds(&page, " (");
            add_escaped(&page, contact);
            buf_addch(&page, ')');
        }
        buf_adds(&page, ".</p>");
    }
    buf_adds(&page, "\n</body></html>\n");
    http_add_header(req, "Cache-Control", "no-store");
    http_respond(req, status, "text/html; charset=utf-8", buf_str(&page), page.len);
    buf_release(&page);
}

/* "c******@example.org" or "+336******78": enough for people to recognise their address,
 * not enough to leak it to whoever holds the link. */
static void add_masked(struct buf *out, const struct page_words *w, const char *address)
{
    const char *at = strchr(address, '@');
    size_t n = strlen(address);
    if (address[0] == '+' && n > 7) {
        buf_add(out, address, 4);
        for (size_t i = 4; i < n - 2; i++)
            buf_addch(out, '*');
        buf_adds(out, address + n - 2);
        return;
    }
    if (!at || at == address) {
        buf_adds(out, address[0] == '+' ? w->your_number : w->your_address);
        return;
    }
    buf_addch(out, address[0]);
    for (const char *p = address + 1; p < at; p++)
        buf_addch(out, '*');
    /* The domain comes from our own contacts table; still escape what HTML cares about. */
    add_escaped(out, at);
}

/* A page of one sentence, before the person is known (a link not valid, a contact gone):
 * in the browser's language. `which` picks the sentence from the words of that language. */
static void respond_sentence(struct http_request *req, unsigned status,
                             const char *(*which)(const struct page_words *w))
{
    const struct page_words *w = words_for_browser(req);
    char *page = xasprintf("<p>%s</p>", which(w));
    respond_page(req, status, w, page);
    free(page);
}

static const char *invalid_link(const struct page_words *w)
{
    return w->invalid;
}

static const char *unknown_contact(const struct page_words *w)
{
    return w->unknown;
}

/* GET: ask, with a button; never change anything (link scanners fetch every URL). */
static void show_question(struct http_request *req, const struct page_words *w, const char *address,
                          bool subscribed)
{
    struct buf body = BUF_INIT;
    buf_adds(&body, "<p>");
    if (subscribed) {
        buf_adds(&body, w->ask);
        add_masked(&body, w, address);
        buf_printf(&body,
                   "%s</p>\n<form method=\"post\"><button type=\"submit\">%s</button></form>",
                   w->ask_end, w->button);
    } else {
        add_masked(&body, w, address);
        buf_printf(&body, "%s</p>", w->already);
    }
    respond_page(req, 200, w, buf_str(&body));
    buf_release(&body);
}

/* POST: RFC 8058 one-click from a mailbox provider, or the button of the page. */
static void opt_out(struct http_request *req, struct db *db, int64_t contact,
                    const struct page_words *w, const char *address, bool subscribed)
{
    size_t len = 0;
    const char *posted = http_body(req, &len);
    bool one_click = posted && len >= 26 && memmem(posted, len, "List-Unsubscribe=One-Click", 26);
    const char *ua = http_header(req, "User-Agent");
    char *evidence =
        xasprintf("%s; user-agent: %.120s",
                  one_click ? "RFC 8058 one-click POST" : "unsubscribe page button", ua ? ua : "-");
    char *error = NULL;
    int rc = consent_opt_out(db, contact, "one_click", evidence, &error);
    free(evidence);
    if (rc < 0) {
        log_warn("unsubscribe_failed", "error=%s", log_q(error));
        free(error);
        http_respond_text(req, 503, "database unavailable, try again later");
        return;
    }
    log_info("unsubscribed", "contact=%" PRId64 " via=%s already=%s", contact,
             one_click ? "one-click" : "button", subscribed ? "no" : "yes");
    metrics_add("tocsin_unsubscribe_total{result=\"ok\"}", 1);
    struct buf body = BUF_INIT;
    buf_printf(&body, "<p>%s", w->done_before);
    add_masked(&body, w, address);
    buf_printf(&body, "%s</p>", w->done_after);
    respond_page(req, 200, w, buf_str(&body));
    buf_release(&body);
}

void unsubscribe_handle(struct http_request *req)
{
    const char *token = http_path(req) + strlen("/u/");
    struct db *db = http_db(req);
    if (!db) {
        http_respond_text(req, 503, "database unreachable, try again later");
        return;
    }
    int64_t contact = 0;
    if (token_check(db, "unsub", token, &contact) < 0) {
        metrics_add("tocsin_unsubscribe_total{result=\"forged\"}", 1);
        respond_sentence(req, 403, invalid_link);
        return;
    }
    char id[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(contact, id)};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT c.address, consent_allows(CASE c.kind WHEN 'phone' THEN 'sms'"
                            "  ELSE 'email' END, c.address, NULL), p.locale"
                            " FROM contacts c JOIN people p ON p.id = c.person_id"
                            " WHERE c.id = $1 AND c.address IS NOT NULL",
                            1, params, &error);
    if (!res) {
        log_warn("unsubscribe_failed", "error=%s", log_q(error));
        free(error);
        http_respond_text(req, 503, "database unavailable, try again later");
        return;
    }
    if (PQntuples(res) != 1) {
        respond_sentence(req, 404, unknown_contact);
    } else {
        const struct page_words *w = words_for(PQgetvalue(res, 0, 2));
        bool subscribed = PQgetvalue(res, 0, 1)[0] == 't';
        if (strcmp(http_method(req), "GET") == 0)
            show_question(req, w, PQgetvalue(res, 0, 0), subscribed);
        else
            opt_out(req, db, contact, w, PQgetvalue(res, 0, 0), subscribed);
    }
    PQclear(res);
}
