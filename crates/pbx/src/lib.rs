//! PBX connectors for ucplus, and the simulator to test them against.
//!
//! - [`handset`]: a simulated uaCSTA SIP handset (TR/87) that registers with a
//!   registrar and is driven by CSTA XML in SIP INVITE/INFO.
//! - [`link`]: the boundary between a PBX's engine and its link (channels), and the link
//!   kinds with their typed settings ([`link::kinds`]): [`link::csta`] speaks CSTA XML
//!   over TCP to a telephone system, [`link::sim`] runs the simulator in-process behind
//!   a CSTA link, [`link::uacsta`] controls SIP handsets with CSTA over SIP.
//! - [`sim`]: the CSTA PBX simulator — a switch with devices, calls and the event
//!   sequences of a real one, served over TCP in the three session patterns found in the
//!   field, with manual actions, generated traffic and fault injection for tests, demos
//!   and benchmarks.

pub mod handset;
pub mod link;
pub mod sim;
