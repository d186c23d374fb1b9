//! The ucplus domain: the records a hosting provider and its tenants manage, their
//! validation, and the [`Store`] traits (one per aggregate) that persistence back-ends
//! implement.
//!
//! Knows no HTTP, no SQL, no sockets. Every tenant-scoped store method takes a
//! [`TenantId`]: there is no way to ask for a tenant's records without naming the tenant;
//! callers bind it once with [`TenantScope`] (`store.tenant(id)`).

pub mod cti;
pub mod event;
pub mod ids;
pub mod model;
pub mod store;
pub mod validate;

pub use ids::{DeviceRecordId, PbxId, SiteId, TenantId, UserId};
pub use model::*;
pub use store::{Store, StoreError, StoreResult, TenantScope};
pub use validate::{FieldError, ValidationErrors};
