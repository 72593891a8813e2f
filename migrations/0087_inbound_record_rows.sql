-- inbound_record() (migrations 0081, 0082) for the messages of a group at once (the SMS
-- backlog applies up to 50 texts in one transaction: decide/process.h, inbound groups).
--
-- inbound_record() ran once per text: a PL/pgSQL call of four statements, the INSERT into
-- inbound_messages alone 50-85 us for one row. Here one INSERT records every message of the
-- group under its natural key (a replay already recorded is skipped, as ON CONFLICT DO NOTHING
-- did), then each new message's sender is locked, in the order of the lock keys (two groups
-- that share senders take them in the same order: neither waits on the other in a circle),
-- and the senders are looked up, one statement each for all.
--
-- p_rows: a JSON array of [channel, provider, provider_id, sender, recipient, body, raw,
-- proof], each sender at most once. One row out per message recorded now, with its place in
-- p_rows (ord, from 1) and what inbound_record() returns; a message recorded before is not
-- returned (the caller reads it as a replay).
CREATE FUNCTION inbound_record_rows(p_rows jsonb)
RETURNS TABLE (ord bigint, inbound_id bigint, contact_id bigint, person_id bigint,
               person_name text, person_locale text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    ids       bigint[];
    keys      text[];
    lock_keys bigint[];
    lock_key  bigint;
BEGIN
    -- What the statements after this one need comes from RETURNING, not from reading
    -- inbound_messages again: a plan cached while the table was nearly empty would read it
    -- whole (150 ms a call at 40,000 rows, measured).
    WITH fresh AS (
        INSERT INTO inbound_messages (channel, provider, provider_id, sender, recipient, body,
                                      raw, proof)
        SELECT g.e->>0, g.e->>1, g.e->>2, g.e->>3, g.e->>4, g.e->>5, g.e->>6, g.e->>7
          FROM group_rows(p_rows) WITH ORDINALITY AS g(e, n)
         ORDER BY g.n
        ON CONFLICT (channel, provider, provider_id) DO NOTHING
        RETURNING id, channel, provider, provider_id, sender)
    SELECT array_agg(f.id), array_agg(f.channel || ' ' || f.provider || ' ' || f.provider_id),
           array_agg(hashtextextended(f.channel || ':' || f.sender, 0))
      INTO ids, keys, lock_keys
      FROM fresh f;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    FOR lock_key IN SELECT DISTINCT k FROM unnest(lock_keys) AS k ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(lock_key);
    END LOOP;
    RETURN QUERY
    SELECT g.n, f.id, s.contact_id, s.person_id, s.name, s.locale
      FROM unnest(ids, keys) AS f(id, natural_key)
      JOIN group_rows(p_rows) WITH ORDINALITY AS g(e, n)
        ON (g.e->>0) || ' ' || (g.e->>1) || ' ' || (g.e->>2) = f.natural_key
      LEFT JOIN LATERAL (
            SELECT c.id AS contact_id, c.person_id, p.name, p.locale
              FROM contacts c JOIN people p ON p.id = c.person_id
             WHERE c.kind = CASE g.e->>0 WHEN 'sms' THEN 'phone' ELSE 'email' END
               AND c.address = g.e->>3) s ON true
     ORDER BY g.n;
END;
$$;
