-- What reply_budget() (engine/decide/budget.c) weighs, gathered by one statement instead
-- of four, each lookup written so that its plan cannot go wrong.
--
-- A daemon keeps its statements prepared, and PostgreSQL settles on a generic plan after
-- five executions. On a new installation that is while the tables are still empty, when
-- every index costs the same: the "repeat" lookup then walked inbound_messages through
-- its (channel, provider, provider_id) key with only the channel to go on — every mail
-- of the channel, 3 to 4 ms a message after a few thousand — until autovacuum's ANALYZE
-- replaced the plan. Each lookup here is ordered the way its index is, with a LIMIT, so
-- that the index on (channel, sender|recipient, time DESC) is the cheapest plan whatever
-- the statistics say; the limits are far above any cap ([engine] replies_per_day is at
-- most 100,000).
--
-- allowed:    the recipient's consent lets ordinary messages through (consent_allows()).
-- kind_today: a reply of kind p_kind went to the recipient in the last 24 hours.
-- repeated:   p_text from this sender got the reply p_reply since the sender last wrote
--             anything else, within 24 hours (p_inbound_id, the message being answered,
--             aside).
-- last_hour, last_day: replies to inbound messages (the STOP confirmation aside) in the
--             last hour and day.
CREATE FUNCTION reply_budget_facts(p_channel text, p_recipient text, p_kind text, p_text text,
                                   p_reply text, p_inbound_id bigint,
                                   OUT allowed boolean, OUT kind_today boolean,
                                   OUT repeated boolean,
                                   OUT last_hour integer, OUT last_day integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    since     timestamptz := now() - interval '24 hours';
    other_id  bigint;
    other_at  timestamptz;
BEGIN
    allowed := consent_allows(p_channel, p_recipient, NULL);
    SELECT coalesce(bool_or(o.kind = p_kind), false),
           count(*) FILTER (WHERE o.inbound_id IS NOT NULL AND o.kind <> 'stop_confirmation'
                              AND o.created_at > now() - interval '1 hour'),
           count(*) FILTER (WHERE o.inbound_id IS NOT NULL AND o.kind <> 'stop_confirmation')
      INTO kind_today, last_hour, last_day
      FROM (SELECT m.kind, m.inbound_id, m.created_at FROM outbound_messages m
             WHERE m.channel = p_channel AND m.recipient = p_recipient AND m.created_at > since
             ORDER BY m.created_at DESC LIMIT 200000) o;

    -- The sender's last message of other words, before this one.
    SELECT j.id, j.received_at INTO other_id, other_at
      FROM inbound_messages j
     WHERE j.channel = p_channel AND j.sender = p_recipient AND j.received_at > since
       AND j.id < p_inbound_id AND j.body <> p_text
     ORDER BY j.received_at DESC, j.id DESC LIMIT 1;

    -- Since then, the same words answered with the same reply.
    repeated := EXISTS (
        SELECT 1
          FROM (SELECT i.id FROM inbound_messages i
                 WHERE i.channel = p_channel AND i.sender = p_recipient
                   AND i.received_at >= coalesce(other_at, since) AND i.received_at > since
                   AND i.id > coalesce(other_id, 0) AND i.id <> p_inbound_id AND i.body = p_text
                 ORDER BY i.received_at DESC LIMIT 1000) same
          JOIN outbound_messages o ON o.dedupe_key = 'reply:' || same.id
         WHERE o.body = p_reply AND o.month >= tocsin_month(since));
END;
$$;

-- A NOTIFY in a transaction serialises its commit with every other notifying commit,
-- fsync included: PostgreSQL holds one lock on the notification queue from the commit
-- to its end. Every inbound transaction that queued a reply notified, so signed webhooks
-- committed one at a time (a few hundred a second, whatever the connections). A daemon's
-- own inbound transactions now say that the daemon announces what they queued itself,
-- after the commit, once per 20 ms at most (outbound/presence.h): inbound_record() sets
-- tocsin.announced for the transaction, and the trigger leaves those to the daemon. Every
-- other writer (the CLI, the API, the scheduler, a mail applied in its reader's
-- transaction) notifies as before.
CREATE OR REPLACE FUNCTION outbound_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('tocsin.announced', true), '') <> 'on' THEN
        PERFORM pg_notify('tocsin_outbound', '');
    END IF;
    RETURN NULL;
END;
$$;

DROP FUNCTION inbound_record(text, text, text, text, text, text, text, text);
-- As in 0081, with p_announced: the daemon announces this transaction's outbound rows
-- after its commit (see above).
CREATE FUNCTION inbound_record(p_channel text, p_provider text, p_provider_id text,
                               p_sender text, p_recipient text, p_body text, p_raw text,
                               p_proof text, p_announced boolean,
                               OUT inbound_id bigint, OUT contact_id bigint,
                               OUT person_id bigint, OUT person_name text,
                               OUT person_locale text)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbound_messages (channel, provider, provider_id, sender, recipient, body, raw,
                                  proof)
    VALUES (p_channel, p_provider, p_provider_id, p_sender, p_recipient, p_body, p_raw, p_proof)
    ON CONFLICT (channel, provider, provider_id) DO NOTHING
    RETURNING id INTO inbound_id;
    IF inbound_id IS NULL THEN
        RETURN;
    END IF;
    IF p_announced THEN
        PERFORM set_config('tocsin.announced', 'on', true);
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(p_channel || ':' || p_sender, 0));
    SELECT c.id, c.person_id, p.name, p.locale
      INTO contact_id, person_id, person_name, person_locale
      FROM contacts c JOIN people p ON p.id = c.person_id
     WHERE c.kind = CASE p_channel WHEN 'sms' THEN 'phone' ELSE 'email' END
       AND c.address = p_sender;
END;
$$;
