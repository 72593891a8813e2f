-- Organisers (issue 14): accounts and roles, passwordless sign-in, sessions, API tokens,
-- the inbox, check-in, who did what in activity, and views organisers can query.

-- Roles. An organiser of a team is what it already was: memberships.role = 'organiser'
-- (the fact the MSG command relies on), so there is one truth for it. Admins and hosts
-- are rows here. A person with at least one role is an account and may sign in.
CREATE TABLE account_roles (
    id          bigserial PRIMARY KEY,
    person_id   bigint NOT NULL REFERENCES people(id),
    role        text NOT NULL CHECK (role IN ('admin', 'host')),
    event_id    bigint REFERENCES events(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  bigint REFERENCES people(id),
    CHECK ((role = 'admin') = (event_id IS NULL))
);
CREATE UNIQUE INDEX account_roles_once_idx ON account_roles (person_id, role, coalesce(event_id, 0));
CREATE INDEX account_roles_event_idx ON account_roles (event_id) WHERE event_id IS NOT NULL;

-- Every grant, one row each: what `tocsin user list` shows and the authorisation reads.
CREATE VIEW accounts AS
    SELECT r.person_id, r.role, NULL::bigint AS team_id, r.event_id, r.created_at AS since
    FROM account_roles r
    UNION ALL
    SELECT m.person_id, 'organiser', m.team_id, NULL::bigint, m.created_at
    FROM memberships m WHERE m.role = 'organiser' AND m.status = 'active';

-- One-time sign-in: a link by email or a 6-digit code by SMS. Only an HMAC of the secret
-- (keyed with the engine secret) is stored; a code is void after five wrong tries.
CREATE TABLE login_challenges (
    id          bigserial PRIMARY KEY,
    person_id   bigint NOT NULL REFERENCES people(id),
    contact_id  bigint NOT NULL REFERENCES contacts(id),
    kind        text NOT NULL CHECK (kind IN ('link', 'code')),
    secret_hash bytea NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX login_challenges_link_idx ON login_challenges (secret_hash) WHERE kind = 'link';
CREATE INDEX login_challenges_contact_idx ON login_challenges (contact_id, created_at DESC);

-- Sessions: the cookie carries a random id, the table only its SHA-256.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    person_id    bigint NOT NULL REFERENCES people(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_person_idx ON sessions (person_id);

-- API tokens for integrations: shown once, stored as SHA-256; `prefix` names them in lists.
CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    person_id    bigint NOT NULL REFERENCES people(id),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix       text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   bigint REFERENCES people(id),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_person_idx ON api_tokens (person_id);

-- Who made each write: the organiser's person id (NULL for the operator's shell and for
-- supporters' own commands) and the road it came by (cli, api, sms, email).
ALTER TABLE activity
    ADD COLUMN actor_id bigint REFERENCES people(id),
    ADD COLUMN via      text;
CREATE INDEX activity_team_id_idx ON activity (team_id, id DESC);

-- The inbox: inbound messages that need a human (not understood, from a stranger,
-- rate-limited, refused, too long), open until an organiser marks them done.
ALTER TABLE inbound_messages
    ADD COLUMN handled_at timestamptz,
    ADD COLUMN handled_by bigint REFERENCES people(id);
CREATE VIEW inbox AS
    SELECT i.id, i.channel, i.sender, i.person_id, i.body, i.status, i.received_at,
           i.handled_at, i.handled_by
    FROM inbound_messages i
    WHERE i.status IN ('unknown', 'unknown_sender', 'rate_limited', 'refused', 'too_long');
CREATE INDEX inbox_open_idx ON inbound_messages (id DESC)
    WHERE handled_at IS NULL
      AND status IN ('unknown', 'unknown_sender', 'rate_limited', 'refused', 'too_long');
CREATE INDEX inbox_all_idx ON inbound_messages (id DESC)
    WHERE status IN ('unknown', 'unknown_sender', 'rate_limited', 'refused', 'too_long');
CREATE INDEX inbound_person_idx ON inbound_messages (person_id, id DESC)
    WHERE person_id IS NOT NULL;
CREATE INDEX outbound_person_idx ON outbound_messages (person_id, id DESC)
    WHERE person_id IS NOT NULL;

-- Check-in at the door; a walk-in is a person created there with a `yes` RSVP.
ALTER TABLE rsvps
    ADD COLUMN checked_in_at timestamptz,
    ADD COLUMN checked_in_by bigint REFERENCES people(id);

-- Members of a team in person-id order: the keyset of `people list --team` and
-- `team members`.
CREATE INDEX memberships_team_person_idx ON memberships (team_id, person_id);
-- A person's first email and first phone, read for every row of every list (a door list
-- of 2,000 people is 4,000 of them): from the index alone, no sort, no table visit.
CREATE INDEX contacts_person_kind_idx ON contacts (person_id, kind, id) INCLUDE (address);

-- The consent ledger as it stands: the latest entry per contact, channel and scope
-- (scope NULL = every team). Remember contacts.kind 'phone' is consent channel 'sms'.
CREATE VIEW current_consent AS
    SELECT DISTINCT ON (k.contact_id, k.channel, k.scope)
           k.id, k.contact_id, c.person_id, c.kind, c.address, k.channel, k.scope,
           k.action, k.source, k.evidence, k.created_at
    FROM consent k JOIN contacts c ON c.id = k.contact_id
    ORDER BY k.contact_id, k.channel, k.scope, k.id DESC;

-- Current opt-outs, with the team they are about (NULL: every team): an opt-out with no
-- later entry for the same contact, channel and scope. Written as an anti-join rather than
-- over current_consent so that the newest opt-outs come first without reading the ledger.
CREATE VIEW current_optouts AS
    SELECT k.id, k.contact_id, c.person_id, p.name, c.address, k.channel, k.scope,
           t.slug AS team, k.source, k.evidence, k.created_at
    FROM consent k
    JOIN contacts c ON c.id = k.contact_id
    JOIN people p ON p.id = c.person_id
    LEFT JOIN teams t ON t.id = k.scope
    WHERE k.action = 'opt_out'
      AND NOT EXISTS (SELECT 1 FROM consent later
                      WHERE later.contact_id = k.contact_id AND later.channel = k.channel
                        AND later.id > k.id
                        AND (later.scope = k.scope OR (later.scope IS NULL AND k.scope IS NULL)));
CREATE INDEX consent_optout_idx ON consent (id DESC) WHERE action = 'opt_out';
