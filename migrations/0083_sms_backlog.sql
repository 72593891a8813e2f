-- Texts a daemon took from an SMS gateway while busy: stored durably, answered at once,
-- applied moments later by inbound/sms_backlog.c, which writes this table (`people forget`
-- deletes a forgotten person's rows; upkeep, rows older than [engine] keep_messages). A row
-- lives from the webhook's answer until the commit that applies it (or that records why
-- it could not be, in attempts/last_error); a daemon that dies leaves its rows to the
-- next daemon's applier. One sender's texts are applied in the order they arrived: a row
-- waits while an older row of the same sender is still here (and not given up).
CREATE TABLE sms_backlog (
    id          bigserial PRIMARY KEY,
    provider    text NOT NULL,
    provider_id text NOT NULL,
    sender      text NOT NULL,
    recipient   text NOT NULL,
    body        text NOT NULL,
    raw         text,
    proof       text,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0,
    not_before  timestamptz NOT NULL DEFAULT '-infinity',
    last_error  text,
    UNIQUE (provider, provider_id)
);
CREATE INDEX sms_backlog_sender_idx ON sms_backlog (sender, id);
