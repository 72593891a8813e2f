#include "campaigns/segment.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

/* A segment of more atoms than this is a typo or an attack, not a newsletter. */
#define SEGMENT_MAX_ATOMS 32

static bool slug_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return false;
    return true;
}

static void add_param(struct segment *s, const char *value)
{
    s->params = xrealloc(s->params, (size_t)(s->nparams + 1) * sizeof(char *));
    s->params[s->nparams++] = xstrdup(value);
}

static void add_to_array(struct buf *array, const char *slug)
{
    buf_adds(array, array->len ? "," : "");
    buf_adds(array, slug);
}

/* The slugs added to `all` since `mark` bytes, as an array literal of one term. */
static char *term_slice(const struct buf *all, size_t mark)
{
    const char *from = buf_str(all) + mark;
    if (*from == ',')
        from++;
    return xasprintf("{%s}", from);
}

/* Append the fragment for one atom; its value (if any) becomes the next parameter. */
static int compile_atom(char *atom, int first_param, struct segment *s, struct buf *sql,
                        struct buf *teams, struct buf *events, int *team_atoms_r,
                        const char **last_team_r, char **error_r)
{
    atom = str_trim(atom);
    char *colon = strchr(atom, ':');
    if (!colon) {
        if (strcmp(str_lower(atom), "all") == 0) {
            buf_adds(sql, "true");
            return 0;
        }
        *error_r =
            xasprintf("segment part \"%s\": expected all, team:SLUG, tag:NAME or event:SLUG", atom);
        return -1;
    }
    *colon = '\0';
    char *kind = str_lower(str_trim(atom));
    char *value = str_trim(colon + 1);
    int n = first_param + s->nparams;
    if (strcmp(kind, "team") == 0 || strcmp(kind, "event") == 0) {
        str_lower(value);
        if (!slug_valid(value)) {
            *error_r = xasprintf("segment %s:%s: a slug is lower-case letters, digits and dashes",
                                 kind, value);
            return -1;
        }
        if (kind[0] == 't') {
            /* The team's id as a sub-select, not a join: the planner then estimates a
             * team's members from the column's statistics instead of a thousandth of
             * them, and a million of them no longer spill a misjudged hash to disk. */
            buf_printf(sql,
                       "EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = p.id"
                       " AND m.status = 'active' AND m.team_id = (SELECT id FROM teams"
                       " WHERE slug = $%d))",
                       n);
            add_to_array(teams, value);
            (*team_atoms_r)++;
            *last_team_r = value;
        } else {
            buf_printf(sql,
                       "EXISTS (SELECT 1 FROM rsvps r JOIN events e ON e.id = r.event_id"
                       " WHERE r.person_id = p.id AND r.status = 'yes' AND e.slug = $%d)",
                       n);
            add_to_array(events, value);
        }
    } else if (strcmp(kind, "tag") == 0) {
        if (!*value) {
            *error_r = xstrdup("segment tag: needs a name (tag:NAME)");
            return -1;
        }
        buf_printf(sql, "p.tags @> ARRAY[$%d::text]", n);
        s->tags = xrealloc(s->tags, (size_t)(s->ntags + 1) * sizeof(*s->tags));
        s->tags[s->ntags++] = xstrdup(value);
    } else {
        *error_r = xasprintf("segment part \"%s:%s\": expected team:, tag: or event:", kind, value);
        return -1;
    }
    add_param(s, value);
    return 0;
}

int segment_compile(const char *text, int first_param, struct segment *out, char **error_r)
{
    memset(out, 0, sizeof(*out));
    struct buf sql = BUF_INIT, teams = BUF_INIT, events = BUF_INIT;
    char *copy = xstrdup(text);
    int atoms = 0, terms = 0, team_atoms = 0, rc = -1;
    char *single = NULL;
    const char *last_team = NULL;
    if (!*str_trim(copy)) {
        *error_r = xstrdup("empty segment: use all, team:SLUG, tag:NAME or event:SLUG");
        goto out;
    }
    buf_adds(&sql, "(");
    char *term_save = NULL;
    for (char *term = strtok_r(copy, ",", &term_save); term;
         term = strtok_r(NULL, ",", &term_save)) {
        buf_adds(&sql, terms++ ? " OR (" : "(");
        int term_atoms = 0, term_teams_before = team_atoms;
        size_t teams_mark = teams.len, events_mark = events.len;
        char *atom_save = NULL;
        for (char *atom = strtok_r(term, "+", &atom_save); atom;
             atom = strtok_r(NULL, "+", &atom_save)) {
            if (++atoms > SEGMENT_MAX_ATOMS) {
                *error_r = xasprintf("segment has more than %d parts", SEGMENT_MAX_ATOMS);
                goto out;
            }
            if (term_atoms++)
                buf_adds(&sql, " AND ");
            if (compile_atom(atom, first_param, out, &sql, &teams, &events, &team_atoms, &last_team,
                             error_r) < 0)
                goto out;
        }
        if (term_atoms == 0) {
            *error_r = xstrdup("segment has an empty part (two separators in a row?)");
            goto out;
        }
        buf_adds(&sql, ")");
        out->terms = xrealloc(out->terms, (size_t)(out->nterms + 1) * sizeof(*out->terms));
        out->terms[out->nterms].teams = term_slice(&teams, teams_mark);
        out->terms[out->nterms].events = term_slice(&events, events_mark);
        out->nterms++;
        if (team_atoms - term_teams_before == 1 && terms == 1)
            single = xstrdup(last_team);
    }
    if (terms == 0) {
        *error_r = xstrdup("empty segment: use all, team:SLUG, tag:NAME or event:SLUG");
        goto out;
    }
    buf_adds(&sql, ")");
    out->where = buf_detach(&sql);
    out->teams = xasprintf("{%s}", buf_str(&teams));
    out->events = xasprintf("{%s}", buf_str(&events));
    if (terms == 1) {
        out->single_team = single;
        single = NULL;
    }
    rc = 0;
out:
    free(single);
    free(copy);
    buf_release(&sql);
    buf_release(&teams);
    buf_release(&events);
    if (rc < 0)
        segment_release(out);
    return rc;
}

void segment_release(struct segment *s)
{
    for (int i = 0; i < s->nparams; i++)
        free(s->params[i]);
    free(s->params);
    free(s->where);
    free(s->teams);
    free(s->events);
    free(s->single_team);
    for (int i = 0; i < s->ntags; i++)
        free(s->tags[i]);
    free(s->tags);
    for (int i = 0; i < s->nterms; i++) {
        free(s->terms[i].teams);
        free(s->terms[i].events);
    }
    free(s->terms);
    memset(s, 0, sizeof(*s));
}
