/*
 * unsubscribe — GET and POST /u/TOKEN, the links of List-Unsubscribe.
 *
 * TOKEN is token_make("unsub", contact id): a forged or altered one is refused with 403
 * before any database lookup. GET shows a page with a button and never changes anything
 * (mail scanners and link previews fetch every URL). POST — the RFC 8058 one-click body
 * "List-Unsubscribe=One-Click" sent by mailbox providers, or the page's button — appends
 * an opt_out (scope: every team, source 'one_click', evidence: how it came) to the
 * consent ledger unless the contact is already opted out, and answers 200 either way.
 * Database unreachable: 503. The page is in the person's language (people.locale; a link
 * that is not valid: the browser's Accept-Language, else [engine] default_locale) and
 * names the organisation ([engine] organisation, organisation_contact) when one is set.
 */
#ifndef TOCSIN_UNSUBSCRIBE_H
#define TOCSIN_UNSUBSCRIBE_H

struct http_request;

void unsubscribe_handle(struct http_request *req);

#endif
