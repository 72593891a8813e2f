/*
 * sms_backlog — texts a daemon takes from an SMS gateway while it is busy, stored durably,
 * answered at once and applied moments later (table sms_backlog, migration 0083, written
 * here; `people forget` deletes a forgotten person's rows, upkeep those older than
 * [engine] keep_messages).
 *
 * A webhook applies its text while the gateway waits (inbound_process()) as long as few
 * are in flight. Beyond [sms] apply_inline texts at once in this daemon, or while texts it
 * stored are still waiting, it stores the text instead — one INSERT, durable when
 * sms_backlog_accept() returns — answers the gateway, and the daemon's [sms] appliers
 * threads apply it right after, up to 50 texts to a transaction. A burst of replies then
 * costs the gateway's wait one insert per text, not a command transaction: the gateway
 * never times out and retries, and the commands are applied as fast as the database allows.
 *
 *   sms_backlog_accept()   store one text: the fields an SMS webhook fills (provider, its
 *                          id, sender, recipient, body, raw, proof), refusing a message with
 *                          more; a retry of a text already stored stores nothing. 0, or -1
 *                          with *error_r (caller frees; db_transient(db): 503)
 *   sms_backlog_waiting()  true while this daemon may have stored texts not applied yet: a
 *                          new text then joins the backlog behind them, so that one
 *                          sender's texts keep their order
 *   sms_backlog_start()/sms_backlog_stop()   the applier threads (a daemon duty); stop
 *                          lets each finish its transaction, and what waits stays for the
 *                          next start
 *
 * Order: a row is claimed only when no older row of its sender is waiting, so one sender's
 * texts are applied in the order they were accepted, whichever daemon applies them, and two
 * appliers never hold the same sender. Exactly once: a row is deleted by the transaction
 * that applies it, so a crash before its commit leaves it to the next claim (and
 * inbound_process() dedupes on the provider's id as well). A text the engine refuses for
 * good (an error that is not an outage) stays, with attempts and last_error, retried after
 * 2^attempts seconds; after SMS_BACKLOG_GIVE_UP attempts it is left for the operator
 * (logged at error level) and no longer holds back its sender's later texts.
 * A daemon's appliers also look for rows left by another daemon every [engine]
 * poll_interval seconds. Answering comes first: while webhooks keep the HTTP threads busy
 * more than half the time, only the first applier works; the others join when it eases.
 */
#ifndef TOCSIN_SMS_BACKLOG_H
#define TOCSIN_SMS_BACKLOG_H

#include "lib/db.h"
#include "decide/message.h"

#include <stdbool.h>

#define SMS_BACKLOG_GIVE_UP 10

/* What the table holds, for `tocsin queue status` and /metrics: texts waiting (never
 * failed), failing (retried after a backoff), given up (left for the operator), and the
 * age in seconds of the oldest text not given up (0: none). */
struct sms_backlog_state {
    int64_t waiting, failing, given_up, oldest_seconds;
};
int sms_backlog_state(struct db *db, struct sms_backlog_state *state_r, char **error_r);

int sms_backlog_accept(struct db *db, const struct inbound_message *msg, char **error_r);
bool sms_backlog_waiting(void);
int sms_backlog_start(char **error_r);
void sms_backlog_stop(void);

#endif
