/*
 * process — the one entry point for everything a supporter sends.
 *
 * Every adapter (IMAP reader, `tocsin inject`, `tocsin sms-inject`, the SMS webhooks)
 * turns bytes into a struct inbound_message and calls inbound_process(). It runs, in ONE
 * transaction: record the inbound_messages row under its natural key (channel, provider,
 * provider_id), parse the command(s) with the grammar, run the handler(s), append to the
 * consent ledger and activity, and enqueue the reply (outbound_messages, with a
 * dedupe_key derived from the inbound row). A replay of the same natural key does nothing
 * and reports INBOUND_DUPLICATE with the first outcome's reply, if any.
 *
 * The reply is budgeted (decide/budget.h): when it may not be sent, the command still ran,
 * and inbound_messages.reply_withheld says why no answer left. A command whose handler
 * refused it (status 'refused') is counted in tocsin_commands_refused_total{command}, not
 * in tocsin_commands_total{command}, which counts applied commands only.
 *
 * Called inside a transaction the caller opened, it joins it and leaves COMMIT/ROLLBACK
 * to the caller (the mail pipeline records the Message-ID and the IMAP mark with it).
 * The caller owns `msg` and its strings; inbound_process() copies what it keeps.
 * Return: 0 with *outcome filled (caller frees with inbound_outcome_release()), or -1 with
 * *error_r set (caller frees): nothing was written, and when db_transient(db) the caller
 * must make the sender retry (HTTP 503, exit 75, leave the mail unflagged).
 *
 * An inbound group serves a caller that applies many messages in one transaction (the
 * IMAP reader, the SMS backlog): with msg->group set, the writes each message ends with —
 * its reply's row and its outcome on its inbound row — are kept in the group, and
 * inbound_group_flush() writes them for every message at once, one statement each, which
 * the caller runs before its COMMIT. One statement for fifty rows costs PostgreSQL a
 * fraction of fifty. The budget (decide/budget.h) of the kept replies is decided at the
 * flush too, for all of them in one statement, before they are written: a withheld reply
 * is dropped and its reason put on its outcome, as one message alone would have it. What a
 * later message reads is unchanged: the budget, the reminder a bare OUI answers and every
 * other read of those rows look at one sender's own rows, so a message from a sender whose
 * writes are kept flushes them first. In a group, outcome->reply is NULL and
 * outcome->reply_id 0 (the reply's fate is known at the flush), and the `inbound` log line
 * gives the handler's status: the row's status becomes opted_out at the flush when the
 * reply's recipient opted out, and a withheld reply is logged there (reply_withheld).
 * After a failure the caller rolls back and frees the group, whose kept writes are then
 * void. Without a caller's transaction, msg->group is ignored.
 *
 * inbound_group_record() records the messages the caller is about to apply in the group,
 * all in one statement, before the first: what inbound_process() does first for each
 * (the row under its natural key, the sender's lock, who the sender is), so that each then
 * finds its row recorded. A message recorded before (a replay), not valid, or not its
 * sender's first in `msgs` is left for inbound_process() to record in its turn. 0, or -1
 * with *error_r (the caller rolls back).
 */
#ifndef TOCSIN_PROCESS_H
#define TOCSIN_PROCESS_H

#include "lib/db.h"
#include "decide/message.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum inbound_status {
    INBOUND_APPLIED,   /* a command ran (or the help reply was sent) */
    INBOUND_DUPLICATE, /* this natural key was processed before: nothing done now */
    INBOUND_IGNORED,   /* recorded only (automatic mail, rate-limited unknown text) */
};

struct inbound_outcome {
    enum inbound_status status;
    int64_t inbound_id;
    char *command;    /* the command name that ran, e.g. "join"; NULL if none */
    char *reply;      /* the reply text queued (SMS form), NULL if none */
    int64_t reply_id; /* outbound_messages.id of the reply, 0 if none */
    bool refused;     /* the command was refused (a wrong code, no proof): not applied */
};

int inbound_process(struct db *db, const struct inbound_message *msg,
                    struct inbound_outcome *outcome, char **error_r);
void inbound_outcome_release(struct inbound_outcome *outcome);

struct inbound_group *inbound_group_new(void);
int inbound_group_record(struct inbound_group *g, struct db *db, const struct inbound_message *msgs,
                         size_t n, char **error_r);
int inbound_group_flush(struct inbound_group *g, struct db *db, char **error_r);
void inbound_group_free(struct inbound_group *g);

#endif
