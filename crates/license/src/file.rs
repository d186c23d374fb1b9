//! The license file: a JSON grant signed with Ed25519, armoured as text so that it can be
//! pasted into a web form, an e-mail or a terminal without damage.
//!
//! ```text
//! -----BEGIN UCPLUS LICENSE-----
//! # customer: ACME Hosting | items: desktop=100, mt-starter-5=1 | expires: 2027-12-31
//! eyJmb3JtYXQiOjEsImlkIjoi...   (base64 of the JSON grant, wrapped at 64 columns)
//! ...
//! .BASE64-SIGNATURE-OF-THE-GRANT-BYTES
//! -----END UCPLUS LICENSE-----
//! ```
//! `#` lines are a human-readable summary and are not trusted; only the signed grant counts.
//! Whitespace, CRLF line ends and indentation from pasting are ignored.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, Verifier};
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use crate::types::ItemType;

const BEGIN: &str = "-----BEGIN UCPLUS LICENSE-----";
const END: &str = "-----END UCPLUS LICENSE-----";
const KEY_BEGIN: &str = "-----BEGIN UCPLUS LICENSE SIGNING KEY-----";
const KEY_END: &str = "-----END UCPLUS LICENSE SIGNING KEY-----";
const PUBLIC_KEY_PREFIX: &str = "ed25519:";
/// Larger inputs are refused before any decoding work.
const MAX_LICENSE_TEXT: usize = 64 * 1024;
const FORMAT_VERSION: u32 = 1;

/// Why a license file cannot be used. Each variant has a stable API code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseError {
    #[error("the license text is not a ucplus license file: {0}")]
    Malformed(String),
    #[error("the license signature does not match any trusted vendor key")]
    InvalidSignature,
    #[error("the license is bound to system {license} but this server is {server}")]
    WrongSystem { license: String, server: String },
    #[error("the license expired on {0}")]
    Expired(Date),
}

impl LicenseError {
    pub fn code(&self) -> &'static str {
        match self {
            LicenseError::Malformed(_) => "malformed_license",
            LicenseError::InvalidSignature => "invalid_signature",
            LicenseError::WrongSystem { .. } => "wrong_system",
            LicenseError::Expired(_) => "license_expired",
        }
    }
}

/// The signed content of a license file, as issued by the vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub format: u32,
    pub id: String,
    pub system_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    pub issued: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    pub items: BTreeMap<String, u32>,
}

/// A license whose signature has been checked against a trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub id: String,
    pub system_id: String,
    pub customer: Option<String>,
    pub issued: Date,
    /// Last day (UTC) on which the license counts; `None` never expires.
    pub expires: Option<Date>,
    pub items: BTreeMap<ItemType, u32>,
    /// The armoured text it was loaded from, kept so it can be persisted verbatim.
    pub text: String,
}

impl License {
    /// Parses armoured license text and checks its signature against `trusted` keys.
    /// Binding and expiry are checked separately ([`License::check_system`],
    /// [`License::check_not_expired`]) so that `license verify` can report them all.
    pub fn verify(text: &str, trusted: &[PublicKey]) -> Result<License, LicenseError> {
        let (grant_bytes, signature) = dearmour(text)?;
        let signature = Signature::from_slice(&signature)
            .map_err(|_| LicenseError::Malformed("the signature has the wrong length".into()))?;
        // The signature is checked before the grant is even parsed: nothing unsigned is
        // interpreted.
        if !trusted
            .iter()
            .any(|key| key.0.verify(&grant_bytes, &signature).is_ok())
        {
            return Err(LicenseError::InvalidSignature);
        }
        let grant: Grant = serde_json::from_slice(&grant_bytes)
            .map_err(|e| LicenseError::Malformed(format!("the grant is not valid: {e}")))?;
        License::from_grant(grant, text.trim().to_string())
    }

    fn from_grant(grant: Grant, text: String) -> Result<License, LicenseError> {
        if grant.format != FORMAT_VERSION {
            return Err(LicenseError::Malformed(format!(
                "unsupported license format version {}",
                grant.format
            )));
        }
        let mut items = BTreeMap::new();
        for (name, quantity) in &grant.items {
            let item: ItemType = name
                .parse()
                .map_err(|e| LicenseError::Malformed(format!("{e}")))?;
            if *quantity == 0 {
                return Err(LicenseError::Malformed(format!(
                    "item `{name}` has quantity 0"
                )));
            }
            items.insert(item, *quantity);
        }
        if items.is_empty() {
            return Err(LicenseError::Malformed("the license grants nothing".into()));
        }
        Ok(License {
            id: grant.id,
            system_id: grant.system_id,
            customer: grant.customer,
            issued: parse_date(&grant.issued)?,
            expires: grant.expires.as_deref().map(parse_date).transpose()?,
            items,
            text,
        })
    }

    pub fn check_system(&self, system_id: &str) -> Result<(), LicenseError> {
        if self.system_id == system_id {
            Ok(())
        } else {
            Err(LicenseError::WrongSystem {
                license: self.system_id.clone(),
                server: system_id.to_string(),
            })
        }
    }

    /// A license counts through its expiry day inclusive.
    pub fn is_expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|last_day| today > last_day)
    }

    pub fn check_not_expired(&self, today: Date) -> Result<(), LicenseError> {
        match self.expires {
            Some(last_day) if today > last_day => Err(LicenseError::Expired(last_day)),
            _ => Ok(()),
        }
    }

    pub fn has_starter_pack(&self) -> bool {
        self.items.keys().any(|item| item.is_starter_pack())
    }
}

/// What the vendor signs to make a license. Used by `ucplus license issue` and tests.
#[derive(Debug, Clone)]
pub struct Issue {
    pub id: String,
    pub system_id: String,
    pub customer: Option<String>,
    pub issued: Date,
    pub expires: Option<Date>,
    pub items: BTreeMap<ItemType, u32>,
}

impl Issue {
    /// Signs the grant and returns the armoured license text.
    pub fn sign(&self, key: &SigningKey) -> String {
        let grant = Grant {
            format: FORMAT_VERSION,
            id: self.id.clone(),
            system_id: self.system_id.clone(),
            customer: self.customer.clone(),
            issued: format_date(self.issued),
            expires: self.expires.map(format_date),
            items: self
                .items
                .iter()
                .map(|(item, quantity)| (item.as_str().to_string(), *quantity))
                .collect(),
        };
        // Serializing a struct of strings and integers cannot fail.
        let grant_bytes = serde_json::to_vec(&grant).unwrap_or_default();
        let signature = key.0.sign(&grant_bytes);
        let summary = summary_line(&grant);
        let body = format!(
            "{}.{}",
            B64.encode(&grant_bytes),
            B64.encode(signature.to_bytes())
        );
        let mut text = format!("{BEGIN}\n{summary}\n");
        for chunk in body.as_bytes().chunks(64) {
            text.push_str(&String::from_utf8_lossy(chunk));
            text.push('\n');
        }
        text.push_str(END);
        text.push('\n');
        text
    }
}

fn summary_line(grant: &Grant) -> String {
    let items: Vec<String> = grant
        .items
        .iter()
        .map(|(name, quantity)| format!("{name}={quantity}"))
        .collect();
    let customer = grant.customer.as_deref().unwrap_or("-").replace('\n', " ");
    format!(
        "# customer: {customer} | items: {} | expires: {}",
        items.join(", "),
        grant.expires.as_deref().unwrap_or("never")
    )
}

/// Splits armoured text into the grant bytes and the signature bytes.
fn dearmour(text: &str) -> Result<(Vec<u8>, Vec<u8>), LicenseError> {
    if text.len() > MAX_LICENSE_TEXT {
        return Err(LicenseError::Malformed(format!(
            "the license text is larger than {MAX_LICENSE_TEXT} bytes"
        )));
    }
    let start = text
        .find(BEGIN)
        .ok_or_else(|| LicenseError::Malformed(format!("no `{BEGIN}` line")))?;
    let inner = &text[start + BEGIN.len()..];
    let end = inner
        .find(END)
        .ok_or_else(|| LicenseError::Malformed(format!("no `{END}` line")))?;
    let body: String = inner[..end]
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    let (grant, signature) = body
        .split_once('.')
        .ok_or_else(|| LicenseError::Malformed("the license body has no signature part".into()))?;
    let decode = |part: &str, what: &str| {
        B64.decode(part)
            .map_err(|_| LicenseError::Malformed(format!("the {what} is not valid base64")))
    };
    Ok((decode(grant, "grant")?, decode(signature, "signature")?))
}

/// `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<Date, LicenseError> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| LicenseError::Malformed(format!("`{text}` is not a YYYY-MM-DD date")))
}

pub fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// A vendor signing key (kept secret by whoever issues licenses).
pub struct SigningKey(ed25519_dalek::SigningKey);

/// A public key the server trusts, written `ed25519:BASE64`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<SigningKey, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)?;
        Ok(SigningKey::from_seed(seed))
    }

    pub fn from_seed(seed: [u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The armoured text form of the secret key, as written by `license keygen`.
    pub fn to_text(&self) -> String {
        format!(
            "{KEY_BEGIN}\n{}\n{KEY_END}\n",
            B64.encode(self.0.to_bytes())
        )
    }

    pub fn from_text(text: &str) -> Result<SigningKey, String> {
        let start = text
            .find(KEY_BEGIN)
            .ok_or("not a ucplus license signing key file")?;
        let inner = &text[start + KEY_BEGIN.len()..];
        let end = inner
            .find(KEY_END)
            .ok_or("the signing key file is cut short")?;
        let body: String = inner[..end].split_whitespace().collect();
        let bytes = B64
            .decode(body)
            .map_err(|_| "the signing key is not valid base64")?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the signing key has the wrong length")?;
        Ok(SigningKey::from_seed(seed))
    }
}

impl PublicKey {
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let text = text.trim();
        let encoded = text
            .strip_prefix(PUBLIC_KEY_PREFIX)
            .ok_or_else(|| format!("a public key starts with `{PUBLIC_KEY_PREFIX}`"))?;
        let bytes = B64
            .decode(encoded)
            .map_err(|_| "the public key is not valid base64".to_string())?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the public key has the wrong length".to_string())?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| "the public key is not a valid Ed25519 point".to_string())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", B64.encode(self.0.to_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::LicenseType;
    use proptest::prelude::*;
    use time::macros::date;

    fn issue(items: &[(ItemType, u32)]) -> Issue {
        Issue {
            id: "8a7c2a4e-0000-4000-8000-000000000001".into(),
            system_id: "sys-1".into(),
            customer: Some("ACME Hosting".into()),
            issued: date!(2026 - 11 - 01),
            expires: Some(date!(2027 - 01 - 31)),
            items: items.iter().copied().collect(),
        }
    }

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed([n; 32])
    }

    #[test]
    fn signed_license_verifies_and_keeps_its_grant() {
        let text = issue(&[
            (ItemType::MtStarter5, 1),
            (ItemType::Pool(LicenseType::Desktop), 50),
        ])
        .sign(&key(1));
        let license = License::verify(&text, &[key(9).public_key(), key(1).public_key()])
            .expect("valid license");
        assert_eq!(license.system_id, "sys-1");
        assert_eq!(license.items[&ItemType::Pool(LicenseType::Desktop)], 50);
        assert!(license.has_starter_pack());
        assert_eq!(license.check_system("sys-1"), Ok(()));
        assert_eq!(
            license.check_system("sys-2").unwrap_err().code(),
            "wrong_system"
        );
        assert!(!license.is_expired(date!(2027 - 01 - 31)));
        assert!(license.is_expired(date!(2027 - 02 - 01)));
        assert_eq!(
            license
                .check_not_expired(date!(2027 - 02 - 01))
                .unwrap_err()
                .code(),
            "license_expired"
        );
    }

    #[test]
    fn pasted_text_with_crlf_and_indentation_still_verifies() {
        let text = issue(&[(ItemType::Pool(LicenseType::Api), 3)]).sign(&key(1));
        let pasted = format!(
            "Dear customer, here is your license:\r\n\r\n{}\r\nRegards",
            text.lines()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\r\n")
        );
        assert!(License::verify(&pasted, &[key(1).public_key()]).is_ok());
    }

    #[test]
    fn untrusted_key_is_an_invalid_signature() {
        let text = issue(&[(ItemType::Pool(LicenseType::Api), 3)]).sign(&key(1));
        let err = License::verify(&text, &[key(2).public_key()]).unwrap_err();
        assert_eq!(err.code(), "invalid_signature");
        assert_eq!(
            License::verify(&text, &[]).unwrap_err().code(),
            "invalid_signature"
        );
    }

    #[test]
    fn tampered_grant_is_an_invalid_signature() {
        let text = issue(&[(ItemType::Pool(LicenseType::Desktop), 5)]).sign(&key(1));
        // Re-encode the grant with a larger quantity but keep the old signature.
        let (grant, signature) = dearmour(&text).unwrap();
        let forged = String::from_utf8(grant)
            .unwrap()
            .replace("\"desktop\":5", "\"desktop\":500");
        let forged_text = format!(
            "{BEGIN}\n{}.{}\n{END}\n",
            B64.encode(forged.as_bytes()),
            B64.encode(signature)
        );
        assert_eq!(
            License::verify(&forged_text, &[key(1).public_key()])
                .unwrap_err()
                .code(),
            "invalid_signature"
        );
    }

    #[test]
    fn summary_lines_are_not_trusted() {
        let text = issue(&[(ItemType::Pool(LicenseType::Desktop), 5)]).sign(&key(1));
        let edited = text.replace("desktop=5", "desktop=5000");
        let license = License::verify(&edited, &[key(1).public_key()]).unwrap();
        assert_eq!(license.items[&ItemType::Pool(LicenseType::Desktop)], 5);
    }

    #[test]
    fn malformed_inputs_have_reasons() {
        let trusted = [key(1).public_key()];
        for bad in [
            "",
            "hello",
            "-----BEGIN UCPLUS LICENSE-----\nabc",
            "-----BEGIN UCPLUS LICENSE-----\n!!!.???\n-----END UCPLUS LICENSE-----",
            "-----BEGIN UCPLUS LICENSE-----\nYWJj\n-----END UCPLUS LICENSE-----",
            "-----BEGIN UCPLUS LICENSE-----\nYWJj.YWJj\n-----END UCPLUS LICENSE-----",
        ] {
            let err = License::verify(bad, &trusted).unwrap_err();
            assert_eq!(err.code(), "malformed_license", "{bad:?}: {err}");
        }
    }

    #[test]
    fn unknown_item_or_zero_quantity_is_malformed_even_when_signed() {
        let mut grant_issue = issue(&[(ItemType::Pool(LicenseType::Desktop), 0)]);
        let text = grant_issue.sign(&key(1));
        assert_eq!(
            License::verify(&text, &[key(1).public_key()])
                .unwrap_err()
                .code(),
            "malformed_license"
        );
        grant_issue.items.clear();
        let text = grant_issue.sign(&key(1));
        assert_eq!(
            License::verify(&text, &[key(1).public_key()])
                .unwrap_err()
                .code(),
            "malformed_license"
        );
    }

    #[test]
    fn keys_round_trip_through_text() {
        let signing = key(7);
        let restored = SigningKey::from_text(&signing.to_text()).unwrap();
        assert_eq!(restored.public_key(), signing.public_key());
        let public = signing.public_key().to_string();
        assert_eq!(PublicKey::parse(&public).unwrap(), signing.public_key());
        assert!(PublicKey::parse("ed25519:AAAA").is_err());
        assert!(PublicKey::parse("rsa:AAAA").is_err());
        assert!(SigningKey::from_text("nope").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,400}") {
            let _ = License::verify(&text, &[key(1).public_key()]);
            let _ = SigningKey::from_text(&text);
            let _ = PublicKey::parse(&text);
        }

        #[test]
        fn arbitrary_armoured_body_never_panics(body in "[A-Za-z0-9+/=.\\s#]{0,300}") {
            let text = format!("{BEGIN}\n{body}\n{END}");
            let _ = License::verify(&text, &[key(1).public_key()]);
        }

        #[test]
        fn issue_then_verify_round_trips(
            desktop in 1u32..10_000,
            tenants in 1u32..100,
            customer in "[ -~]{0,40}",
        ) {
            let mut grant_issue = issue(&[
                (ItemType::Pool(LicenseType::Desktop), desktop),
                (ItemType::Pool(LicenseType::Tenant), tenants),
            ]);
            grant_issue.customer = Some(customer.clone());
            let license = License::verify(&grant_issue.sign(&key(3)), &[key(3).public_key()]).unwrap();
            prop_assert_eq!(license.customer, Some(customer));
            prop_assert_eq!(license.items, grant_issue.items);
        }
    }
}
