-- Throughput (issue 17): functions called once per message or per claim, planned once per
-- session instead of once per call, and the SMS cost trigger without its loop; a gateway's
-- "slow down" shared by every daemon; a rate limiter that hands out useful batches.

-- consent_allows() and tocsin_now() were plain SQL with a sub-select, which the planner
-- cannot inline: PostgreSQL then plans the body again at every call (0.7 ms for
-- consent_allows, ten times the query it wraps), once per inbound command and once per
-- row of every claim. In PL/pgSQL the plan is prepared once per connection. Same bodies,
-- same results.
CREATE OR REPLACE FUNCTION consent_allows(p_channel text, p_address text, p_scope bigint)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce((
        SELECT k.action = 'opt_in'
        FROM contacts c JOIN consent k ON k.contact_id = c.id
        WHERE c.kind = CASE p_channel WHEN 'sms' THEN 'phone' ELSE 'email' END
          AND c.address = p_address
          AND k.channel = p_channel
          AND (k.scope IS NULL OR k.scope = p_scope)
        ORDER BY k.id DESC LIMIT 1), true);
END;
$$;

CREATE OR REPLACE FUNCTION tocsin_now() RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN now() + coalesce((SELECT value::interval FROM settings
                             WHERE name = 'test_clock_offset'), interval '0');
END;
$$;

-- sms_cost() (0004) computes every SMS row's encoding and segments from a trigger, once
-- per enqueued text; its loop over the characters cost 0.5 ms for a 120-character reply,
-- the most expensive part of a webhook's transaction. Two regular expressions give the
-- encoding and the units; the loop remains only for a text longer than one SMS, whose
-- segment boundaries must not split an escape pair. Same results (checked against the
-- loop on 3,000 random texts, one segment or several, GSM-7 or UCS-2), about ten times
-- faster. The first class is the GSM 03.38 basic and extension alphabets, the second the
-- extension alone (two septets each), the third UTF-16 surrogate pairs (two units each).
CREATE OR REPLACE FUNCTION sms_cost(p_text text, OUT encoding text, OUT units integer, OUT segments integer)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    extension constant text := E'^{}\\[]~|€\f';
    c text;
    cost integer;
    per_segment integer;
    used integer := 0;
    gsm boolean;
    n integer := length(p_text);
BEGIN
    gsm := p_text ~ '^[]@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&''()*+,./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà^{}\\[~|€\f-]*$';
    encoding := CASE WHEN gsm THEN 'gsm7' ELSE 'ucs2' END;
    units := CASE WHEN gsm THEN n + regexp_count(p_text, '[]^{}\\[~|€\f]')
                  ELSE n + regexp_count(p_text, '[\U00010000-\U0010FFFF]') END;
    IF units <= (CASE WHEN gsm THEN 160 ELSE 70 END) THEN
        segments := 1;
        RETURN;
    END IF;
    per_segment := CASE WHEN gsm THEN 153 ELSE 67 END;
    segments := 1;
    FOR i IN 1 .. n LOOP
        c := substr(p_text, i, 1);
        IF gsm THEN
            cost := CASE WHEN strpos(extension, c) > 0 THEN 2 ELSE 1 END;
        ELSE
            cost := CASE WHEN ascii(c) > 65535 THEN 2 ELSE 1 END;
        END IF;
        IF used + cost > per_segment THEN
            segments := segments + 1;
            used := 0;
        END IF;
        used := used + cost;
    END LOOP;
END;
$$;

-- Until when a transport's gateway asked every daemon to wait (HTTP 429, a 503 with
-- Retry-After, a provider's "throttled"): the queue claims nothing for it before then.
ALTER TABLE transport_rate ADD COLUMN paused_until timestamptz;

-- Record a gateway's request to wait p_seconds; a longer pause already recorded stands.
CREATE FUNCTION transport_pause(p_transport text, p_seconds integer)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO transport_rate AS r (transport, tokens, updated_at, paused_until)
    VALUES (p_transport, 0, clock_timestamp(),
            clock_timestamp() + make_interval(secs => greatest(p_seconds, 0)))
    ON CONFLICT (transport) DO UPDATE
        SET paused_until = greatest(r.paused_until, excluded.paused_until);
$$;

-- Before a claim: how many messages a worker may claim for p_transport now (0..p_want),
-- and when the grant is 0, in how many milliseconds to ask again. While a pause is in
-- force nothing is granted. With a rate (messages per second, shared by every daemon; 0 =
-- unlimited) tokens come from the transport's bucket, which holds at most one second of
-- them, but only once at least p_min are there (fewer if p_want is smaller): workers
-- waiting on a slow rate then claim a useful batch every p_min / p_rate seconds instead
-- of one row each on every poll. It replaces transport_take(), which granted whatever
-- was there and left the caller to guess when to ask again.
CREATE FUNCTION transport_acquire(p_transport text, p_rate double precision, p_want integer,
                                  p_min integer, OUT granted integer, OUT wait_ms integer)
LANGUAGE plpgsql AS $$
DECLARE
    burst     double precision := greatest(p_rate, 1);
    need      integer := greatest(least(p_want, p_min), 1);
    available double precision;
    paused    timestamptz;
BEGIN
    granted := 0;
    wait_ms := 0;
    IF p_rate <= 0 THEN
        SELECT paused_until INTO paused FROM transport_rate WHERE transport = p_transport;
        IF paused > clock_timestamp() THEN
            wait_ms := ceil(extract(epoch FROM paused - clock_timestamp()) * 1000);
        ELSE
            granted := p_want;
        END IF;
        RETURN;
    END IF;
    INSERT INTO transport_rate (transport, tokens, updated_at)
    VALUES (p_transport, burst, clock_timestamp()) ON CONFLICT (transport) DO NOTHING;
    SELECT least(burst, tokens + p_rate * extract(epoch FROM clock_timestamp() - updated_at)),
           paused_until
      INTO available, paused
      FROM transport_rate WHERE transport = p_transport FOR UPDATE;
    IF paused > clock_timestamp() THEN
        wait_ms := ceil(extract(epoch FROM paused - clock_timestamp()) * 1000);
    ELSIF available < need THEN
        wait_ms := ceil((need - available) / p_rate * 1000);
    ELSE
        granted := least(p_want, floor(available))::integer;
        UPDATE transport_rate SET tokens = available - granted, updated_at = clock_timestamp()
         WHERE transport = p_transport;
    END IF;
END;
$$;

DROP FUNCTION transport_take(text, double precision, integer);
