//! The `uacsta` settings.

use serde_json::json;
use ucplus_core::ValidationErrors;

use super::*;
use crate::link::kinds::PbxSettings;

fn parse(settings: Value) -> Result<UacstaSettings, Vec<(String, String)>> {
    let mut errors = ValidationErrors::new();
    match PbxSettings::parse(PbxKind::Uacsta, &settings, &mut errors) {
        Some(PbxSettings::Uacsta(settings)) if errors.0.is_empty() => Ok(settings),
        _ => Err(errors.0.into_iter().map(|e| (e.field, e.message)).collect()),
    }
}

#[test]
fn the_sip_domain_is_read_and_written_back() {
    let stored = json!({"sip_domain": "acme.example"});
    let settings = parse(stored.clone()).unwrap();
    assert_eq!(settings.sip_domain, "acme.example");
    assert_eq!(Value::Object(settings.to_json()), stored);
    assert_eq!(
        PbxSettings::Uacsta(settings).sip_domain(),
        Some("acme.example")
    );
}

#[test]
fn each_bad_value_is_named() {
    for (settings, message) in [
        (
            json!({}),
            "a uaCSTA connection needs the tenant's SIP domain",
        ),
        (
            json!({"sip_domain": "localhost"}),
            "must be a DNS domain, e.g. acme.example.com",
        ),
        (
            json!({"sip_domain": "acme example.com"}),
            "must be a DNS domain, e.g. acme.example.com",
        ),
        (
            json!({"sip_domain": 7}),
            "must be a DNS domain, e.g. acme.example.com",
        ),
    ] {
        assert_eq!(
            parse(settings.clone()).unwrap_err(),
            [("sip_domain".to_string(), message.to_string())],
            "{settings}"
        );
    }
}
