-- Sessions: a token works on every node and survives restarts. Only the token's hash.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    tenant_id TEXT,
    role TEXT NOT NULL,
    client TEXT,
    node TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    idle_timeout_ms BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX sessions_node ON sessions (node);
CREATE INDEX sessions_user ON sessions (user_id);
