//! PBX connectors for ucplus.
//!
//! - [`link`]: the boundary between a PBX's engine and its link (channels), and the link
//!   kinds: [`link::csta`] speaks CSTA XML over TCP to a telephone system.

pub mod link;
