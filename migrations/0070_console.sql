-- The organisers' console (issue 15): a CSV file uploaded for import waits here between
-- its upload, the mapping of its columns, the dry run and the import itself, so nothing
-- of it lives in the daemon's memory or on its disk (any daemon may serve the next
-- request). Only its uploader reads it back; uploads older than a day are dropped at the
-- next upload, and an upload is dropped once imported.
CREATE TABLE console_uploads (
    id          bigserial PRIMARY KEY,
    person_id   bigint NOT NULL REFERENCES people(id),
    filename    text NOT NULL,
    team        text,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_uploads_created_idx ON console_uploads (created_at);
