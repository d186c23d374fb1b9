//! Sites of one tenant (offices, branches): created, renamed, deleted by its admins.

use serde::Deserialize;
use ucplus_core::{Site, SiteId, TenantId, Timestamp, ValidationErrors};

use super::patch::nullable;
use super::{Actor, checked};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSite {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SitePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
}

fn check(errors: &mut ValidationErrors, name: Option<&str>, address: Option<&str>) {
    if let Some(name) = name {
        errors.text("name", name, 200);
    }
    if let Some(address) = address {
        errors.text("address", address, 500);
    }
}

pub struct Sites<'a> {
    pub(super) state: &'a AppState,
    pub(super) tenant: TenantId,
}

impl Sites<'_> {
    pub async fn create(&self, actor: Actor<'_>, new: NewSite) -> ApiResult<Site> {
        let (state, tenant) = (self.state, self.tenant);
        let mut errors = ValidationErrors::new();
        check(&mut errors, Some(&new.name), new.address.as_deref());
        checked(errors)?;
        let site = Site {
            id: SiteId::new(),
            tenant_id: tenant,
            name: new.name.trim().to_string(),
            address: new.address.map(|a| a.trim().to_string()),
            created_at: Timestamp::now(),
        };
        state.store.tenant(tenant).sites().insert(&site).await?;
        state
            .record(
                actor,
                Some(tenant),
                "site.create",
                site.id.to_string(),
                serde_json::json!({"name": site.name}),
            )
            .await;
        Ok(site)
    }

    pub async fn update(&self, actor: Actor<'_>, id: SiteId, patch: SitePatch) -> ApiResult<Site> {
        let (state, tenant) = (self.state, self.tenant);
        let mut site = state.store.tenant(tenant).sites().get(id).await?;
        let mut errors = ValidationErrors::new();
        check(
            &mut errors,
            patch.name.as_deref(),
            patch.address.as_ref().and_then(|a| a.as_deref()),
        );
        checked(errors)?;
        if let Some(name) = patch.name {
            site.name = name.trim().to_string();
        }
        if let Some(new_address) = patch.address {
            site.address = new_address.map(|a| a.trim().to_string());
        }
        state.store.tenant(tenant).sites().update(&site).await?;
        state
            .record(
                actor,
                Some(tenant),
                "site.update",
                site.id.to_string(),
                serde_json::json!({"name": site.name}),
            )
            .await;
        Ok(site)
    }

    /// Deletes a site; its users stay, without a site.
    pub async fn delete(&self, actor: Actor<'_>, id: SiteId) -> ApiResult<()> {
        let (state, tenant) = (self.state, self.tenant);
        state.store.tenant(tenant).sites().delete(id).await?;
        state
            .record(
                actor,
                Some(tenant),
                "site.delete",
                id.to_string(),
                serde_json::json!({}),
            )
            .await;
        Ok(())
    }
}
