-- Issue 16: `campaign create` to a million people right after their import in under two
-- seconds. Three narrow indexes the recipients' statement (engine/campaigns/campaign.c)
-- reads instead of the wide ones:
--   * each person's first contact of a kind, in one index (no sort per person);
--   * opt-outs alone: the consent anti-join probes this small index, not the ledger's
--     (which holds an opt-in for every imported contact);
--   * pending memberships alone (double opt-in not confirmed), as rare.
CREATE INDEX contacts_person_kind_idx ON contacts (person_id, kind, id);
CREATE INDEX consent_opt_out_idx ON consent (contact_id, channel) WHERE action = 'opt_out';
CREATE INDEX memberships_pending_idx ON memberships (person_id) WHERE status = 'pending';
