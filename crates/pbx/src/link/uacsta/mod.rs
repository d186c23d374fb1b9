//! The `uacsta` link kind: SIP handsets controlled with CSTA over SIP (ECMA TR/87). The
//! handsets register with the server's SIP registrar; the [`Controller`] opens a session
//! to each and serves the connection's link. Setting: `sip_domain` (required), the realm
//! the connection's handsets register in; it names the connection on the whole server.

mod controller;
mod flow;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};
use ucplus_core::{Pbx, PbxKind};

pub use controller::{Controller, Flow, Handset};

use super::LinkChannels;
use super::kinds::{Fields, LinkContext, LinkKind};

/// A `uacsta` connection's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UacstaSettings {
    /// A DNS domain, e.g. `acme.example.com`.
    pub sip_domain: String,
}

/// Whether `domain` can be a SIP domain (a DNS name).
fn is_domain(domain: &str) -> bool {
    (3..=253).contains(&domain.len())
        && domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

impl LinkKind for UacstaSettings {
    const KIND: PbxKind = PbxKind::Uacsta;
    const FIELDS: &'static [&'static str] = &["sip_domain"];

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        let Some(value) = fields.get("sip_domain") else {
            fields.errors.add(
                "sip_domain",
                "a uaCSTA connection needs the tenant's SIP domain",
            );
            return None;
        };
        match value.as_str().filter(|domain| is_domain(domain)) {
            Some(domain) => Some(UacstaSettings {
                sip_domain: domain.to_string(),
            }),
            None => {
                fields
                    .errors
                    .add("sip_domain", "must be a DNS domain, e.g. acme.example.com");
                None
            }
        }
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("sip_domain".into(), Value::from(self.sip_domain.clone()));
        map
    }

    fn launch(self, pbx: &Pbx, context: &LinkContext, channels: LinkChannels) {
        context
            .controller
            .attach(pbx.id, context.lease.clone(), channels);
    }
}
