-- Command engine (issue 3): seats held for a waitlist offer.
-- A waitlisted party offered a freed seat has it reserved until it answers or the hold
-- (24 hours, handlers/rsvp.c) lapses; NULL means no offer is open.
ALTER TABLE rsvps ADD COLUMN offered_at timestamptz;
