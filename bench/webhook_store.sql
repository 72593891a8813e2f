-- The anchor of a busy webhook in bench/run-webhooks: the one statement it runs while its
-- gateway waits (engine/inbound/sms_backlog.c, sms_backlog_accept()), into bench_backlog,
-- a copy of sms_backlog that the daemon's appliers do not read; autocommit, like tocsin.
\set n random(1, 1000000000)
INSERT INTO bench_backlog (provider, provider_id, sender, recipient, body, raw, proof) VALUES ('twilio', 'SMpg' || :client_id || '-' || :n, '+336' || (10000000 + :n % 89999999), '+33700000000', 'HELP', 'ToCountry=FR&Body=HELP&MessageSid=SMbench&From=%2B33611111111&To=%2B33700000000&NumSegments=1', 'signed_webhook') ON CONFLICT (provider, provider_id) DO NOTHING;
