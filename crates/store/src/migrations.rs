//! Schema migrations, applied in order at start-up and recorded in `schema_migrations`.

/// (version, SQL). Append only: a released migration is never edited.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_cti.sql")),
    (3, include_str!("../migrations/0003_sip.sql")),
    (4, include_str!("../migrations/0004_sessions.sql")),
    (5, include_str!("../migrations/0005_cluster.sql")),
    (6, include_str!("../migrations/0006_registrations.sql")),
];

/// Taken (PostgreSQL) before migrating: one node migrates, the others wait and find it done.
pub const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(7227001)";

pub const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";

/// Every table of the schema but `schema_migrations`, parents before children (the order
/// a copy inserts in).
pub const TABLES: &[&str] = &[
    "settings",
    "licenses",
    "tenants",
    "tenant_limits",
    "sites",
    "users",
    "pbxs",
    "devices",
    "audit_log",
    "license_usage",
    "presence",
    "contacts",
    "contact_numbers",
    "call_log",
    "sessions",
];

/// Tables of runtime state (the cluster's leases, handsets' registrations): not part of an
/// installation's data.
pub const RUNTIME_TABLES: &[&str] = &["nodes", "pbx_leases", "license_locks", "sip_registrations"];
