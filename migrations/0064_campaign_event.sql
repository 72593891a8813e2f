-- A newsletter that is an invitation (issue 13, item 6): `campaign create --event SLUG`.
-- Every message of the campaign carries the RSVP context of that event, so a bare
-- `OUI +1` answering it is an RSVP, as it is to a reminder.
ALTER TABLE campaigns ADD COLUMN event_id bigint REFERENCES events(id);
