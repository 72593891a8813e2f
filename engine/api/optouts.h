/*
 * optouts — who does not want to hear from us: the current opt-outs (the view
 * current_optouts: an opt-out with no later entry for the same contact, channel and
 * scope), newest first, with the team they are about (null: every team) and their source
 * and evidence. `since` (a date) and `channel` ("email" or "sms") narrow the list. An
 * organiser sees the opt-outs from their teams and the global opt-outs of their members.
 */
#ifndef TOCSIN_API_OPTOUTS_H
#define TOCSIN_API_OPTOUTS_H

#include "core/account.h"
#include "api/model.h"

json_t *optouts_list(struct db *db, const struct caller *who, const char *since,
                     const char *channel, const struct page *page, struct api_error *e);

struct api_call;
void route_optouts_list(struct api_call *c);

#endif
