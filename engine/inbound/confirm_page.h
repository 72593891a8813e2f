/*
 * confirm_page — GET|POST /c/TOKEN, the one-click double opt-in link (decide/confirm.h
 * says what confirming does). A GET only shows a button, since link scanners and mail
 * previews fetch links; the POST confirms, in one transaction. A forged token: 403 and
 * nothing written. Database down: 503.
 */
#ifndef TOCSIN_CONFIRM_PAGE_H
#define TOCSIN_CONFIRM_PAGE_H

#include "core/http.h"

void confirm_handle(struct http_request *req);

#endif
