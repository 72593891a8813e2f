/*
 * log — one line per event on stderr: `ts=… level=… event=NAME key=value …`.
 *
 * log_set_level() takes "debug", "info", "warn" or "error" (from [engine] log_level).
 * The format after the event name is printf-style and must produce key=value pairs.
 * Any value that comes from outside (a sender, a body, an error from a server) goes
 * through log_q(), which quotes and escapes it and cuts it at 200 bytes; log_q() returns
 * one of a few per-thread slots, valid until the same thread calls it 8 more times.
 * Secrets (passwords, tokens, the engine secret) are never logged: besides not passing them,
 * every secret the configuration holds is registered with log_secret(), and any line that
 * would still contain one (a URL echoed in an error, a request target) has it replaced by
 * "[redacted]". log_redacted() applies the same to any text (what webhooks store as raw).
 */
#ifndef TOCSIN_LOG_H
#define TOCSIN_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

int log_set_level(const char *name);
int log_enabled(enum log_level level);
void log_write(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *log_q(const char *value);
/* Register a secret to be redacted from every later line (copied; ones under 6 bytes are
 * too common to redact and are ignored). Thread-safe. */
void log_secret(const char *secret);
/* A copy of `text` with every registered secret replaced by "[redacted]"; caller frees. */
char *log_redacted(const char *text);

#define log_debug(ev, ...) log_write(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)  log_write(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_write(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_write(LOG_ERROR, ev, __VA_ARGS__)

#endif
