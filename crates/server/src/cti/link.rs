//! The engine ⇄ link boundary lives in the `pbx` crate, beside the link kinds.

pub use pbx::link::{EngineChannels, LinkChannels, LinkRequest, channels};
