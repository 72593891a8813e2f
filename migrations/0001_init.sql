-- tocsin schema, first version. Table and column names in DESIGN.md are a contract:
-- organisers query them with SQL. Everything else here may grow in later migrations.

CREATE TABLE settings (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE people (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    locale      text NOT NULL DEFAULT 'fr' CHECK (locale ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    timezone    text NOT NULL DEFAULT 'Europe/Paris',
    tags        text[] NOT NULL DEFAULT '{}',
    digest      text NOT NULL DEFAULT 'weekly' CHECK (digest IN ('daily', 'weekly', 'never')),
    source      text NOT NULL DEFAULT 'import',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_tags_idx ON people USING gin (tags);

CREATE TABLE contacts (
    id          bigserial PRIMARY KEY,
    person_id   bigint NOT NULL REFERENCES people(id),
    kind        text NOT NULL CHECK (kind IN ('email', 'phone')),
    address     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, address),
    CHECK (kind <> 'email' OR address = lower(address)),
    CHECK (kind <> 'phone' OR address ~ '^\+[1-9][0-9]{6,14}$')
);
CREATE INDEX contacts_person_idx ON contacts (person_id);

CREATE TABLE teams (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL,
    region      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    person_id   bigint NOT NULL REFERENCES people(id),
    team_id     bigint NOT NULL REFERENCES teams(id),
    role        text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'organiser')),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, team_id)
);
CREATE INDEX memberships_team_idx ON memberships (team_id, status);

CREATE TABLE events (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    team_id     bigint REFERENCES teams(id),
    title       text NOT NULL,
    starts_at   timestamptz NOT NULL,
    timezone    text NOT NULL DEFAULT 'Europe/Paris',
    capacity    integer CHECK (capacity IS NULL OR capacity >= 0),
    location    text,
    status      text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_team_starts_idx ON events (team_id, starts_at);
CREATE INDEX events_starts_idx ON events (starts_at) WHERE status = 'scheduled';

CREATE TABLE rsvps (
    event_id    bigint NOT NULL REFERENCES events(id),
    person_id   bigint NOT NULL REFERENCES people(id),
    status      text NOT NULL CHECK (status IN ('yes', 'no', 'maybe', 'waitlist')),
    guests      integer NOT NULL DEFAULT 0 CHECK (guests >= 0 AND guests <= 20),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, person_id)
);
CREATE INDEX rsvps_event_status_idx ON rsvps (event_id, status, updated_at);
CREATE INDEX rsvps_person_idx ON rsvps (person_id);

CREATE TABLE campaigns (
    id           bigserial PRIMARY KEY,
    channel      text NOT NULL CHECK (channel IN ('email', 'sms')),
    segment      text NOT NULL,
    subject      text NOT NULL DEFAULT '',
    template     text NOT NULL,
    status       text NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')),
    scheduled_at timestamptz,
    urgent       boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The consent ledger: appended, never updated. The latest row for a contact, channel and
-- scope decides; scope NULL means every team.
CREATE TABLE consent (
    id          bigserial PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts(id),
    channel     text NOT NULL CHECK (channel IN ('email', 'sms')),
    scope       bigint REFERENCES teams(id),
    action      text NOT NULL CHECK (action IN ('opt_in', 'opt_out')),
    source      text NOT NULL,
    evidence    text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_contact_idx ON consent (contact_id, channel, scope, id DESC);

CREATE FUNCTION consent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER consent_no_update BEFORE UPDATE OR DELETE ON consent
    FOR EACH ROW EXECUTE FUNCTION consent_append_only();
CREATE TRIGGER consent_no_truncate BEFORE TRUNCATE ON consent
    FOR EACH STATEMENT EXECUTE FUNCTION consent_append_only();

CREATE TABLE inbound_messages (
    id          bigserial PRIMARY KEY,
    channel     text NOT NULL CHECK (channel IN ('email', 'sms')),
    provider    text NOT NULL,
    provider_id text NOT NULL,
    sender      text NOT NULL,
    recipient   text NOT NULL DEFAULT '',
    body        text NOT NULL DEFAULT '',
    raw         text,
    status      text NOT NULL DEFAULT 'received',
    command     text,
    person_id   bigint REFERENCES people(id),
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel, provider, provider_id)
);
CREATE INDEX inbound_sender_idx ON inbound_messages (channel, sender, received_at DESC);

CREATE TABLE outbound_messages (
    id              bigserial PRIMARY KEY,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient       text NOT NULL,
    subject         text NOT NULL DEFAULT '',
    body            text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed',
                                      'suppressed', 'cancelled', 'bounced')),
    kind            text NOT NULL DEFAULT 'reply',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    provider_id     text,
    campaign_id     bigint REFERENCES campaigns(id),
    person_id       bigint REFERENCES people(id),
    contact_id      bigint REFERENCES contacts(id),
    inbound_id      bigint REFERENCES inbound_messages(id),
    scope           bigint REFERENCES teams(id),
    context         jsonb NOT NULL DEFAULT '{}',
    dedupe_key      text NOT NULL UNIQUE,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
-- The queue claim reads due rows in this order.
CREATE INDEX outbound_due_idx ON outbound_messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbound_lease_idx ON outbound_messages (lease_until) WHERE status = 'sending';
CREATE INDEX outbound_campaign_idx ON outbound_messages (campaign_id, status)
    WHERE campaign_id IS NOT NULL;
-- "The last prompt sent to that number" for SMS context.
CREATE INDEX outbound_recipient_idx ON outbound_messages (channel, recipient, created_at DESC);
CREATE INDEX outbound_provider_idx ON outbound_messages (provider_id) WHERE provider_id IS NOT NULL;

CREATE TABLE activity (
    id          bigserial PRIMARY KEY,
    team_id     bigint REFERENCES teams(id),
    kind        text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_team_idx ON activity (team_id, created_at);

-- Whether a destination may receive a message of `p_scope` (NULL: not about one team)
-- on `p_channel` ('email' or 'sms'). The latest ledger entry that is global (scope NULL)
-- or for that team decides; no entry means allowed. The queue calls it at send time.
CREATE FUNCTION consent_allows(p_channel text, p_address text, p_scope bigint)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT k.action = 'opt_in'
        FROM contacts c JOIN consent k ON k.contact_id = c.id
        WHERE c.kind = CASE p_channel WHEN 'sms' THEN 'phone' ELSE 'email' END
          AND c.address = p_address
          AND k.channel = p_channel
          AND (k.scope IS NULL OR k.scope = p_scope)
        ORDER BY k.id DESC LIMIT 1), true)
$$;
