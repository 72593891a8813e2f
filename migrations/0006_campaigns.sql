-- Campaigns, the scheduler (reminders, digests) and quiet hours (issue 7).

-- What `tocsin campaign` needs beyond the contract columns: where the fan-out stopped
-- (person id), so a `send` interrupted half-way resumes; the team of a team newsletter
-- (the consent scope); who asked for it (organiser commands) and when it ran.
ALTER TABLE campaigns
    ADD COLUMN timezone      text,
    ADD COLUMN team_id       bigint REFERENCES teams(id),
    ADD COLUMN recipients    integer,
    ADD COLUMN fanout_cursor bigint NOT NULL DEFAULT 0,
    ADD COLUMN fanout_done   boolean NOT NULL DEFAULT false,
    ADD COLUMN started_at    timestamptz,
    ADD COLUMN finished_at   timestamptz,
    ADD COLUMN created_by    bigint REFERENCES people(id),
    ADD COLUMN source        text NOT NULL DEFAULT 'cli';
CREATE INDEX campaigns_due_idx ON campaigns (scheduled_at) WHERE status = 'scheduled';

-- The channel a person prefers for automatic messages (reminders, digests).
-- NULL: email when they have an address, else SMS.
ALTER TABLE people ADD COLUMN channel text CHECK (channel IN ('email', 'sms'));

-- When each person's last digest was considered (sent, or skipped because nothing was new).
CREATE TABLE digest_state (
    person_id   bigint PRIMARY KEY REFERENCES people(id),
    last_at     timestamptz NOT NULL
);

-- Organiser messages waiting for their CONFIRM code (MSG <team> <text>).
CREATE TABLE organiser_drafts (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL,
    person_id   bigint NOT NULL REFERENCES people(id),
    team_id     bigint NOT NULL REFERENCES teams(id),
    channel     text NOT NULL CHECK (channel IN ('email', 'sms')),
    subject     text NOT NULL DEFAULT '',
    body        text NOT NULL,
    recipients  integer NOT NULL,
    expires_at  timestamptz NOT NULL,
    campaign_id bigint REFERENCES campaigns(id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organiser_drafts_code_idx ON organiser_drafts (person_id, code);

-- The clock of the scheduler and of quiet hours. TEST ONLY: a settings row
-- 'test_clock_offset' (an interval, e.g. '13 hours') moves it; production has no such row.
-- Tests use it to stand at 22:00 or two hours before an event without waiting.
CREATE FUNCTION tocsin_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT now() + coalesce((SELECT value::interval FROM settings
                             WHERE name = 'test_clock_offset'), interval '0')
$$;

-- When a message enqueued at `p_at` for someone in time zone `p_tz` may go out under
-- quiet hours `p_quiet` ('HH:MM-HH:MM' in local time, or 'off'/NULL): `p_at` itself, or
-- the end of the quiet period it falls in. Plain SQL so the planner inlines it into the
-- set-based INSERT … SELECT of a fan-out. The caller validated `p_quiet`.
CREATE FUNCTION quiet_release_window(p_at timestamptz, p_tz text, p_start time, p_end time)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_start IS NULL OR p_end IS NULL OR p_start = p_end THEN p_at
        WHEN p_start > p_end THEN  -- the window spans midnight, e.g. 21:00-09:00
            CASE WHEN (p_at AT TIME ZONE p_tz)::time >= p_start
                 THEN (((p_at AT TIME ZONE p_tz)::date + 1) + p_end) AT TIME ZONE p_tz
                 WHEN (p_at AT TIME ZONE p_tz)::time < p_end
                 THEN ((p_at AT TIME ZONE p_tz)::date + p_end) AT TIME ZONE p_tz
                 ELSE p_at END
        ELSE
            CASE WHEN (p_at AT TIME ZONE p_tz)::time >= p_start
                  AND (p_at AT TIME ZONE p_tz)::time < p_end
                 THEN ((p_at AT TIME ZONE p_tz)::date + p_end) AT TIME ZONE p_tz
                 ELSE p_at END
        END
$$;

CREATE FUNCTION quiet_release(p_at timestamptz, p_tz text, p_quiet text)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT quiet_release_window(p_at, p_tz,
        CASE WHEN p_quiet ~ '^[0-9]{1,2}:[0-9]{2}-[0-9]{1,2}:[0-9]{2}$'
             THEN split_part(p_quiet, '-', 1)::time END,
        CASE WHEN p_quiet ~ '^[0-9]{1,2}:[0-9]{2}-[0-9]{1,2}:[0-9]{2}$'
             THEN split_part(p_quiet, '-', 2)::time END)
$$;

