#include "inbound/bounce.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/consent.h"
#include "core/token.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The value of a "Name: value" line in a DSN part (first occurrence), trimmed. */
static char *dsn_field(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = text; line && *line;) {
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            const char *end = strpbrk(v, "\r\n");
            char *value = end ? xstrndup(v, (size_t)(end - v)) : xstrdup(v);
            char *trimmed = xstrdup(str_trim(value));
            free(value);
            return trimmed;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return NULL;
}

/* The first enhanced status code (RFC 3463, "5.1.1") of class 4 or 5 in the text. */
static char *find_status_code(const char *text)
{
    for (const char *p = text; *p; p++) {
        if ((*p != '4' && *p != '5') || p[1] != '.' ||
            (p > text && (isdigit((unsigned char)p[-1]) || p[-1] == '.')))
            continue;
        const char *q = p + 2;
        size_t a = strspn(q, "0123456789");
        if (a < 1 || a > 3 || q[a] != '.')
            continue;
        size_t b = strspn(q + a + 1, "0123456789");
        if (b < 1 || b > 3 || isdigit((unsigned char)q[a + 1 + b]) || q[a + 1 + b] == '.')
            continue;
        return xstrndup(p, (size_t)(q + a + 1 + b - p));
    }
    return NULL;
}

/* A basic SMTP reply code (550, 452 …) as servers quote it: "550 " or "550-" after a
 * space, a colon or the line start. Returns its class digit or 0. */
static char find_smtp_class(const char *text)
{
    for (const char *p = text; *p; p++) {
        if ((*p != '4' && *p != '5') || !isdigit((unsigned char)p[1]) ||
            !isdigit((unsigned char)p[2]))
            continue;
        if (p > text && !strchr(" :\n(", p[-1]))
            continue;
        if (p[3] == ' ' || p[3] == '-')
            return *p;
    }
    return 0;
}

/* `bounce+TOKEN@` anywhere in `text`: the token, or NULL. */
static char *find_token(const char *text)
{
    if (!text)
        return NULL;
    for (const char *p = strcasestr(text, "bounce+"); p; p = strcasestr(p + 1, "bounce+")) {
        const char *t = p + 7;
        size_t n = strspn(t, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-");
        if (n > 0 && t[n] == '@')
            return xstrndup(t, n);
    }
    return NULL;
}

static bool subject_says_bounce(const char *subject)
{
    static const char *const words[] = {
        "undelivered mail",
        "mail delivery failed",
        "delivery status notification",
        "undeliverable",
        "returned mail",
        "failure notice",
        "delivery failure",
        "non remis",
        "mail delivery failure",
        "delivery has failed",
        "could not be delivered",
        "message not delivered",
        "echec de la remise",
        "échec de la remise",
        "warning: message",
        "delayed mail",
        "delivery delayed",
        "mail delivery subsystem",
        NULL,
    };
    for (const char *const *w = words; *w; w++)
        if (strcasestr(subject, *w))
            return true;
    return false;
}

static bool from_mailer(const struct mime_message *m)
{
    char *from = mime_address(mime_header(m, "From"));
    bool yes = from && (strncasecmp(from, "mailer-daemon@", 14) == 0 ||
                        strncasecmp(from, "postmaster@", 11) == 0);
    if (!from) {
        const char *f = mime_header(m, "From");
        yes = f && strcasestr(f, "mailer-daemon");
    }
    free(from);
    return yes;
}

bool bounce_detect(const struct mime_message *m, struct bounce_info *info)
{
    memset(info, 0, sizeof(*info));
    bool dsn = m->delivery_status != NULL ||
               (m->report_type && strcmp(m->report_type, "delivery-status") == 0);
    char *subject = mime_header_decoded(m, "Subject");
    bool looks = !dsn && from_mailer(m) && subject && subject_says_bounce(subject);
    free(subject);
    if (!dsn && !looks)
        return false;

    if (dsn && m->delivery_status) {
        char *action = dsn_field(m->delivery_status, "Action");
        char *status = dsn_field(m->delivery_status, "Status");
        char *recipient = dsn_field(m->delivery_status, "Final-Recipient");
        if (!recipient)
            recipient = dsn_field(m->delivery_status, "Original-Recipient");
        info->diagnostic = dsn_field(m->delivery_status, "Diagnostic-Code");
        if (status)
            info->status = find_status_code(status);
        if (recipient) {
            /* "rfc822; someone@example.org" */
            const char *semi = strchr(recipient, ';');
            info->recipient = mime_address(semi ? semi + 1 : recipient);
        }
        bool failed = !action || strncasecmp(action, "failed", 6) == 0;
        bool delayed = action && strncasecmp(action, "delayed", 7) == 0;
        if (failed || delayed)
            info->kind =
                (failed && info->status && info->status[0] == '5') ? BOUNCE_HARD : BOUNCE_SOFT;
        if (failed && !info->status && info->diagnostic && find_smtp_class(info->diagnostic) == '5')
            info->kind = BOUNCE_HARD;
        free(action);
        free(status);
        free(recipient);
    } else {
        /* Non-DSN texts (Exim, qmail, old Exchange): the first status code they quote. */
        info->status = find_status_code(m->text);
        char cls = info->status ? info->status[0] : find_smtp_class(m->text);
        info->kind = cls == '5' ? BOUNCE_HARD : BOUNCE_SOFT;
        subject = mime_header_decoded(m, "Subject");
        if (subject && (strcasestr(subject, "delay") || strcasestr(subject, "warning")))
            info->kind = BOUNCE_SOFT;
        free(subject);
    }

    static const char *const envelope[] = {"Delivered-To", "X-Original-To", "Envelope-To",
                                           "X-Envelope-To", "To"};
    for (size_t i = 0; i < ARRAY_SIZE(envelope) && !info->token; i++)
        info->token = find_token(mime_header(m, envelope[i]));
    if (!info->token)
        info->token = find_token(m->returned_headers);
    if (!info->token)
        info->token = find_token(m->delivery_status);
    if (!info->token)
        info->token = find_token(m->text);
    return true;
}

void bounce_info_release(struct bounce_info *info)
{
    free(info->status);
    free(info->recipient);
    free(info->diagnostic);
    free(info->token);
    memset(info, 0, sizeof(*info));
}

static int suppress(struct db *db, const char *outbound_id, const char *contact_id,
                    const struct bounce_info *info, const char *evidence, char **error_r)
{
    const char *diag =
        info->diagnostic ? info->diagnostic : (info->status ? info->status : "bounced");
    const char *p1[] = {outbound_id, diag};
    if (db_run(db, "UPDATE outbound_messages SET status = 'bounced', last_error = $2 WHERE id = $1",
               2, p1, error_r) < 0)
        return -1;
    if (!contact_id)
        return 0;
    /* Appended only when the address is not already suppressed: the ledger says it once. */
    return consent_opt_out(db, strtoll(contact_id, NULL, 10), "bounce", evidence, error_r);
}

int bounce_apply(struct db *db, const struct bounce_info *info, const char *evidence,
                 const char **outcome_r, char **error_r)
{
    int64_t outbound = 0;
    *outcome_r = "forged";
    if (info->kind == BOUNCE_NONE) {
        *outcome_r = "report";
        return 0;
    }
    if (!info->token || token_check(db, "bounce", info->token, &outbound) < 0)
        return 0;
    char id[DB_PARAM_SIZE];
    const char *p[] = {db_param_int(outbound, id)};
    PGresult *res =
        db_exec(db,
                "SELECT o.id, coalesce(o.contact_id, c.id) FROM outbound_messages o "
                "LEFT JOIN contacts c ON c.kind = 'email' AND c.address = lower(o.recipient) "
                "WHERE o.id = $1 AND o.channel = 'email'",
                1, p, error_r);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 0) {
        *outcome_r = "unknown";
        goto out;
    }
    const char *contact = db_value(res, 0, 1);
    if (info->kind == BOUNCE_HARD) {
        *outcome_r = "hard";
        rc = suppress(db, id, contact, info, evidence, error_r);
        goto out;
    }
    *outcome_r = "soft";
    if (!contact)
        goto out;
    /* Mailman-style score: at most one point a day, forgotten after a quiet week. */
    char stale[8];
    snprintf(stale, sizeof(stale), "%d", BOUNCE_STALE_DAYS);
    const char *ps[] = {contact, stale};
    PGresult *score =
        db_exec(db,
                "INSERT INTO bounce_scores AS b (contact_id, score, last_bounce_on) "
                "VALUES ($1, 1, current_date) "
                "ON CONFLICT (contact_id) DO UPDATE SET "
                "  score = CASE WHEN b.last_bounce_on = current_date THEN b.score "
                "               WHEN b.last_bounce_on < current_date - $2::int THEN 1 "
                "               ELSE b.score + 1 END, "
                "  last_bounce_on = current_date, updated_at = now() "
                "RETURNING score",
                2, ps, error_r);
    if (!score) {
        rc = -1;
        goto out;
    }
    long value = strtol(db_value(score, 0, 0), NULL, 10);
    PQclear(score);
    if (value >= BOUNCE_SOFT_THRESHOLD) {
        *outcome_r = "suppressed";
        rc = suppress(db, id, contact, info, evidence, error_r);
    }
out:
    PQclear(res);
    return rc;
}
