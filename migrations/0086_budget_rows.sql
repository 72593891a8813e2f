-- The reply budget's facts for many replies in one statement (decide/budget.h).
--
-- reply_budget_facts() (migrations 0082, 0085) ran four statements for each reply: a
-- PL/pgSQL call whose statements took about 40 us of PostgreSQL's time, and the starting and
-- ending of each of them, over the partitions of outbound_messages, about 100 us more. A
-- group of inbound messages applied in one transaction (the IMAP reader, the SMS backlog)
-- now asks for the facts of all its replies at once: one statement started once, each
-- reply's lookups an index descent in it. One message alone asks for one row.
--
-- p_rows: a JSON array of [channel, recipient, kind, text, reply, inbound_id], one sender at
-- most once (a group writes a sender's replies before that sender's next message is read).
-- One row out per row in, in order, with the facts reply_budget_facts() gave:
--   allowed     the recipient's consent (consent_allows())
--   kind_today  a reply of this kind to this recipient in the last 24 hours
--   repeated    the same words answered with the same reply since the sender last wrote
--               anything else, within 24 hours
--   last_hour, last_day  the replies to inbound messages this recipient got, the STOP
--               confirmation aside
-- The lookups of outbound_messages are bounded to the months from yesterday's to this one,
-- as in 0085: a reply's month is the month it was queued.
CREATE FUNCTION reply_budget_facts_rows(p_rows jsonb)
RETURNS TABLE (ord bigint, allowed boolean, kind_today boolean, repeated boolean,
               last_hour integer, last_day integer)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT g.ord, consent_allows(g.e->>0, g.e->>1, NULL), sent.kind_today, same.found,
           sent.last_hour::integer, sent.last_day::integer
      FROM group_rows(p_rows) WITH ORDINALITY AS g(e, ord)
     CROSS JOIN LATERAL (
            SELECT coalesce(bool_or(o.kind = g.e->>2), false) AS kind_today,
                   count(*) FILTER (WHERE o.inbound_id IS NOT NULL AND o.kind <> 'stop_confirmation'
                                      AND o.created_at > now() - interval '1 hour') AS last_hour,
                   count(*) FILTER (WHERE o.inbound_id IS NOT NULL
                                      AND o.kind <> 'stop_confirmation') AS last_day
              FROM (SELECT m.kind, m.inbound_id, m.created_at FROM outbound_messages m
                     WHERE m.channel = g.e->>0 AND m.recipient = g.e->>1
                       AND m.created_at > now() - interval '24 hours'
                       AND m.month BETWEEN tocsin_month(now() - interval '24 hours')
                                       AND tocsin_month(now())
                     ORDER BY m.created_at DESC LIMIT 200000) o) sent
      -- The sender's last message of other words, before this one.
      LEFT JOIN LATERAL (
            SELECT j.id, j.received_at FROM inbound_messages j
             WHERE j.channel = g.e->>0 AND j.sender = g.e->>1
               AND j.received_at > now() - interval '24 hours'
               AND j.id < (g.e->>5)::bigint AND j.body <> g.e->>3
             ORDER BY j.received_at DESC, j.id DESC LIMIT 1) other ON true
      -- Since then, the same words answered with the same reply.
     CROSS JOIN LATERAL (
            SELECT EXISTS (
                SELECT 1
                  FROM (SELECT i.id FROM inbound_messages i
                         WHERE i.channel = g.e->>0 AND i.sender = g.e->>1
                           AND i.received_at >= coalesce(other.received_at,
                                                         now() - interval '24 hours')
                           AND i.received_at > now() - interval '24 hours'
                           AND i.id > coalesce(other.id, 0) AND i.id <> (g.e->>5)::bigint
                           AND i.body = g.e->>3
                         ORDER BY i.received_at DESC LIMIT 1000) earlier
                  JOIN outbound_messages o ON o.dedupe_key = 'reply:' || earlier.id
                 WHERE o.body = g.e->>4
                   AND o.month BETWEEN tocsin_month(now() - interval '24 hours')
                                   AND tocsin_month(now())) AS found) same
     ORDER BY g.ord;
END;
$$;

-- reply_budget_facts() stays: daemons of the previous version call it until they are
-- restarted (docs/operations.md, Upgrading). This version does not.
