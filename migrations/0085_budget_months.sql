-- reply_budget_facts() (migration 0082) with a cost that does not grow with the months kept.
--
-- Its "repeat" lookup bounds outbound_messages by month (o.month >= tocsin_month(since)).
-- Given the parameter's value, the planner prunes the other months at plan time, so a
-- plan made for each call is always estimated cheaper than the cached generic one, and
-- PostgreSQL re-planned that statement on every call. Planning a statement over a
-- partitioned table costs per partition: with the three months ahead and a year kept
-- (16 partitions), 700-880 us a call instead of 130-170 (bench/run-imap, BENCH_MONTHS=12).
-- The function now always keeps the generic plan; the month bounds still remove the other
-- months when the plan starts (run-time pruning), so their indexes are not even opened.
--
-- Both lookups of outbound_messages are now bounded to the months from yesterday's to
-- this one: neither the older months nor the three made ahead are searched. A reply's
-- month is the month it was queued (the column's default): that of its created_at, never
-- later than now. Only a campaign's rows may sit in an earlier month, and none of them
-- answers an inbound message or has a reply's kind.
CREATE OR REPLACE FUNCTION reply_budget_facts(p_channel text, p_recipient text, p_kind text, p_text text,
                                   p_reply text, p_inbound_id bigint,
                                   OUT allowed boolean, OUT kind_today boolean,
                                   OUT repeated boolean,
                                   OUT last_hour integer, OUT last_day integer)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
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
               AND m.month BETWEEN tocsin_month(since) AND tocsin_month(now())
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
         WHERE o.body = p_reply AND o.month BETWEEN tocsin_month(since) AND tocsin_month(now()));
END;
$$;
