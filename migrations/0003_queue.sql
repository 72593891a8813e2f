-- The outbound queue's working columns, its wake-up trigger and its shared rate limiter.

-- html: the HTML part of an email, sent as multipart/alternative beside `body`.
-- headers: extra header fields the enqueuer fixes ({"In-Reply-To": "<…>", "References": "…"}).
-- claimed_by: which worker holds the lease, so a worker whose lease expired and was taken
-- over cannot overwrite the new owner's result.
ALTER TABLE outbound_messages
    ADD COLUMN html text,
    ADD COLUMN headers jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN claimed_by text;

-- Any insert wakes the workers of every daemon at once (LISTEN tocsin_outbound); a
-- statement-level trigger sends one notification for a fan-out of a million rows.
CREATE FUNCTION outbound_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tocsin_outbound', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbound_wake AFTER INSERT ON outbound_messages
    FOR EACH STATEMENT EXECUTE FUNCTION outbound_notify();

-- One token bucket per transport, shared by every worker of every daemon. The bucket
-- holds at most one second of tokens (at least one), refilled continuously at `p_rate`.
CREATE TABLE transport_rate (
    transport   text PRIMARY KEY,
    tokens      double precision NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Take up to p_want tokens; returns how many were granted (0..p_want).
CREATE FUNCTION transport_take(p_transport text, p_rate double precision, p_want integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    burst     double precision := greatest(p_rate, 1);
    available double precision;
    granted   integer;
BEGIN
    INSERT INTO transport_rate (transport, tokens, updated_at)
    VALUES (p_transport, burst, clock_timestamp()) ON CONFLICT (transport) DO NOTHING;
    SELECT least(burst, tokens + p_rate * extract(epoch FROM clock_timestamp() - updated_at))
      INTO available FROM transport_rate WHERE transport = p_transport FOR UPDATE;
    granted := greatest(0, least(p_want, floor(available)))::integer;
    UPDATE transport_rate SET tokens = available - granted, updated_at = clock_timestamp()
     WHERE transport = p_transport;
    RETURN granted;
END;
$$;

-- Give back tokens taken but not used (fewer rows were due than granted).
CREATE FUNCTION transport_give(p_transport text, p_rate double precision, p_count integer)
RETURNS void LANGUAGE sql AS $$
    UPDATE transport_rate SET tokens = least(greatest(p_rate, 1), tokens + p_count)
     WHERE transport = p_transport;
$$;

CREATE INDEX outbound_claimed_idx ON outbound_messages (claimed_by) WHERE status = 'sending';

-- One header field of a stored RFC 5322 message (unfolded), or NULL: the queue reads the
-- Message-ID and References of the message a reply answers from inbound_messages.raw.
CREATE FUNCTION mail_header(p_raw text, p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT nullif(btrim(substring(
        regexp_replace(split_part(replace(left(p_raw, 262144), E'\r', ''), E'\n\n', 1),
                       E'\n[ \t]+', ' ', 'g')
        FROM '(?in)^' || p_name || ':[ \t]*([^\n]*)')), '')
$$;
