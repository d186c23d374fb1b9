//! Secrets at rest: settings such as a PBX link's password are stored encrypted
//! (ChaCha20-Poly1305) with a key that is not in the database, so a copy of the database
//! alone (a backup, a leaked file) does not reveal them.
//!
//! The key comes from `UCPLUS_SECRETS_KEY` (32 bytes, base64) or, when that is not set,
//! from `secrets.key` in the data directory, made on first start (mode 0600). Stored form:
//! `enc:v1:` + base64(nonce ‖ ciphertext ‖ tag).

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// PBX settings that are secrets: stored encrypted, never returned by the API.
pub const SECRET_SETTINGS: &[&str] = &["password"];

/// The file in the data directory that holds the key when no key is configured.
pub const KEY_FILE: &str = "secrets.key";
const PREFIX: &str = "enc:v1:";
const KEY_LEN: usize = 32;

/// Encrypts and decrypts stored secrets.
pub struct SecretBox {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// A stored secret that cannot be read with this key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a stored secret cannot be decrypted: the secrets key is not the one it was stored with, or the value was altered"
)]
pub struct Undecryptable;

impl SecretBox {
    pub fn from_key(bytes: &[u8; KEY_LEN]) -> SecretBox {
        // 32 bytes is exactly ChaCha20-Poly1305's key length: this cannot fail.
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .unwrap_or_else(|_| unreachable!("a 32-byte ChaCha20-Poly1305 key"));
        SecretBox {
            key: LessSafeKey::new(unbound),
        }
    }

    /// The key from `configured` (base64), else from the data directory's key file,
    /// making that file on first use.
    pub fn open(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<SecretBox> {
        if let Some(text) = configured {
            return Self::parse_key(text).context("UCPLUS_SECRETS_KEY");
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse_key(&text).with_context(|| format!("{}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; KEY_LEN];
                getrandom::getrandom(&mut key)
                    .map_err(|e| anyhow::anyhow!("no OS random source for the secrets key: {e}"))?;
                write_private(&path, &STANDARD.encode(key))
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::info!(path = %path.display(), "made the key for secrets at rest; back it up apart from the database");
                Ok(SecretBox::from_key(&key))
            }
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn parse_key(text: &str) -> anyhow::Result<SecretBox> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| anyhow::anyhow!("the secrets key is not base64: {e}"))?;
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the secrets key must be {KEY_LEN} bytes"))?;
        Ok(SecretBox::from_key(&key))
    }

    /// Encrypts the secret settings of `settings` that are still plain; whether any was.
    pub fn seal_settings(&self, settings: &mut serde_json::Value) -> anyhow::Result<bool> {
        let mut sealed_any = false;
        for key in SECRET_SETTINGS {
            if let Some(value) = settings.get_mut(*key)
                && let Some(plain) = value.as_str().filter(|v| !Self::is_sealed(v))
            {
                *value = serde_json::Value::String(self.seal(plain)?);
                sealed_any = true;
            }
        }
        Ok(sealed_any)
    }

    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    /// The stored form of `plain`.
    pub fn seal(&self, plain: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce)
            .map_err(|e| anyhow::anyhow!("no OS random source for a nonce: {e}"))?;
        let mut buffer = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(PREFIX),
                &mut buffer,
            )
            .map_err(|_| anyhow::anyhow!("encrypting a secret failed"))?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&buffer);
        Ok(format!("{PREFIX}{}", STANDARD.encode(stored)))
    }

    /// The plain text of a stored secret (a value stored before encryption is returned as
    /// it is).
    pub fn open_value(&self, stored: &str) -> Result<String, Undecryptable> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let bytes = STANDARD.decode(encoded).map_err(|_| Undecryptable)?;
        if bytes.len() < NONCE_LEN {
            return Err(Undecryptable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Undecryptable)?;
        let mut buffer = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(PREFIX), &mut buffer)
            .map_err(|_| Undecryptable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| Undecryptable)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_a_fresh_nonce_each_time_and_tamper_detection() {
        let secrets = SecretBox::from_key(&[7; 32]);
        let first = secrets.seal("pässword").unwrap();
        let second = secrets.seal("pässword").unwrap();
        assert!(SecretBox::is_sealed(&first) && !first.contains("pässword"));
        assert_ne!(first, second, "a new nonce every time");
        assert_eq!(secrets.open_value(&first).unwrap(), "pässword");
        // Another key, a flipped byte, junk: refused, never garbage.
        let other = SecretBox::from_key(&[8; 32]);
        assert_eq!(other.open_value(&first), Err(Undecryptable));
        let mut bytes = STANDARD.decode(&first[PREFIX.len()..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{PREFIX}{}", STANDARD.encode(bytes));
        assert_eq!(secrets.open_value(&tampered), Err(Undecryptable));
        for junk in ["enc:v1:", "enc:v1:!!", "enc:v1:AAAA"] {
            assert_eq!(secrets.open_value(junk), Err(Undecryptable));
        }
        // Stored before encryption existed: read as it is.
        assert_eq!(secrets.open_value("plain").unwrap(), "plain");
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = SecretBox::open(None, dir.path())
            .unwrap()
            .seal("x")
            .unwrap();
        let again = SecretBox::open(None, dir.path()).unwrap();
        assert_eq!(again.open_value(&sealed).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(SecretBox::open(Some("not base64!"), dir.path()).is_err());
        assert!(SecretBox::open(Some("AAAA"), dir.path()).is_err());
    }
}
