/*
 * segment — who a campaign goes to, turned into SQL from FIXED fragments.
 *
 * Grammar:  SEGMENT = TERM { "," TERM }      union
 *           TERM    = ATOM { "+" ATOM }      intersection
 *           ATOM    = all | team:SLUG | tag:NAME | event:SLUG   (event: a `yes` RSVP)
 * e.g. "team:paris-10,team:lyon-1" or "team:paris-10+tag:tractage".
 *
 * segment_compile() fills `out` with a boolean SQL expression over `p` (people) whose values
 * are parameters $first, $first+1, … (out->params, in order); no value from the segment
 * text is ever written into the SQL. out->teams is a PostgreSQL array literal of the team
 * slugs named (slugs are checked against the slug pattern first), out->single_team the one
 * team slug when the whole segment is one term naming one team (its consent scope), else
 * NULL; out->tags the tags named. Returns 0, or -1 with *error_r (caller frees).
 * segment_release() frees `out`.
 *
 * out->terms lists, per term of the union, the team and event slugs its atoms name (array
 * literals): whom a campaign may reach is decided term by term (an organiser may send to
 * "team:mine+tag:x", not to "tag:x" alone).
 */
#ifndef TOCSIN_SEGMENT_H
#define TOCSIN_SEGMENT_H

struct segment_term {
    char *teams;  /* "{a,b}" */
    char *events; /* "{x}" */
};

struct segment {
    char *where;
    char **params;
    int nparams;
    char *teams;       /* "{a,b}" — every team named, for the consent scope */
    char *events;      /* "{x}" — every event named */
    char *single_team; /* the slug when the segment is exactly one term naming one team */
    char **tags;       /* every tag named, as written (the caller checks someone has it) */
    int ntags;
    struct segment_term *terms;
    int nterms;
};

int segment_compile(const char *text, int first_param, struct segment *out, char **error_r);
void segment_release(struct segment *s);

#endif
