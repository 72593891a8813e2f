-- One writer per table (issue 11): the SQL that several modules repeated, defined once.

-- The contact an automatic message to a person goes to: among the person's contacts whose
-- consent allows a message about team `p_scope` (NULL: no team), one of the channel
-- `p_preferred` ('email' or 'sms'; NULL means email) if there is one, else the other;
-- the oldest contact first. No row when no contact may receive it. Reminders, digests,
-- event notices and a handler's message to another person (a freed seat) all choose this
-- way. Plain SQL, so the planner inlines it where it is joined LATERAL to a set of people.
CREATE FUNCTION contact_choice(p_person bigint, p_preferred text, p_scope bigint)
RETURNS TABLE (id bigint, kind text, address text) LANGUAGE sql STABLE AS $$
    SELECT c.id, c.kind, c.address FROM contacts c
    WHERE c.person_id = p_person
      AND consent_allows(CASE c.kind WHEN 'phone' THEN 'sms' ELSE 'email' END, c.address,
                         p_scope)
    ORDER BY (c.kind = CASE p_preferred WHEN 'sms' THEN 'phone' ELSE 'email' END) DESC, c.id
    LIMIT 1
$$;

-- The consent ledger's only writer in SQL, owned by the consent module
-- (engine/core/consent.h): every row of `consent` is appended here, by consent_append()
-- in C for one row, or by a statement that appends a set (an import's new contacts, the
-- hard bounces of a send batch) with
--   SELECT consent_append(array_agg(ROW(contact, channel, scope, action, source,
--                                       evidence)::consent_entry)) FROM …
-- One call per statement keeps a set-based append as fast as a plain INSERT … SELECT (a
-- call per row costs three times as much on an import). NULL or an empty array appends
-- nothing. Returns the number of rows appended.
CREATE TYPE consent_entry AS (
    contact_id bigint,
    channel    text,
    scope      bigint,
    action     text,
    source     text,
    evidence   text
);

CREATE FUNCTION consent_append(p_entries consent_entry[])
RETURNS integer LANGUAGE sql VOLATILE AS $$
    WITH appended AS (
        INSERT INTO consent (contact_id, channel, scope, action, source, evidence)
        SELECT e.contact_id, e.channel, e.scope, e.action, e.source, e.evidence
        FROM unnest(p_entries) AS e
        RETURNING 1)
    SELECT count(*)::integer FROM appended
$$;
