DROP INDEX audit_log_action;
DROP INDEX audit_log_worker_ids;
DROP TABLE monitoring_erased_households;
DROP TABLE monitoring_erased_totals;
