//! Calls between simulated handsets: each handset of an exchange has a line (a channel)
//! under its number, and tells the far handset what happens on its side of a call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

/// What one handset tells another about a call between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Signal {
    /// `from` calls you.
    Ring { from: String },
    /// `by` answered your call.
    Answered { by: String },
    /// `by` left the call with you (hung up, refused it, or was busy).
    Cleared { by: String },
}

/// Connects simulated handsets so they can call each other (clone it into each
/// handset's configuration).
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    lines: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Signal>>>>,
}

impl Exchange {
    pub fn new() -> Exchange {
        Exchange::default()
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Signal>>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The line of `number`: what other handsets signal to it.
    pub(crate) fn join(&self, number: &str) -> mpsc::UnboundedReceiver<Signal> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.lines().insert(number.to_owned(), sender);
        receiver
    }

    pub(crate) fn leave(&self, number: &str) {
        self.lines().remove(number);
    }

    /// Is `number` a handset of this exchange?
    pub(crate) fn has(&self, number: &str) -> bool {
        self.lines()
            .get(number)
            .is_some_and(|line| !line.is_closed())
    }

    /// Signals `to`; false when it is not (or no longer) on the exchange.
    pub(crate) fn signal(&self, to: &str, signal: Signal) -> bool {
        self.lines()
            .get(to)
            .is_some_and(|line| line.send(signal).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_signals_until_their_handset_leaves() {
        let exchange = Exchange::new();
        let mut bob = exchange.join("101");
        assert!(exchange.has("101") && !exchange.has("102"));
        assert!(exchange.signal("101", Signal::Ring { from: "100".into() }));
        assert_eq!(bob.try_recv(), Ok(Signal::Ring { from: "100".into() }));
        assert!(!exchange.signal("102", Signal::Cleared { by: "100".into() }));
        exchange.leave("101");
        assert!(!exchange.has("101"));
        assert!(!exchange.signal("101", Signal::Answered { by: "100".into() }));
    }
}
