/*
 * template — the mustache subset of DESIGN.md, compiled once and rendered many times.
 *
 * Syntax: {{name}} (HTML-escaped when rendering HTML), {{{name}}} and {{& name}} raw,
 * {{#x}}…{{/x}} (a list repeats for each item; a true/non-empty value shows once with x
 * in scope), {{^x}}…{{/x}} (shown when x is missing, false, "" or an empty list),
 * {{! comment}}, dotted names (event.title). Variables are a jansson object; names are
 * looked up from the innermost section outwards. Missing variables render empty.
 *
 * template_compile() returns a template the caller frees with template_free(), or NULL
 * with *error_r ("line N: unclosed section x"). template_render() appends to `out`.
 * template_missing() lists (comma-separated, caller frees) variables a template uses
 * that `vars` lacks, for organisers' warnings; NULL when none.
 *
 * Message templates are files templates/<locale>/<name>.tmpl (built in) or
 * [engine] templates_dir/<locale>/<name>.tmpl (override):
 *     subject: Subject line with {{vars}}
 *     --- text
 *     plain-text body
 *     --- html        (optional)
 *     <p>HTML body</p>
 *     --- sms         (optional; the text part is used for SMS when absent)
 *     short text
 * template_message() renders every part for a locale (falling back to
 * [engine] default_locale, then "en"); the result's strings are owned by the caller
 * (template_message_release()). Compiled templates are cached for the process.
 *
 * A message file that is not one of the named templates (a campaign's template, stored in
 * the database) is compiled with template_message_compile() (NULL and *error_r on a syntax
 * error; `name` only labels errors), rendered any number of times with
 * template_message_render() and freed with template_message_free().
 * template_message_missing() is template_missing() over every part.
 */
#ifndef TOCSIN_TEMPLATE_H
#define TOCSIN_TEMPLATE_H

#include "buf.h"

#include <jansson.h>
#include <stdbool.h>

struct template;

struct template *template_compile(const char *text, char **error_r);
void template_free(struct template **t);
void template_render(const struct template *t, const json_t *vars, bool html, struct buf *out);
char *template_missing(const struct template *t, const json_t *vars);

struct rendered_message {
    char *subject; /* "" when the file has none */
    char *text;
    char *html; /* NULL when the file has no html part */
    char *sms;  /* the sms part, else the text part */
};

int template_message(const char *name, const char *locale, const json_t *vars,
                     struct rendered_message *out, char **error_r);
void template_message_release(struct rendered_message *m);

struct message_template;
struct message_template *template_message_compile(const char *source, const char *name,
                                                  char **error_r);
void template_message_render(const struct message_template *m, const json_t *vars,
                             struct rendered_message *out);
char *template_message_missing(const struct message_template *m, const json_t *vars);
void template_message_free(struct message_template **m);

#endif
