//! The system's own records: reachability, settings, license files, system admins.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::UserId;
use crate::model::{StoredLicense, User};

#[async_trait]
pub trait SystemStore: Send + Sync {
    /// Is the database reachable and answering?
    async fn ping(&self) -> StoreResult<()>;

    // --- system settings (system id, ...)
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets `key` to `value` unless it is set; answers the value it has (several nodes
    /// starting at once agree on one).
    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String>;
    async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()>;

    // --- license files
    async fn licenses(&self) -> StoreResult<Vec<StoredLicense>>;
    async fn insert_license(&self, license: &StoredLicense) -> StoreResult<()>;
    async fn delete_license(&self, id: &str) -> StoreResult<()>;

    // --- system admins (no tenant)
    async fn system_admin_by_name(&self, username: &str) -> StoreResult<User>;
    async fn system_admin(&self, id: UserId) -> StoreResult<User>;
    async fn insert_system_admin(&self, user: &User) -> StoreResult<()>;
    async fn system_admin_count(&self) -> StoreResult<u64>;
}
