-- uaCSTA handsets' SIP registrations: each handset's newest binding, written by the node
-- whose registrar took it, read by the node running the handset's connection (which opens
-- the CSTA-over-SIP session). Runtime state: not copied by `ucplus store copy`.
CREATE TABLE sip_registrations (
    device_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    pbx_id TEXT NOT NULL,
    aor TEXT NOT NULL,
    contact TEXT NOT NULL,
    source TEXT NOT NULL,
    transport TEXT NOT NULL,
    call_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    node TEXT NOT NULL
);
CREATE INDEX sip_registrations_tenant ON sip_registrations (tenant_id);
CREATE INDEX sip_registrations_pbx ON sip_registrations (pbx_id);
