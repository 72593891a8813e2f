-- Issue 16: `campaign create` to a million people right after their import in under two
-- seconds. Narrow indexes the recipients' statement (engine/campaigns/campaign.c) reads
-- instead of the wide ones (each person's first contact of a kind comes from
-- contacts_person_kind_idx, migration 0010):
--   * opt-outs by contact: the consent anti-join probes this small index, not the ledger's
--     (which holds an opt-in for every imported contact);
--   * pending memberships alone (double opt-in not confirmed), as rare.
CREATE INDEX consent_opt_out_contact_idx ON consent (contact_id, channel)
    WHERE action = 'opt_out';
CREATE INDEX memberships_pending_idx ON memberships (person_id) WHERE status = 'pending';
