-- Several nodes on one PostgreSQL database: each node's lease (times by the database's
-- clock, unix ms) and each PBX link's lease with its epoch, the fencing token. Runtime
-- state: not copied by `ucplus store copy`.
CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    renewed_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The link's state as its node last reported it (written under the epoch), so every
-- node shows every link.
CREATE TABLE pbx_leases (
    pbx_id TEXT PRIMARY KEY,
    node TEXT,
    epoch BIGINT NOT NULL,
    claimed_at BIGINT NOT NULL,
    state TEXT,
    since BIGINT,
    error TEXT,
    session TEXT
);
CREATE INDEX pbx_leases_node ON pbx_leases (node);

-- One row per license type, locked by each grant so that nodes granting at once count
-- the cluster's seats one after the other.
CREATE TABLE license_locks (
    license_type TEXT PRIMARY KEY
);
