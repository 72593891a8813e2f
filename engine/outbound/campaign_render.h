/*
 * campaign_render — what a message says to one person: their variables, a campaign's
 * template rendered for them, event times in their words.
 *
 * campaign_render() is the queue workers' hook: for a claimed outbound_messages row whose
 * campaign_id is set (the fan-out leaves subject and body empty), it fills `out` (caller
 * releases with template_message_release()) with the campaign's template rendered for
 * that row's person, contact and scope. The compiled template is cached per campaign for
 * the life of the process (a campaign's template never changes once created), so a worker
 * parses it once, whatever the number of recipients. An invitation's messages also see
 * `event`, its `when` in the reader's language. The sms part ends with the opt-out
 * mention of the person's language when the text has none (gsm.h). Thread-safe. Returns 0, or -1
 * with *error_r (caller frees): db_transient(db) then means "try the row again later".
 *
 * campaign_person_vars() builds the variables every message has: name, first_name, email,
 * phone, locale, unsubscribe_url ([http] public_url + /u/ + token "unsub" of the contact;
 * "" without a contact), help_keyword, stop_keyword, and team {slug, name} when `scope` is
 * a team. *vars_r is a new reference the caller json_decref()s. 0 or -1 with *error_r.
 *
 * campaign_format_time() writes "jeudi 14 mars à 18h30" / "Thursday 14 March at 18:30"
 * from the fields of to_char(ts AT TIME ZONE tz, 'YYYY MM DD HH24 MI ID'); caller frees.
 */
#ifndef TOCSIN_CAMPAIGN_RENDER_H
#define TOCSIN_CAMPAIGN_RENDER_H

#include "lib/db.h"
#include "core/template.h"

#include <jansson.h>
#include <stdint.h>

int campaign_render(struct db *db, int64_t outbound_id, struct rendered_message *out,
                    char **error_r);

/* The same for a person who has no outbound row yet (`campaign preview`, benchmarks). */
int campaign_render_for(struct db *db, int64_t campaign_id, int64_t person_id, int64_t contact_id,
                        int64_t scope, struct rendered_message *out, char **error_r);

int campaign_person_vars(struct db *db, int64_t person_id, int64_t contact_id, int64_t scope,
                         json_t **vars_r, char **error_r);

/* The variables an organiser may use in a campaign template, with example values; an
 * invitation (campaigns.event_id) also has `event` {id, slug, title, when, location}:
 * campaign_sample_event_vars(). */
json_t *campaign_sample_vars(void);
json_t *campaign_sample_event_vars(void);

char *campaign_format_time(const char *to_char_fields, const char *locale);

#endif
