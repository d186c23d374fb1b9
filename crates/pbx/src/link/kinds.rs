//! The link kinds and their typed settings: one [`LinkKind`] per kind of PBX connection,
//! all registered in one place: the `link_kinds!` invocation below.
//!
//! A connection's settings are stored as a JSON object beside its host and port. They are
//! read here and only here, into [`PbxSettings`]: unknown keys and bad values are refused
//! with the field they concern, and everyone else (the API, the registrar, the launcher)
//! reads the typed value. A new kind is its `PbxKind` variant, a module with its settings
//! type implementing [`LinkKind`], and one line in that invocation.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use ucplus_core::cti::{LinkEvent, LinkState};
use ucplus_core::{Pbx, PbxKind, ValidationErrors};

use super::LinkChannels;
use super::csta::CstaSettings;
use super::sim::SimSettings;
use super::uacsta::{Controller, UacstaSettings};

/// What every link may need from the server to start.
#[derive(Clone)]
pub struct LinkContext {
    /// How long a request to the PBX may take.
    pub request_timeout: Duration,
    /// Serves `uacsta` connections (handsets registered with the SIP registrar).
    pub controller: Arc<Controller>,
    /// Whether this node may still talk to switches (its cluster lease).
    pub lease: super::Lease,
}

/// One kind of PBX link: the settings it understands and how it starts.
pub trait LinkKind: Sized {
    /// The connections this link serves.
    const KIND: PbxKind;
    /// The settings it understands; any other key is refused.
    const FIELDS: &'static [&'static str];

    /// The typed settings; `fields` holds only keys of [`Self::FIELDS`] and names each bad
    /// value. `None` when a value is missing or unusable.
    fn parse(fields: &mut Fields<'_>) -> Option<Self>;

    /// The stored form (what [`Self::parse`] reads back unchanged).
    fn to_json(&self) -> Map<String, Value>;

    /// What else a connection of this kind needs before it is stored: its address, files
    /// its settings name.
    fn check(&self, _pbx: &Pbx, _errors: &mut ValidationErrors) {}

    /// Starts the link task on `channels`.
    fn launch(self, pbx: &Pbx, context: &LinkContext, channels: LinkChannels);
}

/// Generates [`PbxSettings`], one variant per link kind, and its dispatch.
macro_rules! link_kinds {
    ($($variant:ident($settings:ty)),+ $(,)?) => {
        /// The typed settings of a PBX connection: one variant per link kind.
        #[derive(Debug, Clone, PartialEq)]
        pub enum PbxSettings {
            $($variant($settings)),+
        }

        impl PbxSettings {
            /// The settings a connection of `kind` understands.
            pub fn fields(kind: PbxKind) -> &'static [&'static str] {
                $(if kind == <$settings as LinkKind>::KIND {
                    return <$settings as LinkKind>::FIELDS;
                })+
                &[]
            }

            fn parse_kind(kind: PbxKind, fields: &mut Fields<'_>) -> Option<PbxSettings> {
                $(if kind == <$settings as LinkKind>::KIND {
                    return <$settings as LinkKind>::parse(fields).map(PbxSettings::$variant);
                })+
                fields.errors.add("kind", format!("no link serves a {} connection", kind.as_str()));
                None
            }

            pub fn kind(&self) -> PbxKind {
                match self {
                    $(PbxSettings::$variant(_) => <$settings as LinkKind>::KIND),+
                }
            }

            /// The stored form.
            pub fn to_json(&self) -> Value {
                match self {
                    $(PbxSettings::$variant(settings) => Value::Object(settings.to_json())),+
                }
            }

            fn check(&self, pbx: &Pbx, errors: &mut ValidationErrors) {
                match self {
                    $(PbxSettings::$variant(settings) => settings.check(pbx, errors)),+
                }
            }

            /// Starts the connection's link task on `channels`.
            pub fn launch(self, pbx: &Pbx, context: &LinkContext, channels: LinkChannels) {
                match self {
                    $(PbxSettings::$variant(settings) => settings.launch(pbx, context, channels)),+
                }
            }
        }
    };
}

link_kinds! {
    Csta(CstaSettings),
    Sim(SimSettings),
    Uacsta(UacstaSettings),
}

impl PbxSettings {
    /// The typed settings of a connection of `kind` from their stored form, naming every
    /// unknown key and bad value.
    pub fn parse(kind: PbxKind, stored: &Value, errors: &mut ValidationErrors) -> Option<Self> {
        let Some(map) = stored.as_object() else {
            errors.add("settings", "must be an object");
            return None;
        };
        let known = PbxSettings::fields(kind);
        let before = errors.0.len();
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                errors.add(
                    key,
                    format!(
                        "unknown field for a {} connection (known: host, port, {})",
                        kind.as_str(),
                        known.join(", ")
                    ),
                );
            }
        }
        let unknown = errors.0.len() > before;
        let settings = PbxSettings::parse_kind(kind, &mut Fields { map, errors });
        settings.filter(|_| !unknown)
    }

    /// The typed settings of a stored connection.
    pub fn of(pbx: &Pbx) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        match PbxSettings::parse(pbx.kind, &pbx.settings, &mut errors) {
            Some(settings) if errors.0.is_empty() => Ok(settings),
            _ => Err(errors),
        }
    }

    /// Checks a connection before it is stored: its settings, and what its kind needs
    /// besides (address, readable files). Values are checked here, not first when the link
    /// starts: a setting the link cannot use is refused instead of stored.
    pub fn validate(pbx: &Pbx, errors: &mut ValidationErrors) -> Option<Self> {
        let settings = PbxSettings::parse(pbx.kind, &pbx.settings, errors)?;
        settings.check(pbx, errors);
        Some(settings)
    }

    /// The SIP domain of a `uacsta` connection (the realm its handsets register in).
    pub fn sip_domain(&self) -> Option<&str> {
        match self {
            PbxSettings::Uacsta(settings) => Some(&settings.sip_domain),
            _ => None,
        }
    }
}

/// The settings of one connection while they are read: typed getters that name the field
/// of each bad value. `null` is the same as absent.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    /// Where each bad value is named.
    pub errors: &'a mut ValidationErrors,
}

impl Fields<'_> {
    /// A present, non-null value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// A text setting.
    pub fn text(&mut self, key: &str) -> Option<String> {
        let value = self.get(key)?;
        match value.as_str() {
            Some(text) => Some(text.to_string()),
            None => {
                self.errors.add(key, "must be a string");
                None
            }
        }
    }

    /// A true/false setting.
    pub fn flag(&mut self, key: &str) -> Option<bool> {
        let value = self.get(key)?;
        match value.as_bool() {
            Some(flag) => Some(flag),
            None => {
                self.errors.add(key, "must be true or false");
                None
            }
        }
    }

    /// A whole-number setting within `range`; `message` says what it may be.
    pub fn whole(
        &mut self,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
        message: &str,
    ) -> Option<u64> {
        let number = self.get(key)?.as_u64().filter(|n| range.contains(n));
        if number.is_none() {
            self.errors.add(key, message);
        }
        number
    }

    /// A text setting that `parse` accepts; `message` says what it may be.
    pub fn choice<T>(
        &mut self,
        key: &str,
        parse: impl Fn(&str) -> Option<T>,
        message: &str,
    ) -> Option<T> {
        let chosen = self.get(key)?.as_str().and_then(parse);
        if chosen.is_none() {
            self.errors.add(key, message);
        }
        chosen
    }
}

/// Why a link cannot start (it reports itself down with this, once). Why a running link
/// went down is its kind's own error, e.g. [`LinkFailure`](super::csta::LinkFailure) for
/// CSTA, after which the link reconnects.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("invalid settings: {}", describe(.0))]
    InvalidSettings(ValidationErrors),
    #[error("the simulator did not start: {0}")]
    Simulator(std::io::Error),
    #[error("the SIP listener is off (set sip.listen)")]
    NoSipListener,
    /// The server could not open what the link needs (a stored secret).
    #[error(transparent)]
    Server(Box<dyn std::error::Error + Send + Sync>),
}

fn describe(errors: &ValidationErrors) -> String {
    let problems: Vec<String> = errors
        .0
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect();
    problems.join("; ")
}

/// A link that cannot start: says why, then waits to be stopped.
pub fn refuse(channels: LinkChannels, error: LinkError) {
    tokio::spawn(async move {
        let _ = channels
            .events
            .send(LinkEvent::State {
                state: LinkState::Down,
                error: Some(error.to_string()),
            })
            .await;
        let mut shutdown = channels.shutdown;
        let _ = shutdown.wait_for(|stop| *stop).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: PbxKind, settings: Value) -> Result<PbxSettings, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        match PbxSettings::parse(kind, &settings, &mut errors) {
            Some(settings) if errors.0.is_empty() => Ok(settings),
            _ => Err(errors),
        }
    }

    #[test]
    fn every_kind_has_a_link() {
        for kind in [PbxKind::Csta, PbxKind::Sim, PbxKind::Uacsta] {
            assert!(!PbxSettings::fields(kind).is_empty(), "{kind:?}");
        }
        assert_eq!(
            parse(PbxKind::Sim, serde_json::json!({"devices": "200"}))
                .unwrap()
                .kind(),
            PbxKind::Sim
        );
    }

    #[test]
    fn unknown_keys_are_named_with_the_known_ones() {
        let errors = parse(
            PbxKind::Uacsta,
            serde_json::json!({"sip_domain": "acme.example", "devices": "200", "tls": true}),
        )
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["devices", "tls"]);
        assert_eq!(
            errors.0[0].message,
            "unknown field for a uacsta connection (known: host, port, sip_domain)"
        );
        let errors = parse(PbxKind::Sim, serde_json::json!(["200"])).unwrap_err();
        assert_eq!(errors.0[0].field, "settings");
    }

    #[test]
    fn null_is_absent() {
        let settings = parse(
            PbxKind::Csta,
            serde_json::json!({"login": null, "edition": null}),
        )
        .unwrap();
        assert_eq!(settings.to_json(), serde_json::json!({}));
    }
}
