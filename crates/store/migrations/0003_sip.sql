-- uaCSTA handsets: SIP credentials per device (digest HA1 values, never the password).
ALTER TABLE devices ADD COLUMN sip_username TEXT;
ALTER TABLE devices ADD COLUMN sip_ha1_md5 TEXT;
ALTER TABLE devices ADD COLUMN sip_ha1_sha256 TEXT;
