/*
 * team_common — what JOIN and LEAVE share: resolve the team a command names, or answer
 * with the teams to choose from / the closest slug. Returns like a check(): 0 resolved
 * (ctx->team_id, ctx->team_name set), 1 reply set, -1 error.
 */
#ifndef TOCSIN_TEAM_COMMON_H
#define TOCSIN_TEAM_COMMON_H

#include "handlers/handlers.h"

int team_resolve(struct handler_ctx *ctx, const char *which_template, bool mine, char **error_r);
json_t *team_vars(const struct handler_ctx *ctx);

#endif
