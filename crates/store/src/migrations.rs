//! Schema migrations, applied in order at start-up and recorded in `schema_migrations`.

/// (version, SQL). Append only: a released migration is never edited.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_cti.sql")),
    (3, include_str!("../migrations/0003_sip.sql")),
];

pub const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";
