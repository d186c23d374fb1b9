//! The controller's side facing the connections' links: attaching a `uacsta` connection's
//! link (its requests go to the handsets' sessions), forgetting its sessions when it
//! stops, and what the registrar asks about the links and sessions running here.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;
use ucplus_core::cti::{LinkEvent, LinkState, PbxError, PbxRequest, PbxResponse};
use ucplus_core::{DeviceRecordId, PbxId};

use super::{Controller, Purpose, body, lock};
use crate::link::csta::request_message;
use crate::link::kinds::LinkError;
use crate::link::{Lease, LinkChannels};

impl Controller {
    /// A `uacsta` connection's link, under this node's `lease`: up while the controller
    /// serves it; requests go to the handsets' sessions. Wakes [`Controller::attached`].
    pub fn attach(self: &Arc<Self>, pbx: PbxId, lease: Lease, channels: LinkChannels) {
        let LinkChannels {
            devices: _,
            mut requests,
            events,
            mut shutdown,
        } = channels;
        *self.lease.write().unwrap_or_else(|e| e.into_inner()) = lease;
        let attachment = {
            let mut state = lock(&self.state);
            state.attachments += 1;
            let attachment = state.attachments;
            state.links.insert(pbx, (attachment, events.clone()));
            attachment
        };
        self.attached.notify_one();
        let controller = self.clone();
        tokio::spawn(async move {
            let up = if controller.socket.get().is_some() {
                LinkEvent::State {
                    state: LinkState::Up,
                    error: None,
                }
            } else {
                LinkEvent::State {
                    state: LinkState::Down,
                    error: Some(LinkError::NoSipListener.to_string()),
                }
            };
            let _ = events.send(up).await;
            loop {
                tokio::select! {
                    request = requests.recv() => match request {
                        Some(request) => controller.request(pbx, request.request, request.reply),
                        None => break,
                    },
                    changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() { break },
                }
            }
            controller.detach(pbx, attachment);
        });
    }

    /// A connection's link stopped: its sessions are forgotten, without a word to the
    /// phones (this node may have lost the link to another, which opens its own), and the
    /// requests waiting on them fail.
    fn detach(&self, pbx: PbxId, attachment: u64) {
        let mut state = lock(&self.state);
        if state.links.get(&pbx).is_some_and(|(a, _)| *a == attachment) {
            state.links.remove(&pbx);
        }
        let gone: Vec<DeviceRecordId> = state
            .sessions
            .iter()
            .filter(|(_, s)| s.pbx == pbx && s.attachment == attachment)
            .map(|(device, _)| *device)
            .collect();
        let mut waiting = Vec::new();
        for device in gone {
            if let Some(session) = state.sessions.remove(&device) {
                state.by_call_id.remove(session.dialog.call_id());
                waiting.extend(session.pending.into_values());
            }
        }
        drop(state);
        for purpose in waiting {
            if let Purpose::Engine(reply) = purpose {
                let _ = reply.send(Err(PbxError::Unavailable("the link stopped".into())));
            }
        }
    }

    /// Waits until a connection's link is attached (at once if one was since the last call).
    pub async fn attached(&self) {
        self.attached.notified().await;
    }

    /// The `uacsta` connections whose links run here.
    pub fn links(&self) -> Vec<PbxId> {
        lock(&self.state).links.keys().copied().collect()
    }

    /// Whether this node may talk to handsets now (its lease is live).
    pub fn may_talk(&self) -> bool {
        self.lease.read().unwrap_or_else(|e| e.into_inner()).valid()
    }

    /// The Call-ID of the registration the device's session was opened for, if it has one
    /// under its connection's running link.
    pub fn session_registration(&self, device: DeviceRecordId) -> Option<String> {
        let state = lock(&self.state);
        let session = state.sessions.get(&device)?;
        let (attachment, _) = state.links.get(&session.pbx)?;
        (session.attachment == *attachment).then(|| session.registration.clone())
    }

    /// The handsets of `pbx` with a session opened before `before`.
    pub fn sessions_opened_before(&self, pbx: PbxId, before: Instant) -> Vec<DeviceRecordId> {
        lock(&self.state)
            .sessions
            .iter()
            .filter(|(_, s)| s.pbx == pbx && s.opened < before)
            .map(|(device, _)| *device)
            .collect()
    }

    fn request(
        self: &Arc<Self>,
        pbx: PbxId,
        request: PbxRequest,
        reply: oneshot::Sender<Result<PbxResponse, PbxError>>,
    ) {
        let mut state = lock(&self.state);
        let found = state.sessions.iter_mut().find(|(_, s)| {
            s.pbx == pbx && s.number == request.device() && s.dialog.is_established()
        });
        let Some((device, session)) = found else {
            drop(state);
            let _ = reply.send(Err(PbxError::Unavailable(
                "the handset is not registered".into(),
            )));
            return;
        };
        let device = *device;
        let info = session.dialog.info(body(&request_message(&request)));
        let Ok(cseq) = info.headers.cseq().map(|c| c.seq) else {
            return;
        };
        session.pending.insert(cseq, Purpose::Engine(reply));
        let target = session.target.clone();
        drop(state);
        self.transmit(device, info, target);
    }
}
