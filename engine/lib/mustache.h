/*
 * mustache — the mustache subset of DESIGN.md, compiled once and rendered many times.
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
 */
#ifndef TOCSIN_MUSTACHE_H
#define TOCSIN_MUSTACHE_H

#include "lib/buf.h"

#include <jansson.h>
#include <stdbool.h>

struct template;

struct template *template_compile(const char *text, char **error_r);
void template_free(struct template **t);
void template_render(const struct template *t, const json_t *vars, bool html, struct buf *out);
char *template_missing(const struct template *t, const json_t *vars);

#endif
