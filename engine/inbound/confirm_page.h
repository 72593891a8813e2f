/*
 * confirm_page — GET|POST /c/TOKEN, the one-click link of a confirmation request
 * (decide/request.h says what confirming does: join one team, or receive messages again).
 * TOKEN is token_make("request", id): it names one request, works once and for 7 days. A
 * GET only shows what would be confirmed and a button, since link scanners and mail
 * previews fetch links; the POST confirms, in one transaction. A forged token: 403 and
 * nothing written; a used or expired one: 410 and nothing written. Database down: 503.
 */
#ifndef TOCSIN_CONFIRM_PAGE_H
#define TOCSIN_CONFIRM_PAGE_H

#include "core/http.h"

void confirm_handle(struct http_request *req);

#endif
