DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE subsidy_blocked_claims;
DROP TABLE subsidy_events;
DROP TABLE policy_rules;
DROP TABLE placement_separations;
DROP TABLE placement_reports;
DROP TABLE placements;
ALTER TABLE training_records DROP COLUMN provider_org_id;
