//! Signing in and out: the login limits (counted before the password is checked), the
//! password check within the hashing limits, the client license the session takes, and
//! the session itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32};
use std::time::Instant;

use axum::http::StatusCode;
use license::ClientType;
use ucplus_core::{DEFAULT_TENANT_SLUG, Role, StoreError, Tenant, Timestamp, User};

use crate::auth::{Session, password, random_token, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What a person gives to sign in.
pub struct Credentials {
    /// The tenant's slug; None for the system admin (and in single-tenant mode).
    pub tenant: Option<String>,
    pub username: String,
    pub password: String,
    /// The client license the session takes; None for an admin console.
    pub client: Option<ClientType>,
}

/// A new session: its token (shown once), when it expires, the user and their tenant.
pub struct SignedIn {
    pub token: String,
    pub expires_at: Timestamp,
    pub user: User,
    pub tenant: Option<Tenant>,
}

pub struct Logins<'a> {
    pub(super) state: &'a AppState,
}

impl Logins<'_> {
    /// Signs in from `address`. A client type takes that license for the session (shared
    /// with the user's other sessions of the same type); an admin console takes none and
    /// needs an admin account.
    pub async fn login(&self, credentials: Credentials, address: &str) -> ApiResult<SignedIn> {
        let state = self.state;
        let client = credentials.client;
        // In single-tenant mode a login without tenant is a login to `default`: one key.
        let tenant_key = match credentials.tenant.as_deref() {
            None | Some(DEFAULT_TENANT_SLUG) => String::new(),
            Some(slug) => slug.to_string(),
        };
        // The attempt counts before the password is checked, so concurrent guesses cannot
        // all get past the limit.
        if let Err(wait) =
            state
                .limiter
                .attempt(&tenant_key, &credentials.username, address, Instant::now())
        {
            metrics::counter!("ucplus_logins_total", "result" => "rate_limited").increment(1);
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many failed logins; try again in {wait} s"),
            );
            error.retry_after = Some(wait);
            return Err(error);
        }

        let account = self
            .find_account(credentials.tenant.as_deref(), &credentials.username)
            .await?;
        let stored_hash = account
            .as_ref()
            .map(|(user, _)| user.password_hash.clone())
            .unwrap_or_else(|| password::decoy_hash().to_string());
        let given = credentials.password;
        let matches = match state
            .hashing
            .run(move || password::verify(&given, &stored_hash))
            .await
        {
            Ok(matches) => matches,
            Err(busy) => {
                // Not judged: a client told to come back later is not charged a failure.
                state
                    .limiter
                    .attempt_abandoned(&tenant_key, &credentials.username, address);
                return Err(busy);
            }
        };
        let (user, tenant) = match account {
            Some(account) if matches => account,
            refused => {
                // The tenant's admins see failed logins of their users; attempts on unknown
                // accounts are the system admin's to see.
                let tenant = refused.and_then(|(_, tenant)| tenant.map(|t| t.id));
                self.record(
                    None,
                    &credentials.username,
                    tenant,
                    "auth.login_failed",
                    address,
                    serde_json::json!({"reason": "invalid_credentials"}),
                )
                .await;
                metrics::counter!("ucplus_logins_total", "result" => "invalid_credentials")
                    .increment(1);
                // Debug formatting escapes newlines and control characters: a user name
                // cannot forge log lines.
                tracing::info!(username = ?credentials.username, tenant = ?tenant_key, %address, "failed login");
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_credentials",
                    "unknown tenant, username or password",
                ));
            }
        };
        state
            .limiter
            .attempt_succeeded(&tenant_key, &credentials.username, address);

        let idle_timeout_s = match (client, &tenant) {
            (None, _) => {
                if user.role == Role::User {
                    return Err(ApiError::forbidden(
                        "the admin console needs an admin account; log in with a client type",
                    ));
                }
                state.config.admin_idle_timeout
            }
            (Some(client), Some(tenant)) => {
                if !user.licenses.iter().any(|l| l == client.as_str()) {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "license_not_assigned",
                        format!("this user may not use {client} clients"),
                    ));
                }
                // Several nodes: the seat is granted with the session's insert, against
                // the cluster's use (below).
                if state.cluster.is_none() {
                    state
                        .licensing
                        .acquire(tenant.id, user.id, client)
                        .inspect_err(|error| {
                            metrics::counter!("ucplus_logins_total", "result" => error.code())
                                .increment(1);
                        })?;
                }
                state.config.session_idle_timeout
            }
            (Some(_), None) => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "license_not_assigned",
                    "the system admin logs in with client `admin`",
                ));
            }
        };

        let now = Timestamp::now();
        let ttl_ms = i64::try_from(state.config.token_ttl.saturating_mul(1000)).unwrap_or(i64::MAX);
        let idle_ms = i64::try_from(idle_timeout_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        let token = random_token();
        if token.is_empty() {
            if let Some(client) = client {
                state.licensing.release(user.id, client);
            }
            return Err(ApiError::internal("the OS random source failed"));
        }
        let hash = token_hash(&token);
        let expires_at = Timestamp(now.0.saturating_add(ttl_ms));
        let session = Session {
            user_id: user.id,
            username: user.username.clone(),
            tenant_id: tenant.as_ref().map(|t| t.id),
            role: user.role,
            client,
            created_at: now,
            expires_at,
            idle_timeout_ms: idle_ms,
            last_seen_ms: AtomicI64::new(now.0),
            persisted_seen_ms: AtomicI64::new(now.0),
            open_sockets: AtomicU32::new(0),
            visiting: std::sync::Mutex::new(None),
            token_hash: hash,
            ended: tokio::sync::watch::channel(false).0,
        };
        // Stored first, so every node (and this one after a restart) knows the token.
        self.store_session(&session).await?;
        state.sessions.insert(hash, Arc::new(session));
        self.record(
            Some(user.id),
            &user.username,
            tenant.as_ref().map(|t| t.id),
            "auth.login",
            address,
            serde_json::json!({"client": client.map_or("admin", |c| c.as_str())}),
        )
        .await;
        metrics::counter!("ucplus_logins_total", "result" => "ok").increment(1);
        metrics::gauge!("ucplus_sessions").set(state.sessions.len() as f64);
        tracing::info!(username = %user.username, tenant = ?tenant_key, client = client.map_or("admin", |c| c.as_str()), "login");
        Ok(SignedIn {
            token,
            expires_at,
            user,
            tenant,
        })
    }

    /// Stores a new session. With a client license on several nodes, the seat is granted
    /// in the same transaction, against the seats in use across the cluster.
    async fn store_session(&self, session: &Session) -> ApiResult<()> {
        let state = self.state;
        let stored = session.to_stored(&state.node);
        let (Some(cluster), Some(client), Some(tenant)) =
            (&state.cluster, session.client, session.tenant_id)
        else {
            let inserted = state.store.insert_session(&stored).await;
            if let (Err(_), Some(client)) = (&inserted, session.client) {
                state.licensing.release(session.user_id, client);
            }
            return inserted.map_err(ApiError::from);
        };
        let granted = cluster
            .grant_session(&stored, |seats| {
                state.licensing.acquire_in_cluster(
                    tenant,
                    session.user_id,
                    client,
                    &seats.by_tenant,
                    seats.user_holds,
                )
            })
            .await;
        match granted {
            Ok(Ok(())) => Ok(()),
            Ok(Err(refused)) => {
                metrics::counter!("ucplus_logins_total", "result" => refused.code()).increment(1);
                Err(refused.into())
            }
            Err(error) => {
                // The grant may have counted here before the insert failed.
                if state.licensing.holds(session.user_id, client) {
                    state.licensing.release(session.user_id, client);
                }
                Err(error.into())
            }
        }
    }

    /// A login (or a failed one) in the audit log. A name tried is kept to 200 characters.
    async fn record(
        &self,
        user: Option<ucplus_core::UserId>,
        username: &str,
        tenant: Option<ucplus_core::TenantId>,
        action: &str,
        address: &str,
        detail: serde_json::Value,
    ) {
        self.state
            .audit_entry(ucplus_core::AuditEntry {
                id: ucplus_core::ids::new_uuid().to_string(),
                at: Timestamp::now(),
                actor_id: user,
                actor_username: username.chars().take(200).collect(),
                tenant_id: tenant,
                action: action.to_string(),
                target: user.map(|u| u.to_string()),
                detail,
                source: Some(address.to_string()),
            })
            .await;
    }

    /// Ends the session; its license goes back when it was the user's last of that type.
    pub async fn logout(&self, session: &Session) {
        self.state.end_session(&session.token_hash).await;
        metrics::gauge!("ucplus_sessions").set(self.state.sessions.len() as f64);
    }

    /// The account for a login: the system admin when no tenant is given, else the tenant's
    /// user; in single-tenant mode a login without tenant also finds the default tenant's users.
    async fn find_account(
        &self,
        tenant_slug: Option<&str>,
        username: &str,
    ) -> ApiResult<Option<(User, Option<Tenant>)>> {
        let state = self.state;
        let absent = |result: Result<User, StoreError>| match result {
            Ok(user) => Ok(Some(user)),
            Err(StoreError::NotFound) => Ok(None),
            Err(error) => Err(ApiError::from(error)),
        };
        let slug = match tenant_slug {
            Some(slug) => slug,
            None => {
                if let Some(admin) = absent(state.store.system_admin_by_name(username).await)? {
                    return Ok(Some((admin, None)));
                }
                let single = state.licensing.read_pool(|p| p.mode()) == license::Mode::SingleTenant;
                if !single {
                    return Ok(None);
                }
                DEFAULT_TENANT_SLUG
            }
        };
        let tenant = match state.store.tenant_by_slug(slug).await {
            Ok(tenant) => tenant,
            Err(StoreError::NotFound) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let user = absent(
            state
                .store
                .tenant(tenant.id)
                .users()
                .by_name(username)
                .await,
        )?;
        Ok(user.map(|user| (user, Some(tenant))))
    }
}
