-- Forgetting a person on request (issue 13, item 19; GDPR article 17), while the consent
-- ledger stays as evidence: `tocsin people forget CONTACT` (engine/campaigns/forget.h).
--
-- The person's row stays (other rows point at it) but says nothing any more: no name, no
-- tags, forgotten_at set. Each of their contacts keeps its id — the ledger's rows point at
-- it — but its address is replaced by a keyed hash, HMAC-SHA256 of "forget:KIND:ADDRESS"
-- under the engine secret: whoever holds the secret and an address can find its consent
-- history (`tocsin people forgotten CONTACT`); whoever holds only the database cannot list
-- the addresses, not even by trying every phone number.
ALTER TABLE people ADD COLUMN forgotten_at timestamptz;

ALTER TABLE contacts
    ALTER COLUMN address DROP NOT NULL,
    ADD COLUMN address_hash text,
    ADD CONSTRAINT contacts_address_or_hash CHECK (address IS NOT NULL OR address_hash IS NOT NULL);
CREATE INDEX contacts_address_hash_idx ON contacts (kind, address_hash)
    WHERE address_hash IS NOT NULL;

-- The ledger stays append-only, with one exception: the evidence of a forgotten contact's
-- row may be rewritten (a bounce's evidence quotes the address the relay refused). Who,
-- which channel and scope, what and when cannot change; nothing can be deleted.
CREATE OR REPLACE FUNCTION consent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (NEW.id, NEW.contact_id, NEW.channel, NEW.scope, NEW.action, NEW.source, NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.contact_id, OLD.channel, OLD.scope, OLD.action, OLD.source, OLD.created_at)
       AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = OLD.contact_id AND c.address IS NULL)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- A forgotten message's body is emptied, but what it cost stays what it cost: the SMS cost
-- trigger (0004) leaves the rows that forgetting rewrites alone.
CREATE OR REPLACE FUNCTION outbound_sms_cost() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.channel = 'sms' AND NEW.recipient IS DISTINCT FROM '[forgotten]' THEN
        SELECT encoding, segments INTO NEW.sms_encoding, NEW.sms_segments
        FROM sms_cost(NEW.body);
    END IF;
    RETURN NEW;
END;
$$;

-- A forgotten contact has no address to send to: contact_choice() (0007) skips it.
CREATE OR REPLACE FUNCTION contact_choice(p_person bigint, p_preferred text, p_scope bigint)
RETURNS TABLE (id bigint, kind text, address text) LANGUAGE sql STABLE AS $$
    SELECT c.id, c.kind, c.address FROM contacts c
    WHERE c.person_id = p_person AND c.address IS NOT NULL
      AND consent_allows(CASE c.kind WHEN 'phone' THEN 'sms' ELSE 'email' END, c.address,
                         p_scope)
    ORDER BY (c.kind = CASE p_preferred WHEN 'sms' THEN 'phone' ELSE 'email' END) DESC, c.id
    LIMIT 1
$$;
