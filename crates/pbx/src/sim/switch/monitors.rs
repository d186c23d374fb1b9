//! Client links, monitors and snapshots: who receives which device's events.

use std::cell::Cell;
use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::{Link, LinkId, Monitor, Outbound, PartyState, Switch};
use crate::sim::error::SimError;

impl Switch {
    pub(crate) fn add_link(
        &mut self,
        link: LinkId,
        outbound: mpsc::Sender<Outbound>,
        close: Arc<Notify>,
    ) {
        let link_state = Link {
            outbound,
            close,
            monitors: Default::default(),
            overflowed: Cell::new(false),
        };
        self.links.insert(link, link_state);
    }

    pub(crate) fn link_count(&self) -> usize {
        self.links.len()
    }

    /// Forgets a closed link and its monitors.
    pub(crate) fn remove_link(&mut self, link: LinkId) {
        self.remove_monitors(link);
        self.links.remove(&link);
    }

    /// Stops every monitor of a link (its session ended; the link stays).
    pub(crate) fn remove_monitors(&mut self, link: LinkId) {
        let Some(link) = self.links.get_mut(&link) else {
            return;
        };
        for cross_ref in std::mem::take(&mut link.monitors) {
            self.forget_monitor(cross_ref);
        }
    }

    fn forget_monitor(&mut self, cross_ref: u64) {
        let Some(monitor) = self.monitors.remove(&cross_ref) else {
            return;
        };
        if let Some(state) = self.devices.get_mut(&monitor.device) {
            state.monitors.retain(|id| *id != cross_ref);
        }
        self.tidy(&monitor.device);
    }

    /// Tells every link to close (the links remove themselves when they have).
    pub(crate) fn close_links(&self) {
        for link in self.links.values() {
            link.close.notify_one();
        }
    }

    /// Queues a malformed document for every link.
    pub(crate) fn send_malformed(&self) {
        for link in self.links.values() {
            self.send(link, Outbound::Malformed);
        }
    }

    /// Starts a monitor of `device` for `link`; returns its cross reference id.
    pub(crate) fn monitor_start(&mut self, link: LinkId, device: &str) -> Result<String, SimError> {
        if !self.is_device(device) {
            return Err(SimError::InvalidDevice);
        }
        if self.monitors.len() >= self.max_monitors {
            return Err(SimError::MonitorLimit);
        }
        let Some(link_state) = self.links.get_mut(&link) else {
            return Err(SimError::InvalidCrossRef);
        };
        self.last_cross_ref += 1;
        let id = self.last_cross_ref;
        link_state.monitors.insert(id);
        let cross_ref = id.to_string();
        self.monitors.insert(
            id,
            Monitor {
                link,
                device: device.to_string(),
                cross_ref: cross_ref.clone(),
            },
        );
        self.devices
            .entry(device.to_string())
            .or_default()
            .monitors
            .push(id);
        Ok(cross_ref)
    }

    /// Stops a monitor; only the link that started it may.
    pub(crate) fn monitor_stop(&mut self, link: LinkId, cross_ref: &str) -> Result<(), SimError> {
        let id = cross_ref
            .trim()
            .parse::<u64>()
            .map_err(|_| SimError::InvalidCrossRef)?;
        let owned = self
            .links
            .get_mut(&link)
            .is_some_and(|link| link.monitors.remove(&id));
        if !owned {
            return Err(SimError::InvalidCrossRef);
        }
        self.forget_monitor(id);
        Ok(())
    }

    /// The device's calls with its state in each, oldest first.
    pub(crate) fn snapshot(&self, device: &str) -> Result<Vec<(u64, PartyState)>, SimError> {
        if !self.is_device(device) {
            return Err(SimError::InvalidDevice);
        }
        Ok(self.device_calls(device).collect())
    }

    /// The device's first call in the first of `states` it has one in.
    pub(crate) fn find_connection(&self, device: &str, states: &[PartyState]) -> Option<u64> {
        states.iter().find_map(|wanted| {
            self.device_calls(device)
                .find(|(_, state)| state == wanted)
                .map(|(call, _)| call)
        })
    }
}
