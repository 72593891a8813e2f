/*
 * template — message templates: the files that say what tocsin writes to people, in the
 * mustache syntax of lib/mustache.h.
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
 *
 * Every message, named or compiled, also sees `organisation` ({name, contact}: [engine]
 * organisation and organisation_contact, "" when unset) unless its variables set it:
 * HELP answers, campaigns and pages say who is writing. template_organisation() is that
 * object (a new reference).
 */
#ifndef TOCSIN_TEMPLATE_H
#define TOCSIN_TEMPLATE_H

#include "lib/mustache.h"

#include <jansson.h>
#include <stdbool.h>

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

json_t *template_organisation(void);

/* What a message file says before it is compiled: the text of its `subject:` line, and
 * the first non-empty line of its text part, cut to `max_chars` characters (a campaign's
 * title): a longer line is cut at a space when one is in its second half, and ends with
 * "…". Caller frees; NULL when there is none. */
char *template_source_subject(const char *source);
char *template_source_first_line(const char *source, size_t max_chars);

#endif
