//! Device features: do-not-disturb and call forwarding (immediate and on busy). Each
//! change is reported to the device's monitors; setting what is already set is silent.

use csta::ForwardingType;

use super::Switch;
use crate::sim::error::SimError;
use crate::sim::events;

impl Switch {
    pub(crate) fn set_do_not_disturb(&mut self, device: &str, on: bool) -> Result<(), SimError> {
        if !self.is_device(device) {
            return Err(SimError::InvalidDevice);
        }
        let state = self.devices.entry(device.to_string()).or_default();
        let changed = state.do_not_disturb != on;
        state.do_not_disturb = on;
        self.tidy(device);
        if changed {
            self.deliver(device, None, &events::do_not_disturb(device, on));
        }
        Ok(())
    }

    /// Switches forwarding of `forwarding_type` (immediate or busy) on to `to`, or off.
    pub(crate) fn set_forwarding(
        &mut self,
        device: &str,
        forwarding_type: ForwardingType,
        on: bool,
        to: Option<&str>,
    ) -> Result<(), SimError> {
        if !self.is_device(device) {
            return Err(SimError::InvalidDevice);
        }
        if !matches!(
            forwarding_type,
            ForwardingType::Immediate | ForwardingType::Busy
        ) {
            return Err(SimError::InvalidFeature);
        }
        let target = if on {
            let target = to
                .and_then(|to| self.destination(to).ok())
                .filter(|target| target != device)
                .ok_or(SimError::InvalidForwardingDestination)?;
            Some(target)
        } else {
            None
        };
        let state = self.devices.entry(device.to_string()).or_default();
        let slot = if forwarding_type == ForwardingType::Immediate {
            &mut state.forward_immediate
        } else {
            &mut state.forward_busy
        };
        let changed = *slot != target;
        *slot = target.clone();
        self.tidy(device);
        if changed {
            let event = events::forwarding(device, forwarding_type, on, target.as_deref());
            self.deliver(device, None, &event);
        }
        Ok(())
    }
}
