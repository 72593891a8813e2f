/*
 * message — one inbound message as an adapter hands it over: the fields every adapter
 * fills, whatever the channel. A header of its own so that handlers (which read it) and
 * inbound_process() (which calls them) share it without including each other.
 * The adapter owns the struct and every string in it.
 */
#ifndef TOCSIN_MESSAGE_H
#define TOCSIN_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

struct inbound_message {
    const char *channel;     /* "sms" or "email" */
    const char *provider;    /* "twilio", "vonage", "kannel", "generic", "cli", "imap", "inject" */
    const char *provider_id; /* MessageSid, messageId, Kannel id, "UIDVALIDITY:UID", Message-ID */
    const char *sender;      /* E.164 phone or lower-case email address */
    const char *sender_name; /* mail: the From display name, unverified; NULL if none. It
                                only names a person the message creates. */
    const char *recipient;   /* our number or address */
    const char *body;        /* the text to read commands from (for mail: the new words only) */
    const char *raw;         /* the whole original, stored for evidence (may be NULL) */
    const char *subject;     /* mail only, may be NULL: read when the body has no command */
    int64_t reply_to_id;     /* outbound_messages.id this answers (mail token), or 0 */
    bool automatic; /* an auto-reply or list mail: record it, run nothing, answer nothing */
    const char *locale_hint; /* e.g. from Content-Language, may be NULL */
    /* What proves the sender owns `sender`, or NULL: nothing does (a mail's From: alone).
     * "signed_webhook" (the gateway signed it), "operator" (tocsin sms-inject),
     * "reply_token" or "dmarc" (inbound/mail_proof.h). Granting and restoring commands act
     * only with proof; without it they ask the address to confirm (decide/request.h). */
    const char *proof;
    /* Many messages in the caller's transaction (decide/process.h): their closing writes
     * are kept there, written by inbound_group_flush(). NULL: written at once. */
    struct inbound_group *group;
};

#endif
