/*
 * RSVP — answer for an event: `RSVP 12 OUI +2`, `RSVP porte-a-porte no`, or a bare
 * `OUI` / `NON` / `PEUT-ETRE` that answers the event of the last prompt (context).
 *
 * Seats: a yes takes 1 + guests seats. The event row is locked (FOR UPDATE) before
 * counting, so two RSVPs at once cannot both take the last seat. When the party does not
 * fit, the answer is recorded as `waitlist` and the reply says so. Whenever seats are
 * freed (NO, MAYBE, CANCEL after a yes) they are offered, in waitlist order, to the first
 * parties that fit: the offer is a message with rsvp context, so their bare OUI takes the
 * seat, which is held for them for RSVP_OFFER_HOLD.
 */
#include "handlers/rsvp.h"
#include "handlers/patterns.h"
#include "lib/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define RSVP_OFFER_HOLD "24 hours"
#define RSVP_MAX_GUESTS 20 /* also a CHECK in the schema */

/* Templates show {{#guests}} for any number, 0 included: absent means "no guests". */
static json_t *guests_value(int guests)
{
    return guests > 0 ? json_integer(guests) : json_null();
}

char *rsvp_context(int64_t event_id)
{
    return xasprintf("{\"event_id\": %" PRId64 ", \"prompt\": \"rsvp\"}", event_id);
}

int rsvp_resolve_event(struct handler_ctx *ctx, const char *which_template, char **error_r)
{
    const char *target = ctx->match->target;
    bool loose = ctx->match->pattern && (ctx->match->pattern->flags & GRAMMAR_LOOSE_TARGET);
    struct event_info e = {0};
    int found = 0;
    if (target) {
        found = handler_find_event(ctx, target, false, &e, error_r);
        if (found < 0)
            return -1;
        if (!found && !loose)
            return handler_reply_unknown(ctx, target, false, true, "event_unknown", error_r);
    }
    if (!found) {
        int64_t id;
        if (handler_context_event(ctx, &id, error_r) < 0)
            return -1;
        if (id) {
            found = handler_load_event(ctx, id, false, &e, error_r);
            if (found < 0)
                return -1;
        }
    }
    if (!found) {
        if (handler_list_events(ctx, 4, error_r) < 0)
            return -1;
        handler_reply(ctx, which_template, NULL);
        return 1;
    }
    return handler_use_event(ctx, &e);
}

static int check_rsvp(struct handler_ctx *ctx, char **error_r)
{
    if (ctx->match->guests > RSVP_MAX_GUESTS) {
        json_object_set_new(ctx->vars, "max_guests", json_integer(RSVP_MAX_GUESTS));
        handler_reply(ctx, "rsvp_too_many_guests", NULL);
        return 1;
    }
    return rsvp_resolve_event(ctx, "rsvp_which_event", error_r);
}

/* Seats taken by others: their yes parties and the seats held for their open offers. */
static int seats_taken(struct handler_ctx *ctx, int64_t event_id, int64_t except_person,
                       int *taken_r, char **error_r)
{
    char ev[DB_PARAM_SIZE], person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(event_id, ev), db_param_int(except_person, person)};
    PGresult *res = db_exec(
        ctx->db,
        "SELECT coalesce(sum(1 + guests), 0) FROM rsvps"
        " WHERE event_id = $1 AND person_id <> $2 AND (status = 'yes'"
        "  OR (status = 'waitlist' AND offered_at > now() - interval '" RSVP_OFFER_HOLD "'))",
        2, params, error_r);
    if (!res)
        return -1;
    *taken_r = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int rsvp_offer_freed_seats(struct handler_ctx *ctx, const struct event_info *e, char **error_r)
{
    if (e->capacity < 0 || !e->open)
        return 0;
    int taken;
    if (seats_taken(ctx, e->id, 0, &taken, error_r) < 0)
        return -1;
    int free_seats = e->capacity - taken;
    if (free_seats <= 0)
        return 0;
    char ev[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(e->id, ev)};
    PGresult *res = db_exec(ctx->db,
                            "SELECT r.person_id, r.guests, p.locale FROM rsvps r"
                            " JOIN people p ON p.id = r.person_id WHERE r.event_id = $1"
                            " AND r.status = 'waitlist' AND r.offered_at IS NULL"
                            " ORDER BY r.updated_at, r.person_id LIMIT 200",
                            1, params, error_r);
    if (!res)
        return -1;
    int rc = 0;
    char *context = rsvp_context(e->id);
    for (int r = 0; r < PQntuples(res) && free_seats > 0; r++) {
        int64_t person = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        int party = 1 + atoi(PQgetvalue(res, r, 1));
        if (party > free_seats)
            continue; /* a smaller party further down may fit */
        char *key =
            xasprintf("offer:%" PRId64 ":%" PRId64 ":%" PRId64, e->id, person, ctx->inbound_id);
        json_t *vars =
            json_pack("{s:o, s:o}", "event", handler_event_vars(e, PQgetvalue(res, r, 2)), "guests",
                      guests_value(party - 1));
        rc = handler_enqueue_person(ctx, person, e->team_id, "waitlist_offer", vars,
                                    "waitlist_offer", context, key, error_r);
        json_decref(vars);
        free(key);
        if (rc < 0)
            break;
        if (rc == 0)
            continue; /* unreachable (no contact, or opted out): the next in line */
        rc = 0;
        char pslot[DB_PARAM_SIZE];
        const char *up[] = {ev, db_param_int(person, pslot)};
        if ((rc = db_run(
                 ctx->db,
                 "UPDATE rsvps SET offered_at = now() WHERE event_id = $1 AND person_id = $2", 2,
                 up, error_r)) < 0)
            break;
        json_t *payload = json_pack("{s:I, s:I}", "event_id", (json_int_t)e->id, "offered_to",
                                    (json_int_t)person);
        if ((rc = handler_activity(ctx, e->team_id, "waitlist_offer", payload, error_r)) < 0)
            break;
        free_seats -= party;
    }
    free(context);
    PQclear(res);
    return rc;
}

int rsvp_previous(struct handler_ctx *ctx, int64_t event_id, struct rsvp_previous *p,
                  char **error_r)
{
    char ev[DB_PARAM_SIZE], person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(event_id, ev), db_param_int(ctx->person_id, person)};
    PGresult *res =
        db_exec(ctx->db,
                "SELECT status, guests, coalesce(offered_at > now() - interval '" RSVP_OFFER_HOLD
                "', false) FROM rsvps"
                " WHERE event_id = $1 AND person_id = $2",
                2, params, error_r);
    if (!res)
        return -1;
    memset(p, 0, sizeof(*p));
    if (PQntuples(res)) {
        p->exists = true;
        snprintf(p->status, sizeof(p->status), "%s", PQgetvalue(res, 0, 0));
        p->guests = atoi(PQgetvalue(res, 0, 1));
        p->held = PQgetvalue(res, 0, 2)[0] == 't';
    }
    PQclear(res);
    return 0;
}

int rsvp_store(struct handler_ctx *ctx, int64_t event_id, const char *status, int guests,
               char **error_r)
{
    char ev[DB_PARAM_SIZE], person[DB_PARAM_SIZE], g[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(event_id, ev), db_param_int(ctx->person_id, person),
                            status, db_param_int(guests, g)};
    /* updated_at is the waitlist order: it moves only when the status changes. */
    return db_run(ctx->db,
                  "INSERT INTO rsvps (event_id, person_id, status, guests)"
                  " VALUES ($1, $2, $3, $4) ON CONFLICT (event_id, person_id) DO UPDATE"
                  " SET status = EXCLUDED.status, guests = EXCLUDED.guests,"
                  " offered_at = CASE WHEN EXCLUDED.status = 'waitlist' THEN rsvps.offered_at END,"
                  " updated_at = CASE WHEN rsvps.status = EXCLUDED.status THEN rsvps.updated_at"
                  "  ELSE now() END",
                  4, params, error_r);
}

static int waitlist_position(struct handler_ctx *ctx, int64_t event_id, int *pos_r, char **error_r)
{
    char ev[DB_PARAM_SIZE], person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(event_id, ev), db_param_int(ctx->person_id, person)};
    PGresult *res = db_exec(ctx->db,
                            "SELECT count(*) FROM rsvps r, rsvps me WHERE r.event_id = $1"
                            " AND me.event_id = $1 AND me.person_id = $2"
                            " AND r.status = 'waitlist'"
                            " AND (r.updated_at, r.person_id) <= (me.updated_at, me.person_id)",
                            2, params, error_r);
    if (!res)
        return -1;
    *pos_r = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int run_rsvp(struct handler_ctx *ctx, char **error_r)
{
    struct event_info e = {0};
    int rc = -1;
    int found = handler_load_event(ctx, ctx->event_id, true, &e, error_r);
    if (found <= 0) {
        if (found == 0)
            *error_r = xstrdup("rsvp: event vanished");
        return -1;
    }
    const char *answer = ctx->match->answer ? ctx->match->answer : "yes";
    struct rsvp_previous prev;
    if (rsvp_previous(ctx, e.id, &prev, error_r) < 0)
        goto out;
    bool was_seated = prev.exists && (strcmp(prev.status, "yes") == 0 || prev.held);
    int guests = ctx->match->guests;
    if (guests < 0)
        guests = prev.exists && strcmp(answer, "yes") == 0 ? prev.guests : 0;
    if (strcmp(answer, "yes") != 0)
        guests = 0;
    const char *status = answer;
    const char *template_name = strcmp(answer, "yes") == 0  ? "rsvp_yes"
                                : strcmp(answer, "no") == 0 ? "rsvp_no"
                                                            : "rsvp_maybe";
    if (strcmp(answer, "yes") == 0 && e.capacity >= 0) {
        int taken;
        if (seats_taken(ctx, e.id, ctx->person_id, &taken, error_r) < 0)
            goto out;
        if (taken + 1 + guests > e.capacity) {
            if (prev.exists && strcmp(prev.status, "yes") == 0) {
                /* A bigger party does not fit: keep the seats they have. */
                json_object_set_new(ctx->vars, "guests", guests_value(prev.guests));
                json_object_set_new(ctx->vars, "free",
                                    json_integer(e.capacity - taken - 1 - prev.guests));
                ctx->status = "applied_noop";
                handler_reply(ctx, "rsvp_full_kept", NULL);
                rc = 0;
                goto out;
            }
            status = "waitlist";
            template_name = "rsvp_waitlist";
        }
    }
    if (rsvp_store(ctx, e.id, status, guests, error_r) < 0)
        goto out;
    if (strcmp(status, "waitlist") == 0) {
        int pos;
        if (waitlist_position(ctx, e.id, &pos, error_r) < 0)
            goto out;
        json_object_set_new(ctx->vars, "position", json_integer(pos));
    }
    json_object_set_new(ctx->vars, "guests", guests_value(guests));
    json_object_set_new(ctx->vars, "status", json_string(status));
    json_t *payload = json_pack("{s:I, s:s, s:i}", "event_id", (json_int_t)e.id, "status", status,
                                "guests", guests);
    if (handler_activity(ctx, e.team_id, "rsvp", payload, error_r) < 0)
        goto out;
    if (was_seated && strcmp(status, "yes") != 0 && rsvp_offer_freed_seats(ctx, &e, error_r) < 0)
        goto out;
    handler_reply(ctx, template_name, NULL);
    /* The confirmation is a prompt too: a later bare NON or ANNULER changes this answer. */
    ctx->reply_context = rsvp_context(e.id);
    rc = 0;
out:
    event_info_release(&e);
    return rc;
}

static const struct grammar_pattern patterns[] = {
    {"", "^rsvp(?: " PATTERN_TARGET ")?(?: (?<answer>" PATTERN_ANSWER "))?" PATTERN_GUESTS "$", 0},
    /* A bare answer, maybe with an event and guests: "OUI", "oui 12 +2". */
    {"", "^(?<answer>" PATTERN_ANSWER ")(?: " PATTERN_TARGET ")?" PATTERN_GUESTS "$",
     GRAMMAR_LOOSE_TARGET},
    /* A bare answer followed by chatter: "oui merci", "non désolé". */
    {"", "^(?<answer>" PATTERN_ANSWER ")" PATTERN_GUESTS "(?: .*)?$", GRAMMAR_LOOSE_TARGET},
    {NULL, NULL, 0},
};

/* The answer words are PATTERN_YES, PATTERN_NO and PATTERN_MAYBE (patterns.h). */
static const struct handler_keyword keywords[] = {
    {"rsvp", "", HANDLER_KEYWORD_LONG | HANDLER_KEYWORD_SUGGEST | HANDLER_KEYWORD_SUGGEST_EVENT},
    {"yes", "en", 0},
    {"yeah", "en", 0},
    {"yep", "en", 0},
    {"y", "en", 0},
    {"no", "en", 0},
    {"nope", "en", 0},
    {"n", "", 0},
    {"maybe", "en", 0},
    {"perhaps", "en", 0},
    {"oui", "fr", 0},
    {"ouais", "fr", 0},
    {"o", "fr", 0},
    {"non", "fr", 0},
    {"nan", "fr", 0},
    {"peut-etre", "fr", 0},
    {"peut etre", "fr", 0},
    {"peutetre", "fr", 0},
    {"ptet", "fr", 0},
    {"p-e", "fr", 0},
    {"pe", "fr", 0},
    {NULL, NULL, 0},
};

const struct handler handler_rsvp = {
    .name = "rsvp",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_rsvp,
    .run = run_rsvp,
    .creates_sender = true,
    .en = {"RSVP <event> YES|NO|MAYBE [+N]", "answer for an event, with N guests",
           "RSVP <event> YES/NO +N"},
    .fr = {"OUI|NON|PEUT-ETRE [evenement] [+N]", "repondre pour un evenement, avec N invites",
           "OUI/NON <événement> +N"},
};
