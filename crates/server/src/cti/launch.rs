//! Starts the link task of each PBX connection kind.

use ucplus_core::cti::{LinkEvent, LinkState};
use ucplus_core::{Pbx, PbxKind};

use super::LinkLauncher;
use super::link::LinkChannels;

/// The link kinds of this build.
pub struct Launcher;

impl LinkLauncher for Launcher {
    fn launch(&self, pbx: &Pbx, channels: LinkChannels) {
        let kind = pbx.kind;
        tokio::spawn(async move {
            let error = match kind {
                PbxKind::Csta | PbxKind::Sim | PbxKind::Uacsta => {
                    format!("links of kind {} are not available in this build", kind.as_str())
                }
            };
            let _ = channels
                .events
                .send(LinkEvent::State { state: LinkState::Down, error: Some(error) })
                .await;
            let mut shutdown = channels.shutdown;
            let _ = shutdown.wait_for(|stop| *stop).await;
        });
    }
}
