//! The `uacsta` link kind: SIP handsets controlled with CSTA over SIP (ECMA TR/87). The
//! handsets register with the server's SIP registrar; the [`Controller`] opens a session
//! to each and serves the connection's link.

mod controller;

pub use controller::{Controller, Flow, Handset};
