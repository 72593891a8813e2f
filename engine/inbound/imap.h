/*
 * imap — the IMAP reader, a duty of `tocsin run` (the only module using libetpan's IMAP).
 *
 * One thread per daemon follows [imap] mailbox on [imap] host when a host is configured.
 * Only one reader per mailbox across all daemons: the thread holds a PostgreSQL advisory
 * lock on a dedicated connection and waits (retrying every few seconds) while another
 * daemon holds it. It connects with implicit TLS, STARTTLS or none ([imap] tls), verifies
 * the certificate chain and host name unless [imap] tls_verify = off, logs in (LOGIN, else
 * AUTHENTICATE PLAIN), and reads every message above the mailbox's high-water mark
 * (imap_mailboxes) in UID order, in batches of 200: RFC822.SIZE first (larger than [imap]
 * max_size: skipped with a log line, never fetched), then BODY.PEEK[], parsed here
 * (mail_parse()) and applied by [imap] connections threads on their own connections
 * (imap_apply.h) — while they apply a batch, this thread fetches and parses the next.
 * Once a batch is applied the mark moves past it (each mail's natural key and Message-ID
 * make a replay after a crash harmless), and only then are its messages flagged \Seen or
 * moved to [imap] done_mailbox. A changed UIDVALIDITY restarts the mark at 0 and relies
 * on Message-ID dedupe. Between batches it waits in IDLE when the server has it,
 * else polls every [imap] poll_interval; any error closes the session and reconnects with
 * exponential backoff (1 s doubling to 60 s). imap_stop() returns once the thread ended.
 */
#ifndef TOCSIN_IMAP_H
#define TOCSIN_IMAP_H

int imap_start(char **error_r);
void imap_stop(void);

#endif
