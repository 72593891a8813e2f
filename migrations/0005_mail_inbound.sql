-- Email inbound (issue 5): IMAP progress, Message-ID dedupe, bounce scores.

-- One row per mailbox the IMAP reader follows: the UIDVALIDITY it saw and the highest UID
-- whose effect is committed. Updated in the same transaction as each message's effect, so
-- a crash never loses or repeats a mail. `mailbox` is "user@host:port/MAILBOX".
CREATE TABLE imap_mailboxes (
    mailbox      text PRIMARY KEY,
    uidvalidity  bigint NOT NULL,
    last_uid     bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Every mail applied, by Message-ID (or "sha256:" of the raw message when it has none).
-- This is what stops old mail from being applied again when a server renumbers a mailbox
-- (new UIDVALIDITY), or when the same mail arrives by IMAP and by `tocsin inject`.
CREATE TABLE mail_message_ids (
    message_id   text PRIMARY KEY,
    inbound_key  text NOT NULL,
    outcome      text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- Soft-bounce score per email contact, as Mailman keeps one: one point per day with a
-- soft bounce, reset after a week without; reaching the threshold suppresses the address.
CREATE TABLE bounce_scores (
    contact_id     bigint PRIMARY KEY REFERENCES contacts(id),
    score          integer NOT NULL,
    last_bounce_on date NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
