-- The first step of inbound_process() (engine/decide/process.c) in one statement: record
-- the message under its natural key and, when it is new, take the sender's lock and find
-- who the sender is. Three round trips become one on every inbound text and mail.
--
-- inbound_id is NULL for a replay of a natural key already recorded: then no lock is
-- taken and nothing is written. The lock serialises one sender's messages (STOP then YES
-- a second apart are applied in that order; the hourly limits cannot be raced); the
-- contact is read after it, each statement of a PL/pgSQL function taking a new snapshot,
-- so a contact committed by the sender's previous message is seen.
CREATE FUNCTION inbound_record(p_channel text, p_provider text, p_provider_id text,
                               p_sender text, p_recipient text, p_body text, p_raw text,
                               p_proof text,
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
    PERFORM pg_advisory_xact_lock(hashtextextended(p_channel || ':' || p_sender, 0));
    SELECT c.id, c.person_id, p.name, p.locale
      INTO contact_id, person_id, person_name, person_locale
      FROM contacts c JOIN people p ON p.id = c.person_id
     WHERE c.kind = CASE p_channel WHEN 'sms' THEN 'phone' ELSE 'email' END
       AND c.address = p_sender;
END;
$$;
