-- Digests only for people who asked for them or whose organisers turned them on (issue 13,
-- item 18). An imported supporter never asked for a weekly mail: sending one anyway is what
-- the CNIL calls prospection without consent.
--
-- people.digest NULL now means "not chosen": the person's teams decide (teams.digest, the
-- most frequent of their active teams' settings wins), else [engine] digest_default (never
-- unless the operator sets it). A supporter chooses with DIGEST ON/OFF (RÉSUMÉ OUI/NON);
-- that choice always wins. 'weekly' was only ever the column's default (nothing let a
-- supporter choose it), so it becomes "not chosen".
ALTER TABLE people ALTER COLUMN digest DROP NOT NULL, ALTER COLUMN digest DROP DEFAULT;
UPDATE people SET digest = NULL WHERE digest = 'weekly';

-- A team's organisers may turn digests on (or off) for members who did not choose.
ALTER TABLE teams ADD COLUMN digest text CHECK (digest IN ('daily', 'weekly', 'never'));

-- The digest a person gets: their choice, else the most frequent one their active teams set,
-- else p_default ([engine] digest_default). Plain SQL, inlined into the scheduler's query.
CREATE FUNCTION person_digest(p_person bigint, p_choice text, p_default text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(p_choice,
        (SELECT t.digest FROM memberships m JOIN teams t ON t.id = m.team_id
         WHERE m.person_id = p_person AND m.status = 'active' AND t.digest IS NOT NULL
         ORDER BY CASE t.digest WHEN 'daily' THEN 0 WHEN 'weekly' THEN 1 ELSE 2 END
         LIMIT 1),
        p_default)
$$;
