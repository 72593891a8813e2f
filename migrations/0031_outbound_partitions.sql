-- Issue 16, part 2: outbound_messages partitioned by month, so that retention
-- ([engine] keep_messages) drops a month of rows at once instead of deleting them.
--
-- A weekly newsletter to a million people is 52 million rows a year. Deleting a month of
-- them is four million index deletions and a vacuum of every index; detaching and dropping
-- the month's partition is a catalog change. The table keeps its name and its columns
-- (organisers query them, docs/schema.md); what changes:
--   * a column `month` (date, the first of a month in UTC): the partition a row lives in.
--     It is the month the row was enqueued, except for a campaign's rows, which all live
--     in the month the campaign's fan-out started.
--   * the primary key is (id, month) and PostgreSQL enforces dedupe_key's uniqueness within
--     a month only (a unique index of a partitioned table must contain the partition key).
--     The queue module, the only writer, keeps it unique across months: a single enqueue
--     also looks for its key in every month, and all the rows of a campaign share one
--     month, where the unique index sees them (engine/outbound/queue.c).
--   * no foreign key references outbound_messages(id) any more (retention drops rows that
--     delivery reports name), and outbound rows no longer reference inbound_messages(id)
--     with a foreign key (retention removes old inbound rows too).

CREATE FUNCTION outbound_partition_name(p_month date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'outbound_messages_' || to_char(p_month, 'YYYY_MM')
$$;

-- The first month of each partition, oldest first (from the catalog). The name is read
-- only when it has the partitions' form: a caller's condition on the month may be pushed
-- down to every row of pg_class, before the join keeps the partitions.
CREATE FUNCTION outbound_partition_months() RETURNS SETOF date
LANGUAGE sql STABLE AS $$
    SELECT m FROM (
        SELECT CASE WHEN c.relname ~ '^outbound_messages_[0-9]{4}_[0-9]{2}$'
                    THEN to_date(right(c.relname, 7), 'YYYY_MM') END AS m
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'outbound_messages'::regclass) p
    WHERE m IS NOT NULL
    ORDER BY 1
$$;

-- The oldest month still stored: what retention has not dropped. Counters of older
-- months are campaign results only (campaign status); the queue's own figures start here.
CREATE FUNCTION outbound_oldest_month() RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT coalesce(min(m), tocsin_month(now())) FROM outbound_partition_months() m
$$;

-- Create the missing monthly partitions from p_from to p_to (inclusive); returns how many.
-- `tocsin migrate` and the scheduler's upkeep (every round) keep three months ahead, so an
-- insert never meets a month without its partition.
CREATE FUNCTION outbound_partitions_ensure(p_from date, p_to date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', p_from)::date;
    created integer := 0;
BEGIN
    WHILE m <= p_to LOOP
        IF to_regclass(outbound_partition_name(m)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF outbound_messages'
                           ' FOR VALUES FROM (%L) TO (%L)',
                           outbound_partition_name(m), m, (m + interval '1 month')::date);
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END;
$$;

-- Foreign keys that reference outbound_messages(id) (see above).
DO $$
DECLARE
    fk record;
BEGIN
    FOR fk IN SELECT conrelid::regclass AS tab, conname FROM pg_constraint
              WHERE contype = 'f' AND confrelid = 'outbound_messages'::regclass LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tab, fk.conname);
    END LOOP;
END;
$$;

-- What the new table must have again, read from the old one before it goes: its indexes
-- but the two unique ones, its triggers, its foreign keys but the one to inbound_messages.
-- Read generically, so that whatever another migration added comes along.
CREATE TEMP TABLE outbound_rebuild ON COMMIT DROP AS
    SELECT 1 AS step, pg_get_indexdef(i.indexrelid) AS ddl
    FROM pg_index i
    WHERE i.indrelid = 'outbound_messages'::regclass AND NOT i.indisunique
    UNION ALL
    SELECT 2, pg_get_triggerdef(t.oid)
    FROM pg_trigger t
    WHERE t.tgrelid = 'outbound_messages'::regclass AND NOT t.tgisinternal
    UNION ALL
    SELECT 3, format('ALTER TABLE outbound_messages ADD CONSTRAINT %I %s', c.conname,
                     pg_get_constraintdef(c.oid))
    FROM pg_constraint c
    WHERE c.conrelid = 'outbound_messages'::regclass AND c.contype = 'f'
      AND c.conname <> 'outbound_messages_inbound_id_fkey';

ALTER TABLE outbound_messages RENAME TO outbound_messages_unpartitioned;
ALTER SEQUENCE outbound_messages_id_seq OWNED BY NONE;

CREATE TABLE outbound_messages (
    LIKE outbound_messages_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
        INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS,
    month date NOT NULL DEFAULT tocsin_month(now())
) PARTITION BY RANGE (month);
ALTER SEQUENCE outbound_messages_id_seq OWNED BY outbound_messages.id;

-- The rows, month by month straight into their partitions, campaigns' rows in the month
-- their fan-out started.
DO $$
DECLARE
    m date;
BEGIN
    CREATE TEMP TABLE outbound_months ON COMMIT DROP AS
        SELECT o.id, coalesce(tocsin_month(c.started_at), tocsin_month(o.created_at)) AS month
        FROM outbound_messages_unpartitioned o LEFT JOIN campaigns c ON c.id = o.campaign_id;
    PERFORM outbound_partitions_ensure(
        least(coalesce((SELECT min(month) FROM outbound_months), tocsin_month(now())),
              tocsin_month(now())),
        (tocsin_month(now()) + interval '3 months')::date);
    FOR m IN SELECT DISTINCT month FROM outbound_months LOOP
        EXECUTE format('INSERT INTO %I SELECT o.*, %L::date FROM outbound_messages_unpartitioned o'
                       ' JOIN outbound_months t ON t.id = o.id WHERE t.month = %L',
                       outbound_partition_name(m), m, m);
    END LOOP;
END;
$$;

DROP TABLE outbound_messages_unpartitioned;

-- Built once the rows are in (faster than row by row), under the old names.
ALTER TABLE outbound_messages
    ADD CONSTRAINT outbound_messages_pkey PRIMARY KEY (id, month),
    ADD CONSTRAINT outbound_messages_dedupe_key_month_key UNIQUE (dedupe_key, month);

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT ddl FROM outbound_rebuild ORDER BY step LOOP
        EXECUTE r.ddl;
    END LOOP;
END;
$$;

-- The counters read the row's month from its column now.
CREATE OR REPLACE FUNCTION outbound_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbound_count_changes (campaign_id, month, channel, status, messages)
    SELECT coalesce(campaign_id, 0), month, channel, status, count(*)
    FROM new_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION outbound_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbound_count_changes (campaign_id, month, channel, status, messages)
    SELECT campaign_id, month, channel, status, sum(n) FROM (
        SELECT coalesce(campaign_id, 0) AS campaign_id, month, channel, status, 1 AS n
        FROM new_rows
        UNION ALL
        SELECT coalesce(campaign_id, 0), month, channel, status, -1 FROM old_rows) c
    GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION outbound_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbound_count_changes (campaign_id, month, channel, status, messages)
    SELECT coalesce(campaign_id, 0), month, channel, status, -count(*)
    FROM old_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END;
$$;

-- Counted again: a campaign's rows may have moved to the month its fan-out started.
DELETE FROM outbound_counts;
DELETE FROM outbound_count_changes;
INSERT INTO outbound_counts (campaign_id, month, channel, status, messages)
SELECT coalesce(campaign_id, 0), month, channel, status, count(*)
FROM outbound_messages GROUP BY 1, 2, 3, 4;

-- The queue's figures (queue status, /metrics): the stored months only, where the
-- counters of campaigns keep what retention dropped. The oldest month is a sub-select,
-- computed once, not a filter evaluated on every counter row.
CREATE VIEW outbound_queue_totals AS
    SELECT channel, status, sum(messages)::bigint AS messages
    FROM outbound_totals WHERE month >= (SELECT outbound_oldest_month())
    GROUP BY 1, 2 HAVING sum(messages) <> 0;

-- What each campaign sent, by status, whatever retention dropped since: campaign results
-- outlive their rows.
CREATE VIEW campaign_results AS
    SELECT campaign_id, status, sum(messages)::bigint AS messages
    FROM outbound_totals WHERE campaign_id <> 0
    GROUP BY 1, 2 HAVING sum(messages) <> 0;

-- After a fan-out of p_added rows into month p_month: analyse that month's partition when
-- the rows are a tenth of it or more (autovacuum's threshold) or it never was analysed.
DROP FUNCTION outbound_analyze_after(bigint);
CREATE FUNCTION outbound_analyze_after(p_month date, p_added bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part regclass := to_regclass(outbound_partition_name(p_month));
    estimate double precision;
BEGIN
    IF part IS NULL OR p_added <= 0 THEN
        RETURN false;
    END IF;
    SELECT reltuples INTO estimate FROM pg_class WHERE oid = part;
    IF estimate >= 0 AND p_added * 10 < estimate THEN
        RETURN false;
    END IF;
    EXECUTE format('ANALYZE %s', part);
    RETURN true;
END;
$$;

-- Partitions whose whole month is older than p_keep and that hold nothing still to send:
-- what retention may detach and drop now. A month with rows queued or sending is kept
-- (a message held that long is still a message) and reported by the upkeep.
CREATE FUNCTION outbound_partitions_expired(p_keep interval)
RETURNS TABLE (partition text, month date, unsent bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    m date;
BEGIN
    FOR m IN SELECT * FROM outbound_partition_months() LOOP
        CONTINUE WHEN (m + interval '1 month') > now() - p_keep;
        partition := outbound_partition_name(m);
        month := m;
        EXECUTE format('SELECT count(*) FROM %I WHERE status IN (''queued'', ''sending'')',
                       partition) INTO unsent;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- JIT off for tocsin's own role. Its statements are short and many, and over a dozen
-- partitions their estimated cost passes jit_above_cost: every claim, record and status
-- query would then compile for 100 ms to seconds what runs in milliseconds. A role may set
-- its own defaults; they apply to its new sessions, direct or through a pooler. Another
-- role running the migration only gets a notice: then set it for tocsin's role by hand
-- (docs/operations.md).
DO $$
BEGIN
    EXECUTE format('ALTER ROLE %I SET jit = off', current_user);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'could not turn JIT off for role %: run ALTER ROLE ... SET jit = off', current_user;
END;
$$;

-- Retention deletes inbound rows and delivery reports by age, a batch at a time.
CREATE INDEX inbound_received_idx ON inbound_messages (received_at);
CREATE INDEX sms_delivery_reports_received_idx ON sms_delivery_reports (received_at);
