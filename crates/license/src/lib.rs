//! Licensing for ucplus: the signed license file and the license pool.
//!
//! Pure and deterministic: no clock, no I/O. Callers pass "today" in, which is what
//! makes expiry testable and the pool's behaviour reproducible.
//!
//! - [`types`]: the license item types (`mt-starter-5`, `tenant`, `desktop`, ...).
//! - [`file`]: the text-armoured, Ed25519-signed license file; signing keys.
//! - [`pool`]: one pool per license type, per-tenant caps and reservations, tenant slots.

pub mod file;
pub mod pool;
pub mod types;

pub use file::{License, LicenseError, PublicKey, SigningKey};
pub use pool::{LicensePool, Limit, Mode, PoolError};
pub use types::{ClientType, ItemType, LicenseType};
