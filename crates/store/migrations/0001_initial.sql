-- Portable SQL: TEXT ids, BIGINT unix-ms times, no backend-specific types.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE licenses (
    id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    loaded_at BIGINT NOT NULL
);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE tenant_limits (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    license_type TEXT NOT NULL,
    cap BIGINT,
    reserved BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, license_type)
);

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    address TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sites_tenant ON sites (tenant_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    site_id TEXT REFERENCES sites (id) ON DELETE SET NULL,
    licenses TEXT NOT NULL,
    email TEXT,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_tenant_username ON users (tenant_id, username);
CREATE UNIQUE INDEX users_system_admin_username ON users (username) WHERE tenant_id IS NULL;

CREATE TABLE pbxs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    host TEXT,
    port BIGINT,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    pbx_id TEXT NOT NULL REFERENCES pbxs (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (pbx_id, device_id)
);
CREATE INDEX devices_tenant ON devices (tenant_id);

-- The audit log and usage samples outlive the tenants they describe: no foreign keys.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id TEXT,
    actor_username TEXT NOT NULL,
    tenant_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL,
    source TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);

CREATE TABLE license_usage (
    tenant_id TEXT NOT NULL,
    license_type TEXT NOT NULL,
    hour BIGINT NOT NULL,
    peak BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, license_type, hour)
);
