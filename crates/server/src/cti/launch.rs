//! Starts the link task of each PBX connection: opens the stored secrets of its settings,
//! reads them into their typed form and hands them to their link kind
//! ([`pbx::link::kinds`], where the kinds and their settings are described).

use pbx::link::kinds::{LinkContext, LinkError, PbxSettings, refuse};
use serde_json::Value;
use ucplus_core::Pbx;

use super::LinkLauncher;
use super::link::LinkChannels;

/// The link kinds of this build.
pub struct Launcher {
    /// What the links need: the request timeout, the uaCSTA controller.
    pub context: LinkContext,
    /// Opens the link password stored encrypted.
    pub secrets: std::sync::Arc<crate::secrets::SecretBox>,
}

impl LinkLauncher for Launcher {
    fn launch(&self, pbx: &Pbx, channels: LinkChannels) {
        let mut pbx = pbx.clone();
        for key in crate::secrets::SECRET_SETTINGS {
            let Some(stored) = pbx.settings.get_mut(*key) else {
                continue;
            };
            let opened = stored.as_str().map(|text| self.secrets.open_value(text));
            match opened {
                Some(Ok(plain)) => *stored = Value::String(plain),
                Some(Err(error)) => {
                    refuse(channels, LinkError::Server(Box::new(error)));
                    return;
                }
                None => {}
            }
        }
        match PbxSettings::of(&pbx) {
            Ok(settings) => settings.launch(&pbx, &self.context, channels),
            Err(errors) => refuse(channels, LinkError::InvalidSettings(errors)),
        }
    }
}
