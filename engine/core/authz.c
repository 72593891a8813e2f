#include "core/authz.h"
#include "lib/util.h"

#include <string.h>

static bool set_meets_teams(const struct caller *who, const struct authz_set *set)
{
    for (size_t i = 0; i < set->nteams; i++)
        if (caller_organises(who, set->teams[i]))
            return true;
    return false;
}

/* Every set meets the teams the caller organises (and there is at least one set). */
static bool organises_scope(const struct caller *who, const struct authz_scope *scope)
{
    if (!scope || scope->nsets == 0)
        return false;
    for (size_t i = 0; i < scope->nsets; i++)
        if (!set_meets_teams(who, &scope->sets[i]))
            return false;
    return true;
}

enum authz_decision authz_decide(const struct caller *who, enum authz_need need,
                                 const struct authz_scope *scope)
{
    if (need == AUTHZ_PUBLIC)
        return AUTHZ_ALLOW;
    if (!who || !caller_is_account(who))
        return AUTHZ_DENY;
    if (who->admin)
        return AUTHZ_ALLOW;
    switch (need) {
    case AUTHZ_PUBLIC:
    case AUTHZ_ACCOUNT:
        return AUTHZ_ALLOW;
    case AUTHZ_ORGANISER:
        return who->nteams > 0 ? AUTHZ_ALLOW : AUTHZ_DENY;
    case AUTHZ_ADMIN:
        return AUTHZ_DENY;
    case AUTHZ_EVENT_DOOR:
        if (scope && scope->event_id && caller_hosts(who, scope->event_id))
            return AUTHZ_ALLOW;
        return organises_scope(who, scope) ? AUTHZ_ALLOW : AUTHZ_DENY;
    case AUTHZ_TEAM:
    case AUTHZ_EVENT:
    case AUTHZ_PERSON:
    case AUTHZ_INBOX:
    case AUTHZ_CAMPAIGN:
        return organises_scope(who, scope) ? AUTHZ_ALLOW : AUTHZ_DENY;
    }
    return AUTHZ_DENY;
}

void authz_scope_add(struct authz_scope *scope, const int64_t *teams, size_t nteams)
{
    scope->sets = xrealloc(scope->sets, (scope->nsets + 1) * sizeof(*scope->sets));
    struct authz_set *set = &scope->sets[scope->nsets++];
    set->nteams = nteams;
    set->teams = xcalloc(nteams ? nteams : 1, sizeof(*set->teams));
    if (nteams)
        memcpy(set->teams, teams, nteams * sizeof(*teams));
}

void authz_scope_release(struct authz_scope *scope)
{
    for (size_t i = 0; i < scope->nsets; i++)
        free(scope->sets[i].teams);
    free(scope->sets);
    memset(scope, 0, sizeof(*scope));
}

const char *authz_need_name(enum authz_need need)
{
    static const char *const names[] = {
        [AUTHZ_PUBLIC] = "public",
        [AUTHZ_ACCOUNT] = "account",
        [AUTHZ_ORGANISER] = "organiser",
        [AUTHZ_ADMIN] = "admin",
        [AUTHZ_TEAM] = "team",
        [AUTHZ_EVENT] = "event",
        [AUTHZ_EVENT_DOOR] = "event-door",
        [AUTHZ_PERSON] = "person",
        [AUTHZ_INBOX] = "inbox",
        [AUTHZ_CAMPAIGN] = "campaign",
    };
    return need < ARRAY_SIZE(names) && names[need] ? names[need] : "unknown";
}
