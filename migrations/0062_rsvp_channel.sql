-- The channel an RSVP came on (issue 13, item 20): a reminder goes where the person
-- answered — someone who texted OUI gets their reminder by SMS even when they also have an
-- email address — unless they stated a preference (people.channel), and falls back to the
-- other channel when that one is opted out (contact_choice()). NULL: an answer that did not
-- come by a message (SQL, an organiser's tool).
ALTER TABLE rsvps ADD COLUMN channel text CHECK (channel IN ('email', 'sms'));
