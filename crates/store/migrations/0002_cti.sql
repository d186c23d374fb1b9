-- CTI: the extension a tenant knows a device by, presence, directory contacts, call log.
ALTER TABLE devices ADD COLUMN extension TEXT;

CREATE TABLE presence (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    note TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX presence_tenant ON presence (tenant_id);

-- owner_id NULL: a contact shared by the whole tenant; else a user's personal contact.
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    company TEXT,
    email TEXT,
    numbers TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX contacts_tenant ON contacts (tenant_id, owner_id);

-- One row per number, for caller-name lookup.
CREATE TABLE contact_numbers (
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    number TEXT NOT NULL
);
CREATE INDEX contact_numbers_lookup ON contact_numbers (tenant_id, number);

-- Temporal data with its own retention: no foreign keys to users (rows outlive them).
CREATE TABLE call_log (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    pbx_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    missed BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    other_number TEXT,
    other_name TEXT,
    answered_by TEXT,
    started_at BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT NOT NULL,
    ring_ms BIGINT NOT NULL,
    talk_ms BIGINT NOT NULL,
    transferred TEXT NOT NULL,
    cause TEXT
);
CREATE INDEX call_log_user ON call_log (tenant_id, user_id, started_at);
CREATE INDEX call_log_started ON call_log (started_at);
