-- Issue 16, part 1: claims that name a live daemon, counters maintained as rows change,
-- statistics refreshed after a fan-out.

-- The presence key (engine/outbound/presence.h) of the daemon whose worker claimed the
-- row. While a session of that daemon holds advisory lock (7310, claim_key), the row is
-- its own however long the send takes; once no session holds it (the daemon died), any
-- worker takes the row at once. NULL: claimed without a presence; the lease decides.
ALTER TABLE outbound_messages ADD COLUMN claim_key integer;

-- Presence keys held right now in this database (two int4 keys: objsubid 2).
CREATE FUNCTION tocsin_live_claimants() RETURNS SETOF integer
LANGUAGE sql STABLE AS $$
    SELECT objid::bigint::integer FROM pg_locks
    WHERE locktype = 'advisory' AND classid = 7310 AND objsubid = 2 AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
$$;

-- The month a row is counted (and, once the table is partitioned, stored) under: UTC,
-- so that every daemon and every session agrees whatever its TimeZone.
CREATE FUNCTION tocsin_month(p_at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('month', p_at AT TIME ZONE 'UTC')::date
$$;

-- Counters of outbound_messages by campaign (0: not a campaign's), month, channel and
-- status, so `queue status`, `campaign status` and /metrics read a few hundred rows
-- instead of grouping the whole table (52 million rows a year for a weekly newsletter to
-- a million people).
--
-- Statement triggers append one change row per group a statement touched (a fan-out of
-- 100,000 rows appends one) to outbound_count_changes, which nobody updates: concurrent
-- transactions never wait on a counter row. outbound_counts_fold() moves changes older
-- than two minutes into outbound_counts (the scheduler does it every round); readers sum
-- both. The last two minutes of changes stay apart because they are the sending rate.
CREATE TABLE outbound_counts (
    campaign_id bigint NOT NULL,
    month       date NOT NULL,
    channel     text NOT NULL,
    status      text NOT NULL,
    messages    bigint NOT NULL,
    PRIMARY KEY (campaign_id, month, channel, status)
);

CREATE TABLE outbound_count_changes (
    at          timestamptz NOT NULL DEFAULT now(),
    campaign_id bigint NOT NULL,
    month       date NOT NULL,
    channel     text NOT NULL,
    status      text NOT NULL,
    messages    bigint NOT NULL
);
CREATE INDEX outbound_count_changes_campaign_idx ON outbound_count_changes (campaign_id, at);
CREATE INDEX outbound_count_changes_at_idx ON outbound_count_changes (at);

CREATE FUNCTION outbound_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbound_count_changes (campaign_id, month, channel, status, messages)
    SELECT coalesce(campaign_id, 0), tocsin_month(created_at), channel, status, count(*)
    FROM new_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END;
$$;

CREATE FUNCTION outbound_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbound_count_changes (campaign_id, month, channel, status, messages)
    SELECT campaign_id, month, channel, status, sum(n) FROM (
        SELECT coalesce(campaign_id, 0) AS campaign_id, tocsin_month(created_at) AS month,
               channel, status, 1 AS n FROM new_rows
        UNION ALL
        SELECT coalesce(campaign_id, 0), tocsin_month(created_at), channel, status, -1
        FROM old_rows) c
    GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION outbound_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbound_count_changes (campaign_id, month, channel, status, messages)
    SELECT coalesce(campaign_id, 0), tocsin_month(created_at), channel, status, -count(*)
    FROM old_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END;
$$;

CREATE FUNCTION outbound_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbound_counts;
    DELETE FROM outbound_count_changes;
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbound_counted_insert AFTER INSERT ON outbound_messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION outbound_count_inserted();
CREATE TRIGGER outbound_counted_update AFTER UPDATE ON outbound_messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION outbound_count_updated();
CREATE TRIGGER outbound_counted_delete AFTER DELETE ON outbound_messages
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION outbound_count_deleted();
CREATE TRIGGER outbound_counted_truncate AFTER TRUNCATE ON outbound_messages
    FOR EACH STATEMENT EXECUTE FUNCTION outbound_count_truncated();

INSERT INTO outbound_counts (campaign_id, month, channel, status, messages)
SELECT coalesce(campaign_id, 0), tocsin_month(created_at), channel, status, count(*)
FROM outbound_messages GROUP BY 1, 2, 3, 4;

-- Fold the changes older than two minutes into the totals; returns how many were folded.
CREATE FUNCTION outbound_counts_fold() RETURNS bigint LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM outbound_count_changes WHERE at < now() - interval '2 minutes'
        RETURNING campaign_id, month, channel, status, messages),
    folded AS (
        INSERT INTO outbound_counts AS t (campaign_id, month, channel, status, messages)
        SELECT campaign_id, month, channel, status, sum(messages) FROM moved
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (campaign_id, month, channel, status)
        DO UPDATE SET messages = t.messages + excluded.messages)
    SELECT count(*) FROM moved
$$;

-- Messages by campaign, month, channel and status: the totals plus the changes not yet
-- folded. What the counters say is what count(*) over outbound_messages would say.
CREATE VIEW outbound_totals AS
    SELECT campaign_id, month, channel, status, sum(messages)::bigint AS messages
    FROM (SELECT campaign_id, month, channel, status, messages FROM outbound_counts
          UNION ALL
          SELECT campaign_id, month, channel, status, messages FROM outbound_count_changes) c
    GROUP BY 1, 2, 3, 4;

-- The claim reads due rows of one channel in due order; so do `queue status` and /metrics
-- for the oldest due message, which with an index on the time alone had to step over
-- every due row of the other channel.
CREATE INDEX outbound_due_channel_idx ON outbound_messages (channel, next_attempt_at)
    WHERE status = 'queued';
DROP INDEX outbound_due_idx;

-- A campaign's rows by status, and for queued ones when they are due: `campaign status`
-- counts the rows held (quiet hours, backoff) from the index alone.
CREATE INDEX outbound_campaign_due_idx ON outbound_messages (campaign_id, status, next_attempt_at)
    WHERE campaign_id IS NOT NULL;
DROP INDEX outbound_campaign_idx;

-- A fan-out adds up to millions of rows at once; autovacuum would analyse them on a later
-- round, and until then the claim is planned on stale statistics. The fan-out calls this
-- with the number of rows it added: the table is analysed when they are a tenth of it or
-- more (autovacuum's threshold), or when it never was.
CREATE FUNCTION outbound_analyze_after(p_added bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    estimate double precision;
BEGIN
    SELECT reltuples INTO estimate FROM pg_class WHERE oid = 'outbound_messages'::regclass;
    IF p_added <= 0 OR (estimate >= 0 AND p_added * 10 < estimate) THEN
        RETURN false;
    END IF;
    ANALYZE outbound_messages;
    RETURN true;
END;
$$;
