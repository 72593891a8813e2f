-- Trust (issue 12): who sent what, proof of who speaks, and budgets for what costs money.

-- The SMS gateway a message was handed to, set when a worker claims it (a report can come back
-- before the send is recorded): a delivery report updates only a message its own gateway
-- sent, so a report forged through another gateway's route, or an id that happens to be
-- another gateway's, changes nothing. Rows sent before this column existed get it where the
-- id says it (Kannel's "tocsin-N", Twilio's 34-character SM/MM sids); the others take no
-- report.
ALTER TABLE outbound_messages ADD COLUMN sms_provider text;
UPDATE outbound_messages SET sms_provider = CASE
        WHEN provider_id LIKE 'tocsin-%' THEN 'kannel'
        WHEN provider_id ~ '^(SM|MM)[0-9a-f]{32}$' THEN 'twilio' END
    WHERE channel = 'sms' AND provider_id IS NOT NULL;

CREATE OR REPLACE FUNCTION outbound_late_reports() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT id, status, detail, error FROM sms_delivery_reports
             WHERE provider_id = NEW.provider_id AND provider = NEW.sms_provider
               AND outbound_id IS NULL ORDER BY id LOOP
        UPDATE sms_delivery_reports SET outbound_id = NEW.id WHERE id = r.id;
        PERFORM sms_apply_report(NEW.id, r.status, r.detail, r.error);
    END LOOP;
    RETURN NULL;
END;
$$;

-- Why an inbound message got no reply although its command ran: 'country' (a number outside
-- [sms] reply_countries), 'hourly_cap' or 'daily_cap' (the sender's reply budget),
-- 'help_after_stop' (HELP answered once a day after STOP), 'repeat' (the same text, the same
-- answer, already sent today). NULL: answered, or nothing to answer.
ALTER TABLE inbound_messages ADD COLUMN reply_withheld text;

-- What proved that the sender owns the address (struct inbound_message `proof`):
-- 'signed_webhook', 'operator', 'reply_token', 'dmarc'; NULL for a mail whose From: nothing
-- vouches for, on which granting commands did not act.
ALTER TABLE inbound_messages ADD COLUMN proof text;

-- Numbers tocsin has answered at least once, with the first time: a burst of replies to
-- numbers never seen before is what SMS pumping looks like.
CREATE TABLE sms_answered_numbers (
    number          text PRIMARY KEY,
    first_reply_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_answered_numbers_at_idx ON sms_answered_numbers (first_reply_at);

-- A request that needs proof of the address it came from (a mail's From: proves nothing):
-- joining a team, or receiving messages again. The confirmation sent to that address carries
-- a token for exactly this row, in a link (/c/TOKEN) and in its reply address; using it
-- applies the request once. Requests expire after 7 days.
CREATE TABLE confirmation_requests (
    id          bigserial PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts(id),
    action      text NOT NULL CHECK (action IN ('join', 'start')),
    team_id     bigint REFERENCES teams(id),
    inbound_id  bigint REFERENCES inbound_messages(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL DEFAULT now() + interval '7 days',
    used_at     timestamptz,
    used_by     text CHECK (used_by IN ('link', 'reply'))
);
CREATE INDEX confirmation_requests_contact_idx ON confirmation_requests (contact_id, created_at);

-- Organiser codes: a draft takes at most five wrong codes, then it is void; a sender who fails
-- five times in 15 minutes is refused for an hour. A new draft voids the sender's older open
-- ones, so a code belongs to one draft and a guess can only ever hit that one.
ALTER TABLE organiser_drafts
    ADD COLUMN failures integer NOT NULL DEFAULT 0,
    ADD COLUMN voided_at timestamptz,
    ADD COLUMN void_reason text;
CREATE TABLE organiser_code_failures (
    person_id  bigint NOT NULL REFERENCES people(id),
    draft_id   bigint REFERENCES organiser_drafts(id),
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organiser_code_failures_idx ON organiser_code_failures (person_id, failed_at);
