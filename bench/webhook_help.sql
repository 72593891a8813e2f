-- The anchor of bench/run-webhooks: the statements tocsin runs for a signed Twilio text
-- "HELP" from a number it does not know (engine/decide/process.c, handlers/unknown.c, the
-- queue's enqueue), each sent as its own round trip by pgbench, in the same order, with
-- the same parameters. run-webhooks counts the statements of a real webhook's transaction
-- and prints that count beside this script's, so the two cannot drift apart unnoticed.
\set n random(1, 1000000000)
BEGIN;
SELECT inbound_id, contact_id, person_id, person_name, person_locale FROM inbound_record('sms', 'twilio', 'SMpg' || :client_id || '-' || :n, '+336' || (10000000 + :n % 89999999), '+33700000000', 'HELP', 'ToCountry=FR&Body=HELP&MessageSid=SMbench&From=%2B33611111111&To=%2B33700000000&NumSegments=1', NULL::text, true) \gset
SELECT 1 FROM outbound_messages WHERE channel = 'sms' AND recipient = '+336' || (10000000 + :n % 89999999) AND kind = 'unknown' AND created_at > now() - interval '1 hour' ORDER BY created_at DESC LIMIT 1;
SELECT allowed, kind_today, repeated, last_hour, last_day FROM reply_budget_facts_rows(jsonb_build_array(jsonb_build_array('sms'::text, '+336' || (10000000 + :n % 89999999), 'unknown'::text, 'HELP'::text, 'Commands: EVENTS, WHERE <event>, JOIN <team>, LEAVE <team>, CANCEL <event>, RSVP <event> YES/NO +N. Reply STOP to stop.'::text, :inbound_id::bigint))) ORDER BY ord;
WITH ins AS ( INSERT INTO outbound_messages (channel, recipient, subject, body, kind, dedupe_key, context, person_id, contact_id, inbound_id, campaign_id, scope, html, headers, next_attempt_at) SELECT 'sms', '+336' || (10000000 + :n % 89999999), '', 'Commands: EVENTS, WHERE <event>, JOIN <team>, LEAVE <team>, CANCEL <event>, RSVP <event> YES/NO +N. Reply STOP to stop.', 'unknown', 'reply:' || :inbound_id, '{}'::jsonb, NULL, NULL, :inbound_id, NULL, NULL, NULL, '{}'::jsonb, coalesce(NULL::timestamptz, now()) WHERE NOT EXISTS (SELECT 1 FROM outbound_messages WHERE dedupe_key = 'reply:' || :inbound_id) ON CONFLICT (dedupe_key, month) DO NOTHING RETURNING id) SELECT id, true FROM ins UNION ALL SELECT id, false FROM outbound_messages WHERE dedupe_key = 'reply:' || :inbound_id AND NOT EXISTS (SELECT 1 FROM ins);
WITH fresh AS (INSERT INTO sms_answered_numbers (number) SELECT n.e #>> '{}' FROM group_rows(jsonb_build_array('+336' || (10000000 + :n % 89999999))) WITH ORDINALITY AS n(e, k) ORDER BY n.k ON CONFLICT (number) DO NOTHING RETURNING number) SELECT f.number, (SELECT count(*) FROM (SELECT 1 FROM sms_answered_numbers WHERE first_reply_at > now() - interval '1 hour' ORDER BY first_reply_at DESC LIMIT 101) recent) FROM fresh f;
UPDATE inbound_messages SET status = 'unknown_sender', command = 'help', person_id = NULL, reply_withheld = NULL WHERE id = :inbound_id;
COMMIT;
