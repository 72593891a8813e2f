#include "lib/mustache.h"
#include "lib/util.h"

#include <ctype.h>
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

/* A section or comment tag alone on its line leaves no blank line behind: when the tag
 * from *open_r to *after_r has only blanks around it on its line, the text before it ends
 * at the start of the line and parsing goes on after the line's end. */
static void trim_standalone(const char *start, const char **open_r, const char **after_r)
{
    const char *line_start = *open_r;
    while (line_start > start && (line_start[-1] == ' ' || line_start[-1] == '\t'))
        line_start--;
    const char *rest = *after_r;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if ((line_start == start || line_start[-1] == '\n') && (*rest == '\n' || !*rest)) {
        *open_r = line_start;
        *after_r = *rest == '\n' ? rest + 1 : rest;
    }
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
        const char *text_end = open;
        if (!triple && sigil && strchr("#^/!", sigil))
            trim_standalone(start, &text_end, &after);
        if (text_end > p)
            add_child(parent, NODE_TEXT, p, (size_t)(text_end - p));
        p = after;
        char *name = xstrndup_trim(inner, (size_t)(end - inner));
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
