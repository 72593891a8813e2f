/*
 * mail_inbound — one raw RFC 5322 message through the email pipeline.
 *
 * mail_parse() (mail_parse.c) is pure: MIME (mime.h), the new words and command lines (reply.h),
 * the machine checks (autoreply.h) and the bounce report (bounce.h), plus the addresses and the
 * context candidates (a reply+TOKEN@ address, In-Reply-To/References ids). It fills *parsed
 * (release with mail_parsed_release()) and returns 0, or -1 with *error_r when the bytes are not a
 * mail (no header block, or no From address).
 *
 * mail_inbound_process() applies one message exactly once. Its dedupe key is the
 * Message-ID (or "sha256:…" of the bytes), recorded in mail_message_ids in the same
 * transaction as the effect; for IMAP `src` also names the mailbox whose high-water
 * mark (imap_mailboxes) moves in that transaction. A reply's command lines each go to
 * inbound_process() (natural key provider_id, then provider_id#2, #3 …); machine mail is
 * recorded with automatic=true; a bounce is recorded and handed to bounce_apply(). A mail
 * to the mailto: List-Unsubscribe address (unsubscribe+TOKEN@, TOKEN signed for "unsub")
 * opts out the contact its token names whatever its body, its sender or its headers say,
 * and that contact gets one confirmation; a token that does not verify is logged and the
 * mail is read like any other.
 * Called inside a transaction the caller opened, both functions join it and leave COMMIT or
 * ROLLBACK (after -1) to the caller; otherwise they commit each step themselves.
 * Returns 0 with *outcome_r a static word (applied, ignored, automatic, bounce, unsubscribed,
 * duplicate, rejected — not a mail: recorded nowhere but the high-water mark), or -1 with *error_r
 * (nothing written; db_transient(db) says whether to retry).
 *
 * mail_inbound_apply() is mail_inbound_process() after mail_parse(): a reader that parses
 * the next mails on one thread while another applies the earlier ones calls the two
 * halves itself. `parsed` stays the caller's. A caller that applies several mails in one
 * transaction may record all their dedupe keys first with mail_inbound_claim() (one
 * statement), then apply each fresh one with `src->key_claimed` set.
 *
 * mail_inbound_apply_group() applies the fresh mails of such a group, claims[i] with
 * srcs[i] (their group set, their keys claimed), in order, inside the caller's transaction:
 * the first inbound message of each sender's first mail is recorded ahead, all in one
 * statement (inbound_group_record(), decide/process.h), then each mail is applied as
 * mail_inbound_apply() would. 0, or -1 with *error_r (the caller rolls back).
 */
#ifndef TOCSIN_MAIL_INBOUND_H
#define TOCSIN_MAIL_INBOUND_H

#include "lib/db.h"
#include "inbound/bounce.h"
#include "inbound/mime.h"
#include "inbound/reply.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mail_parsed {
    struct mime_message *mime;
    char *sender;      /* From address, lower-case */
    char *sender_name; /* From display name (mime_display_name()), or NULL */
    char *recipient;   /* Delivered-To, X-Original-To or To address, or "" */
    char *subject;     /* decoded, "" when absent */
    char *message_id;  /* without <>, or NULL */
    char *new_text;    /* the new words (reply_new_text) */
    char *commands;    /* command lines, '\n'-separated, or NULL */
    bool from_subject; /* the command came from the Subject */
    bool automatic;    /* from a machine: record only */
    const char *automatic_reason;
    bool is_bounce;
    struct bounce_info bounce;
    char *reply_token;       /* from a reply+TOKEN@ recipient, or NULL */
    char *unsubscribe_token; /* from an unsubscribe+TOKEN@ recipient, or NULL */
    char *thread_ids;        /* In-Reply-To then References, space-separated ids, or NULL */
    char *locale_hint;       /* "fr", "en" from Content-Language, or NULL */
};

struct mail_source {
    const char *provider;    /* "imap" or "inject" */
    const char *provider_id; /* "user@host:port/MAILBOX:UIDVALIDITY:UID", or NULL: the dedupe key */
    const char *mailbox;     /* imap_mailboxes key, or NULL */
    int64_t uidvalidity;
    int64_t uid;
    bool key_claimed; /* the dedupe key is recorded already, fresh (mail_inbound_claim()) */
    struct inbound_group *group; /* the caller's transaction's group (decide/process.h), or NULL */
};

/* One mail of a group the caller applies in one transaction. */
struct mail_claim {
    const struct mail_parsed *parsed;
    const char *raw;
    size_t len;
    const char *provider_id; /* its source's, unique in the group (not NULL) */
    bool fresh;              /* set by mail_inbound_claim() */
};

int mail_parse(const char *raw, size_t len, reply_is_command_fn is_command,
               struct mail_parsed *parsed, char **error_r);
void mail_parsed_release(struct mail_parsed *parsed);
/* Whether a line is a command: the command grammar (handlers_grammar) matches it. This
 * is mail_parse()'s matcher when `is_command` is NULL. */
bool mail_is_command(const char *line);
/* The id inside <…> of a Message-ID-like header value (the first one), or NULL. */
char *mail_angle_id(const char *value);

int mail_inbound_process(struct db *db, const char *raw, size_t len, const struct mail_source *src,
                         const char **outcome_r, char **error_r);
int mail_inbound_apply(struct db *db, const struct mail_parsed *parsed, const char *raw, size_t len,
                       const struct mail_source *src, const char **outcome_r, char **error_r);
/* The dedupe keys of `n` mails recorded in one statement, inside the caller's transaction:
 * claims[i].fresh says whether mail i's key was new (apply it with src.key_claimed set) or
 * recorded before (a duplicate: nothing to apply). 0, or -1 with *error_r. */
int mail_inbound_claim(struct db *db, struct mail_claim *claims, size_t n, char **error_r);
int mail_inbound_apply_group(struct db *db, const struct mail_claim *claims,
                             const struct mail_source *srcs, size_t n, char **error_r);
/* Move the mailbox's high-water mark alone (a message skipped for its size). */
int mail_inbound_skip(struct db *db, const struct mail_source *src, char **error_r);

#endif
