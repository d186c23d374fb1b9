//! PBX connections (system admin scope; tenants read their own).

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::PbxId;
use crate::model::Pbx;

#[async_trait]
pub trait PbxStore: Send + Sync {
    async fn pbxs(&self) -> StoreResult<Vec<Pbx>>;
    async fn pbx(&self, id: PbxId) -> StoreResult<Pbx>;
    async fn insert_pbx(&self, pbx: &Pbx) -> StoreResult<()>;
    async fn update_pbx(&self, pbx: &Pbx) -> StoreResult<()>;
    /// Deletes the connection and its devices.
    async fn delete_pbx(&self, id: PbxId) -> StoreResult<()>;
}
