//! Directory contacts of one tenant: its shared contacts (written by its admins, audited)
//! or one user's own. Every change rebuilds the names callers are shown with.

use axum::http::StatusCode;
use serde::Deserialize;
use ucplus_core::{Contact, ContactNumber, TenantId, Timestamp, UserId, ValidationErrors};

use super::{Actor, checked};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Numbers one contact may have.
const MAX_NUMBERS: usize = 10;

/// The quota that applies to `owner`'s contacts (a user's own, or the tenant's shared).
fn quota(state: &AppState, owner: Option<UserId>) -> u64 {
    match owner {
        Some(_) => state.config.quotas.personal_contacts,
        None => state.config.quotas.shared_contacts,
    }
}

/// Refuses `adding` more contacts beyond the quota (`quota_exceeded`, 409).
async fn check_quota(
    state: &AppState,
    tenant: TenantId,
    owner: Option<UserId>,
    adding: usize,
) -> ApiResult<()> {
    let limit = quota(state, owner);
    let held = state.store.tenant(tenant).contacts(owner).count().await?;
    if held.saturating_add(adding as u64) > limit {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "quota_exceeded",
            format!("at most {limit} contacts may be kept here ({held} are)"),
        ));
    }
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ContactInput {
    pub name: String,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub numbers: Vec<ContactNumber>,
}

/// Cleans a phone number for storage and lookup: digits, a leading `+`, `*`, `#`.
pub fn clean_number(text: &str) -> Option<String> {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '/' | '.'))
        .collect();
    let valid = (1..=32).contains(&cleaned.len())
        && cleaned
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '*' || c == '#' || (c == '+' && i == 0));
    valid.then_some(cleaned)
}

fn contact_from(
    input: ContactInput,
    tenant: TenantId,
    owner: Option<UserId>,
    errors: &mut ValidationErrors,
) -> Contact {
    errors.text("name", &input.name, 200);
    if let Some(company) = &input.company {
        errors.optional_text("company", company, 200);
    }
    if let Some(email) = input.email.as_deref().filter(|e| !e.trim().is_empty()) {
        errors.email("email", email);
    }
    if input.numbers.len() > MAX_NUMBERS {
        errors.add("numbers", format!("at most {MAX_NUMBERS} numbers"));
    }
    let mut numbers = Vec::new();
    for (i, number) in input.numbers.into_iter().take(MAX_NUMBERS).enumerate() {
        if let Some(label) = &number.label {
            errors.optional_text(&format!("numbers[{i}].label"), label, 40);
        }
        match clean_number(&number.number) {
            Some(cleaned) => numbers.push(ContactNumber {
                label: number.label.map(|l| l.trim().to_string()),
                number: cleaned,
            }),
            None => errors.add(&format!("numbers[{i}]"), "must be a phone number"),
        }
    }
    Contact {
        id: ucplus_core::ids::new_uuid().to_string(),
        tenant_id: tenant,
        owner_id: owner,
        name: input.name.trim().to_string(),
        company: input
            .company
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()),
        email: input
            .email
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty()),
        numbers,
        created_at: Timestamp::now(),
    }
}

pub struct Contacts<'a> {
    pub(super) state: &'a AppState,
    pub(super) tenant: TenantId,
    /// None: the tenant's shared contacts; else this user's own.
    pub(super) owner: Option<UserId>,
}

impl Contacts<'_> {
    /// Shared contacts are audited; a user's own are their private business.
    async fn record(
        &self,
        actor: Actor<'_>,
        action: &str,
        target: Option<String>,
        detail: serde_json::Value,
    ) {
        if self.owner.is_none() {
            self.state
                .record_entry(actor, Some(self.tenant), action, target, detail)
                .await;
        }
    }

    pub async fn create(&self, actor: Actor<'_>, input: ContactInput) -> ApiResult<Contact> {
        let (state, tenant, owner) = (self.state, self.tenant, self.owner);
        let mut errors = ValidationErrors::new();
        let contact = contact_from(input, tenant, owner, &mut errors);
        checked(errors)?;
        check_quota(state, tenant, owner, 1).await?;
        state
            .store
            .tenant(tenant)
            .contacts(owner)
            .insert(std::slice::from_ref(&contact))
            .await?;
        state.contacts_changed(tenant).await;
        self.record(
            actor,
            "contact.create",
            Some(contact.id.clone()),
            serde_json::json!({"name": contact.name}),
        )
        .await;
        Ok(contact)
    }

    /// Replaces a contact.
    pub async fn update(
        &self,
        actor: Actor<'_>,
        id: &str,
        input: ContactInput,
    ) -> ApiResult<Contact> {
        let (state, tenant, owner) = (self.state, self.tenant, self.owner);
        let existing = state.store.tenant(tenant).contacts(owner).get(id).await?;
        let mut errors = ValidationErrors::new();
        let mut contact = contact_from(input, tenant, owner, &mut errors);
        checked(errors)?;
        contact.id = existing.id;
        contact.created_at = existing.created_at;
        state
            .store
            .tenant(tenant)
            .contacts(owner)
            .update(&contact)
            .await?;
        state.contacts_changed(tenant).await;
        self.record(
            actor,
            "contact.update",
            Some(contact.id.clone()),
            serde_json::json!({"name": contact.name}),
        )
        .await;
        Ok(contact)
    }

    pub async fn delete(&self, actor: Actor<'_>, id: &str) -> ApiResult<()> {
        let (state, tenant, owner) = (self.state, self.tenant, self.owner);
        state
            .store
            .tenant(tenant)
            .contacts(owner)
            .delete(id)
            .await?;
        state.contacts_changed(tenant).await;
        self.record(
            actor,
            "contact.delete",
            Some(id.to_string()),
            serde_json::json!({}),
        )
        .await;
        Ok(())
    }

    /// Imports rows (line, contact): the good ones are stored within the quota, each bad
    /// one is added to `report` (line, problems), which holds the lines the caller could
    /// not read. Answers how many were imported and the report.
    pub async fn import(
        &self,
        actor: Actor<'_>,
        rows: Vec<(usize, ContactInput)>,
        mut report: Vec<(usize, String)>,
    ) -> ApiResult<(usize, Vec<(usize, String)>)> {
        let (state, tenant, owner) = (self.state, self.tenant, self.owner);
        let mut contacts = Vec::new();
        for (row, input) in rows {
            let mut problems = ValidationErrors::new();
            let contact = contact_from(input, tenant, owner, &mut problems);
            if problems.0.is_empty() {
                contacts.push(contact);
            } else {
                let message = problems
                    .0
                    .iter()
                    .map(|p| format!("{} {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                report.push((row, message));
            }
        }
        check_quota(state, tenant, owner, contacts.len()).await?;
        state
            .store
            .tenant(tenant)
            .contacts(owner)
            .insert(&contacts)
            .await?;
        state.contacts_changed(tenant).await;
        report.sort_by_key(|(row, _)| *row);
        self.record(
            actor,
            "contact.import",
            None,
            serde_json::json!({"imported": contacts.len(), "errors": report.len()}),
        )
        .await;
        Ok((contacts.len(), report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_cleaned() {
        assert_eq!(
            clean_number("+49 (30) 123-45").as_deref(),
            Some("+493012345")
        );
        assert_eq!(clean_number("12+3"), None);
        assert_eq!(clean_number("call me"), None);
    }
}
