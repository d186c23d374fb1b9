//! License files (system admin): loaded into the pool and the database together, or not
//! at all; unloaded only when nothing depends on them.

use license::License;
use ucplus_core::{StoredLicense, Timestamp};

use super::Actor;
use crate::error::ApiResult;
use crate::state::AppState;

pub struct Licenses<'a> {
    pub(super) state: &'a AppState,
}

impl Licenses<'_> {
    /// Verifies a license file (signature, this system, not expired) and loads it: it
    /// takes effect at once. Answers the license and when it was loaded.
    pub async fn load(&self, actor: Actor<'_>, text: &str) -> ApiResult<(License, Timestamp)> {
        let state = self.state;
        let today = state.licensing.today();
        let license = License::verify(text, &state.trusted_keys)?;
        license.check_system(&state.system_id)?;
        license.check_not_expired(today)?;
        state
            .licensing
            .with_pool(|pool| pool.load(license.clone(), today))?;
        let stored = StoredLicense {
            id: license.id.clone(),
            text: license.text.clone(),
            loaded_at: Timestamp::now(),
        };
        if let Err(error) = state.store.insert_license(&stored).await {
            // Keep pool and database in step: what is not persisted is not loaded.
            let _ = state
                .licensing
                .with_pool(|pool| pool.unload(&license.id, today));
            return Err(error.into());
        }
        state.pool_changed().await;
        let items: std::collections::BTreeMap<&str, u32> = license
            .items
            .iter()
            .map(|(item, quantity)| (item.as_str(), *quantity))
            .collect();
        state
            .record_entry(
                actor,
                None,
                "license.load",
                Some(license.id.clone()),
                serde_json::json!({
                    "items": items,
                    "customer": license.customer,
                    "expires": license.expires.map(license::file::format_date),
                }),
            )
            .await;
        Ok((license, stored.loaded_at))
    }

    /// Unloads a license; refused when tenants or reservations depend on it.
    pub async fn unload(&self, actor: Actor<'_>, id: &str) -> ApiResult<()> {
        let state = self.state;
        let license = state
            .licensing
            .with_pool(|pool| pool.unload(id, state.licensing.today()))?;
        if let Err(error) = state.store.delete_license(id).await {
            state.licensing.with_pool(|pool| pool.restore(license));
            return Err(error.into());
        }
        state.pool_changed().await;
        state
            .record_entry(
                actor,
                None,
                "license.unload",
                Some(id.to_string()),
                serde_json::json!({}),
            )
            .await;
        Ok(())
    }
}
