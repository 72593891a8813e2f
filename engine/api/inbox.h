/*
 * inbox — what supporters wrote that needs a human: messages not understood, from a
 * stranger, rate-limited, refused or too long (the view `inbox`), newest first.
 *
 * inbox_list(): the open messages (or all of them with `all`), one page, and `open`, the
 * count of open messages in the caller's reach. An organiser sees messages from members
 * of their teams; messages from strangers are the admins'.
 * inbox_reply(): queue `text` to the sender on the channel they wrote on — threaded for
 * email (In-Reply-To and References from the message, "Re:" subject). The same text sent
 * twice to the same message is queued once (its dedupe key hashes the text). The
 * message stays open until inbox_done(), which marks it handled by the caller (again:
 * no change). Both record activity.
 */
#ifndef TOCSIN_API_INBOX_H
#define TOCSIN_API_INBOX_H

#include "core/account.h"
#include "api/model.h"

#include <stdbool.h>

#define INBOX_REPLY_MAX 10000

json_t *inbox_list(struct db *db, const struct caller *who, bool all, const struct page *page,
                   struct api_error *e);
json_t *inbox_reply(struct db *db, const struct caller *who, int64_t id, const char *text,
                    struct api_error *e);
json_t *inbox_done(struct db *db, const struct caller *who, int64_t id, struct api_error *e);

struct api_call;
void route_inbox_list(struct api_call *c);
void route_inbox_reply(struct api_call *c);
void route_inbox_done(struct api_call *c);

#endif
