//! Connections between ucplus and telephone systems.
//!
//! - [`sim`]: the CSTA PBX simulator — a switch with devices, calls and the event
//!   sequences of a real one, served over TCP in the three session patterns found in the
//!   field, with manual actions, generated traffic and fault injection for tests, demos
//!   and benchmarks.

pub mod sim;
