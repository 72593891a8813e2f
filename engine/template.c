#include "template.h"
#include "config.h"
#include "embedded.h"
#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum node_kind { NODE_TEXT, NODE_VAR, NODE_RAW, NODE_SECTION, NODE_INVERTED };

struct node {
    enum node_kind kind;
    char *text;            /* NODE_TEXT: the bytes; others: the variable name */
    size_t len;            /* NODE_TEXT */
    struct node *children; /* sections */
    size_t nchildren;
};

struct template
{
    struct node root;
};

static void node_release(struct node *n)
{
    for (size_t i = 0; i < n->nchildren; i++)
        node_release(&n->children[i]);
    free(n->children);
    free(n->text);
}

static struct node *add_child(struct node *parent, enum node_kind kind, const char *text,
                              size_t len)
{
    parent->children = xrealloc(parent->children, (parent->nchildren + 1) * sizeof(struct node));
    struct node *n = &parent->children[parent->nchildren++];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->text = xstrndup(text, len);
    n->len = len;
    return n;
}

static int line_of(const char *start, const char *at)
{
    int line = 1;
    for (const char *p = start; p < at; p++)
        line += *p == '\n';
    return line;
}

/* Trim a tag's inner name: "{{ #  team }}" → "team". */
static char *tag_name(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    return xstrndup(s, len);
}

/*
 * Parse from *pos into `parent` until the tag closing `close` (a section name), or the
 * end when `close` is NULL. Recursion only ever appends to the section being parsed, so
 * the parent's children array does not move under it.
 */
static int parse(const char *start, const char **pos, struct node *parent, const char *close,
                 char **error_r)
{
    const char *p = *pos;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            if (*p)
                add_child(parent, NODE_TEXT, p, strlen(p));
            if (close) {
                *error_r = xasprintf("line %d: section %s is not closed", line_of(start, p), close);
                return -1;
            }
            *pos = p + strlen(p);
            return 0;
        }
        bool triple = open[2] == '{';
        const char *inner = open + (triple ? 3 : 2);
        const char *end = strstr(inner, triple ? "}}}" : "}}");
        if (!end) {
            *error_r = xasprintf("line %d: tag not closed with }}", line_of(start, open));
            return -1;
        }
        const char *after = end + (triple ? 3 : 2);
        char sigil = triple ? '{' : *inner;
        if (!triple && sigil && strchr("#^/&!", sigil))
            inner++;
        /* A section or comment tag alone on its line leaves no blank line behind. */
        const char *text_end = open;
        if (!triple && sigil && strchr("#^/!", sigil)) {
            const char *line_start = open;
            while (line_start > start && (line_start[-1] == ' ' || line_start[-1] == '\t'))
                line_start--;
            const char *rest = after;
            while (*rest == ' ' || *rest == '\t')
                rest++;
            if ((line_start == start || line_start[-1] == '\n') && (*rest == '\n' || !*rest)) {
                text_end = line_start;
                after = *rest == '\n' ? rest + 1 : rest;
            }
        }
        if (text_end > p)
            add_child(parent, NODE_TEXT, p, (size_t)(text_end - p));
        p = after;
        char *name = tag_name(inner, (size_t)(end - inner));
        if (sigil != '!' && *name == '\0') {
            free(name);
            *error_r = xasprintf("line %d: empty tag", line_of(start, open));
            return -1;
        }
        switch (sigil) {
        case '!':
            break;
        case '#':
        case '^': {
            size_t index = parent->nchildren;
            add_child(parent, sigil == '#' ? NODE_SECTION : NODE_INVERTED, name, strlen(name));
            if (parse(start, &p, &parent->children[index], name, error_r) < 0) {
                free(name);
                return -1;
            }
            break;
        }
        case '/':
            if (!close || strcmp(close, name) != 0) {
                *error_r = xasprintf("line %d: {{/%s}} closes no open section",
                                     line_of(start, open), name);
                free(name);
                return -1;
            }
            free(name);
            *pos = p;
            return 0;
        case '{':
        case '&':
            add_child(parent, NODE_RAW, name, strlen(name));
            break;
        default:
            add_child(parent, NODE_VAR, name, strlen(name));
        }
        free(name);
    }
}

struct template *template_compile(const char *text, char **error_r)
{
    struct template *t = xcalloc(1, sizeof(*t));
    const char *pos = text;
    if (parse(text, &pos, &t->root, NULL, error_r) < 0) {
        template_free(&t);
        return NULL;
    }
    return t;
}

void template_free(struct template **tp)
{
    if (!*tp)
        return;
    node_release(&(*tp)->root);
    free(*tp);
    *tp = NULL;
}

/* The scopes a lookup walks, innermost last. */
struct scope {
    const json_t *items[32];
    size_t depth;
};

static const json_t *lookup(const struct scope *scope, const char *name)
{
    if (strcmp(name, ".") == 0)
        return scope->depth ? scope->items[scope->depth - 1] : NULL;
    size_t first = strcspn(name, ".");
    for (size_t i = scope->depth; i-- > 0;) {
        const json_t *obj = scope->items[i];
        if (!json_is_object(obj))
            continue;
        const json_t *v = json_object_getn(obj, name, first);
        if (!v)
            continue;
        /* Dotted names descend from where the first part was found. */
        const char *rest = name + first;
        while (*rest == '.' && v) {
            rest++;
            size_t part = strcspn(rest, ".");
            v = json_is_object(v) ? json_object_getn(v, rest, part) : NULL;
            rest += part;
        }
        return v;
    }
    return NULL;
}

static bool truthy(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    return true;
}

static void append_escaped(struct buf *out, const char *s, size_t len, bool html)
{
    if (!html) {
        buf_add(out, s, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&':
            buf_adds(out, "&amp;");
            break;
        case '<':
            buf_adds(out, "&lt;");
            break;
        case '>':
            buf_adds(out, "&gt;");
            break;
        case '"':
            buf_adds(out, "&quot;");
            break;
        case '\'':
            buf_adds(out, "&#39;");
            break;
        default:
            buf_addch(out, s[i]);
        }
    }
}

static void append_value(struct buf *out, const json_t *v, bool escape)
{
    if (json_is_string(v)) {
        append_escaped(out, json_string_value(v), json_string_length(v), escape);
    } else if (json_is_integer(v)) {
        buf_printf(out, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        buf_printf(out, "%g", json_real_value(v));
    } else if (json_is_true(v)) {
        buf_adds(out, "true");
    }
}

static void render_nodes(const struct node *parent, struct scope *scope, bool html, struct buf *out)
{
    for (size_t i = 0; i < parent->nchildren; i++) {
        const struct node *n = &parent->children[i];
        switch (n->kind) {
        case NODE_TEXT:
            buf_add(out, n->text, n->len);
            break;
        case NODE_VAR:
        case NODE_RAW: {
            const json_t *v = lookup(scope, n->text);
            if (v)
                append_value(out, v, html && n->kind == NODE_VAR);
            break;
        }
        case NODE_INVERTED:
            if (!truthy(lookup(scope, n->text)))
                render_nodes(n, scope, html, out);
            break;
        case NODE_SECTION: {
            const json_t *v = lookup(scope, n->text);
            if (!truthy(v) || scope->depth == ARRAY_SIZE(scope->items))
                break;
            if (json_is_array(v)) {
                size_t k;
                const json_t *item;
                json_array_foreach(v, k, item)
                {
                    scope->items[scope->depth++] = item;
                    render_nodes(n, scope, html, out);
                    scope->depth--;
                }
            } else {
                scope->items[scope->depth++] = v;
                render_nodes(n, scope, html, out);
                scope->depth--;
            }
            break;
        }
        }
    }
}

void template_render(const struct template *t, const json_t *vars, bool html, struct buf *out)
{
    struct scope scope = {.depth = 0};
    if (vars)
        scope.items[scope.depth++] = vars;
    buf_grow(out, 0);
    render_nodes(&t->root, &scope, html, out);
}

static void collect_missing(const struct node *parent, const json_t *vars, int depth,
                            struct buf *out)
{
    for (size_t i = 0; i < parent->nchildren; i++) {
        const struct node *n = &parent->children[i];
        /* Inside a section a name may belong to the section's item: only the top level
         * can be checked against the variables without rendering. */
        if (n->kind != NODE_TEXT && depth == 0 && strcmp(n->text, ".") != 0) {
            struct scope scope = {.items = {vars}, .depth = 1};
            if (!lookup(&scope, n->text) && !strstr(buf_str(out), n->text)) {
                if (out->len)
                    buf_adds(out, ", ");
                buf_adds(out, n->text);
            }
        }
        if (n->kind == NODE_SECTION || n->kind == NODE_INVERTED)
            collect_missing(n, vars, depth + 1, out);
    }
}

char *template_missing(const struct template *t, const json_t *vars)
{
    struct buf out = BUF_INIT;
    collect_missing(&t->root, vars, 0, &out);
    if (!out.len)
        return NULL;
    return buf_detach(&out);
}

/* ---- message templates: files with a subject line and text/html/sms parts ---- */

struct message_template {
    char *key; /* "locale/name" */
    struct template *subject, *text, *html, *sms;
    struct message_template *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct message_template *cache;

static char *read_override(const char *locale, const char *name)
{
    const char *dir = config_str("engine", "templates_dir");
    if (!*dir)
        return NULL;
    char *path = xasprintf("%s/%s/%s.tmpl", dir, locale, name);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return NULL;
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < 1024 * 1024)
        buf_add(&b, chunk, n);
    fclose(f);
    return buf_detach(&b);
}

static char *read_source(const char *locale, const char *name)
{
    char *text = read_override(locale, name);
    if (text)
        return text;
    char *path = xasprintf("templates/%s/%s.tmpl", locale, name);
    const struct embedded_file *f = embedded_find(path);
    free(path);
    return f ? xstrndup(f->data, f->len) : NULL;
}

/* Split a template file into its parts and compile each. */
static struct message_template *compile_file(const char *key, const char *source, char **error_r)
{
    struct message_template *m = xcalloc(1, sizeof(*m));
    m->key = xstrdup(key);
    struct buf parts[4] = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT}; /* subject text html sms */
    bool present[4] = {false, false, false, false};
    int current = -1;
    const char *line = source;
    while (*line) {
        size_t len = strcspn(line, "\n");
        const char *next = line + len + (line[len] == '\n');
        if (len >= 4 && strncmp(line, "--- ", 4) == 0) {
            char *part = tag_name(line + 4, len - 4);
            current = strcmp(part, "text") == 0   ? 1
                      : strcmp(part, "html") == 0 ? 2
                      : strcmp(part, "sms") == 0  ? 3
                                                  : -2;
            if (current == -2) {
                *error_r = xasprintf("%s: unknown part --- %s", key, part);
                free(part);
                goto fail;
            }
            free(part);
            present[current] = true;
        } else if (current == -1) {
            if (len >= 8 && strncasecmp(line, "subject:", 8) == 0) {
                char *subject = tag_name(line + 8, len - 8);
                buf_adds(&parts[0], subject);
                free(subject);
                present[0] = true;
            } else if (len && line[0] != '#') {
                *error_r = xasprintf("%s: expected `subject:` or `--- text` before the body", key);
                goto fail;
            }
        } else {
            buf_add(&parts[current], line, (size_t)(next - line));
        }
        line = next;
    }
    if (!present[1]) {
        *error_r = xasprintf("%s: no --- text part", key);
        goto fail;
    }
    struct template **slots[4] = {&m->subject, &m->text, &m->html, &m->sms};
    for (int i = 0; i < 4; i++) {
        if (!present[i])
            continue;
        /* Parts end without the newline that precedes the next part marker. */
        while (parts[i].len && parts[i].data[parts[i].len - 1] == '\n')
            parts[i].data[--parts[i].len] = '\0';
        char *error = NULL;
        *slots[i] = template_compile(buf_str(&parts[i]), &error);
        if (!*slots[i]) {
            *error_r = xasprintf("%s: %s", key, error);
            free(error);
            goto fail;
        }
    }
    for (int i = 0; i < 4; i++)
        buf_release(&parts[i]);
    return m;
fail:
    for (int i = 0; i < 4; i++)
        buf_release(&parts[i]);
    template_free(&m->subject);
    template_free(&m->text);
    template_free(&m->html);
    template_free(&m->sms);
    free(m->key);
    free(m);
    return NULL;
}

static const struct message_template *find_message(const char *name, const char *locale,
                                                   char **error_r)
{
    char lang[3] = "";
    if (locale && strlen(locale) >= 2) {
        lang[0] = (char)tolower((unsigned char)locale[0]);
        lang[1] = (char)tolower((unsigned char)locale[1]);
        lang[2] = '\0';
    }
    const char *candidates[] = {lang, config_str("engine", "default_locale"), "en"};
    const struct message_template *found = NULL;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < ARRAY_SIZE(candidates) && !found; i++) {
        if (!*candidates[i])
            continue;
        char *key = xasprintf("%s/%s", candidates[i], name);
        for (struct message_template *m = cache; m && !found; m = m->next)
            if (strcmp(m->key, key) == 0)
                found = m;
        if (!found) {
            char *source = read_source(candidates[i], name);
            if (source) {
                struct message_template *m = compile_file(key, source, error_r);
                free(source);
                if (!m) {
                    free(key);
                    break;
                }
                m->next = cache;
                cache = m;
                found = m;
            }
        }
        free(key);
    }
    pthread_mutex_unlock(&cache_lock);
    if (!found && !*error_r)
        *error_r = xasprintf("no template %s for locale %s", name, locale ? locale : "(none)");
    return found;
}

static char *render_part(const struct template *t, const json_t *vars, bool html)
{
    struct buf out = BUF_INIT;
    if (t)
        template_render(t, vars, html, &out);
    return buf_detach(&out);
}

int template_message(const char *name, const char *locale, const json_t *vars,
                     struct rendered_message *out, char **error_r)
{
    memset(out, 0, sizeof(*out));
    *error_r = NULL;
    const struct message_template *m = find_message(name, locale, error_r);
    if (!m)
        return -1;
    out->subject = render_part(m->subject, vars, false);
    out->text = render_part(m->text, vars, false);
    out->html = m->html ? render_part(m->html, vars, true) : NULL;
    out->sms = render_part(m->sms ? m->sms : m->text, vars, false);
    return 0;
}

struct message_template *template_message_compile(const char *source, const char *name,
                                                  char **error_r)
{
    return compile_file(name, source, error_r);
}

void template_message_render(const struct message_template *m, const json_t *vars,
                             struct rendered_message *out)
{
    out->subject = render_part(m->subject, vars, false);
    out->text = render_part(m->text, vars, false);
    out->html = m->html ? render_part(m->html, vars, true) : NULL;
    out->sms = render_part(m->sms ? m->sms : m->text, vars, false);
}

char *template_message_missing(const struct message_template *m, const json_t *vars)
{
    struct buf all = BUF_INIT;
    const struct template *parts[] = {m->subject, m->text, m->html, m->sms};
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        if (!parts[i])
            continue;
        char *missing = template_missing(parts[i], vars);
        if (!missing)
            continue;
        /* One name per entry, each once across the parts. */
        for (char *save = NULL, *n = strtok_r(missing, ", ", &save); n;
             n = strtok_r(NULL, ", ", &save)) {
            bool seen = false;
            for (const char *p = buf_str(&all); (p = strstr(p, n)) != NULL; p += strlen(n))
                if ((p == buf_str(&all) || p[-1] == ' ') && (p[strlen(n)] == ',' || !p[strlen(n)]))
                    seen = true;
            if (seen)
                continue;
            if (all.len)
                buf_adds(&all, ", ");
            buf_adds(&all, n);
        }
        free(missing);
    }
    return all.len ? buf_detach(&all) : NULL;
}

void template_message_free(struct message_template **mp)
{
    struct message_template *m = *mp;
    if (!m)
        return;
    template_free(&m->subject);
    template_free(&m->text);
    template_free(&m->html);
    template_free(&m->sms);
    free(m->key);
    free(m);
    *mp = NULL;
}

void template_message_release(struct rendered_message *m)
{
    free(m->subject);
    free(m->text);
    free(m->html);
    free(m->sms);
    memset(m, 0, sizeof(*m));
}
