/** Every migration PostgreSQL runs, in order (0002 is SQLite's planner statistics): one list for every suite that checks it. */
export const PG_MIGRATIONS = [
  "0001_initial",
  "0003_delivery_lease_until",
  "0004_delivery_claim_by_webhook",
  "0005_receivers_trust",
  "0006_cluster_credentials",
  "0006_event_trace_context",
  "0006_event_type_schema",
  "0007_log_entries_stats_and_failed",
  "0008_delivery_indexes_outside_the_hot_path",
  "0009_webhook_receiver_options",
  "0010_webhook_delivery_policies",
  "0011_log_hourly_rollups",
  "0012_log_entries_partitioned_by_day",
  "0013_log_entries_fewer_writes",
];
