//! The leases that make several nodes on one PostgreSQL database one system, with no
//! consensus of our own: each statement is one atomic step judged by the database's clock.
//!
//! - A node's lease (`nodes`): renewed on a connection of its own (never waiting behind the
//!   pool), it lives `ttl` from the database's time of each renewal. A process holds its
//!   node name through a random instance id: a second live process with the same name is
//!   refused.
//! - A PBX link's lease (`pbx_leases`): one row per PBX naming the node that runs its link
//!   and an epoch, the fencing token, raised by each claim. A link may be claimed when no
//!   node holds it or its holder's lease has expired; one `INSERT … ON CONFLICT … WHERE`
//!   decides, so two nodes can never both win.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};
use ucplus_core::*;

use crate::rows::backend;

/// The database's clock, unix milliseconds.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// One node as the cluster table shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRow {
    pub name: String,
    pub started_at: Timestamp,
    pub renewed_at: Timestamp,
    pub expires_at: Timestamp,
    /// Is the lease live by the database's clock now?
    pub live: bool,
}

/// Which node runs a PBX's link, under which epoch, and the link's state as that node
/// last reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbxLease {
    pub pbx_id: PbxId,
    /// None: released, free to take.
    pub node: Option<String>,
    pub epoch: i64,
    pub link: Option<LinkReport>,
}

/// A link's state as its node reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkReport {
    pub state: String,
    pub since: Timestamp,
    pub error: Option<String>,
    pub session: Option<String>,
}

/// What a renewal found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// The lease is this process's until the database's time `expires_at`. `lapsed`: it
    /// had expired (or never existed) before this renewal, so others counted this node
    /// dead meanwhile (its seats free, its links free to take).
    Held { expires_at: Timestamp, lapsed: bool },
    /// Another live process holds this node's name.
    NameTaken,
}

/// This process's lease as node `name`, on a connection of its own.
pub struct NodeLease {
    url: String,
    name: String,
    instance: String,
    ttl_ms: i64,
    conn: Option<PgConnection>,
}

impl NodeLease {
    /// A lease for node `name` living `ttl` per renewal; connects on first use.
    pub fn new(url: &str, name: &str, ttl: Duration) -> NodeLease {
        let mut bytes = [0u8; 8];
        // Without randomness two processes could share an instance id: refuse to pretend.
        let instance = match getrandom_instance(&mut bytes) {
            Some(id) => id,
            None => format!("pid-{}", std::process::id()),
        };
        NodeLease {
            url: url.to_string(),
            name: name.to_string(),
            instance,
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            conn: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    async fn conn(&mut self) -> StoreResult<&mut PgConnection> {
        if self.conn.is_none() {
            let options = PgConnectOptions::from_str(&self.url)
                .map_err(backend)?
                .application_name("ucplus-lease");
            self.conn = Some(options.connect().await.map_err(backend)?);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| backend("the lease connection is not open"))
    }

    /// A statement's result; after a failure the connection is dropped, to be opened again
    /// by the next step (it may be broken, or mid-transaction).
    async fn checked<T>(&mut self, result: Result<T, sqlx::Error>) -> StoreResult<T> {
        if result.is_err()
            && let Some(conn) = self.conn.take()
        {
            drop(conn.close().await);
        }
        result.map_err(backend)
    }

    /// Renews (or takes) this node's lease.
    pub async fn renew(&mut self) -> StoreResult<Renewal> {
        let sql = format!(
            "WITH before AS (SELECT expires_at FROM nodes WHERE name = $1) \
             INSERT INTO nodes (name, instance, started_at, renewed_at, expires_at) \
             VALUES ($1, $2, {NOW_MS}, {NOW_MS}, {NOW_MS} + $3) \
             ON CONFLICT (name) DO UPDATE SET instance = excluded.instance, \
             started_at = CASE WHEN nodes.instance = excluded.instance THEN nodes.started_at \
             ELSE excluded.started_at END, \
             renewed_at = excluded.renewed_at, expires_at = excluded.expires_at \
             WHERE nodes.instance = excluded.instance OR nodes.expires_at < {NOW_MS} \
             RETURNING expires_at, \
             COALESCE((SELECT expires_at FROM before) <= {NOW_MS}, true) AS lapsed"
        );
        let (name, instance, ttl) = (self.name.clone(), self.instance.clone(), self.ttl_ms);
        let conn = self.conn().await?;
        let result = sqlx::query(&sql)
            .bind(name)
            .bind(instance)
            .bind(ttl)
            .fetch_optional(conn)
            .await;
        let row = self.checked(result).await?;
        match row {
            None => Ok(Renewal::NameTaken),
            Some(row) => Ok(Renewal::Held {
                expires_at: Timestamp(row.try_get("expires_at").map_err(backend)?),
                lapsed: row.try_get("lapsed").map_err(backend)?,
            }),
        }
    }

    /// Claims PBX `pbx`'s link when it is free (never claimed, released, or its node's
    /// lease expired) or this node's own (taken back after fencing: under a new epoch),
    /// and this node's own lease is live; answers the new epoch.
    pub async fn claim(&mut self, pbx: PbxId) -> StoreResult<Option<i64>> {
        let sql = format!(
            "INSERT INTO pbx_leases (pbx_id, node, epoch, claimed_at) \
             SELECT $1, $2, 1, {NOW_MS} FROM nodes \
             WHERE name = $2 AND instance = $3 AND expires_at > {NOW_MS} \
             ON CONFLICT (pbx_id) DO UPDATE SET node = excluded.node, \
             epoch = pbx_leases.epoch + 1, claimed_at = excluded.claimed_at \
             WHERE pbx_leases.node IS NULL OR pbx_leases.node = excluded.node \
             OR NOT EXISTS (SELECT 1 FROM nodes n \
             WHERE n.name = pbx_leases.node AND n.expires_at > {NOW_MS}) \
             RETURNING epoch"
        );
        let (name, instance) = (self.name.clone(), self.instance.clone());
        let conn = self.conn().await?;
        let result = sqlx::query(&sql)
            .bind(pbx.to_string())
            .bind(name)
            .bind(instance)
            .fetch_optional(conn)
            .await;
        let row = self.checked(result).await?;
        row.map(|row| row.try_get("epoch").map_err(backend))
            .transpose()
    }

    /// The PBX links this node holds, with their epochs.
    pub async fn held(&mut self) -> StoreResult<Vec<(PbxId, i64)>> {
        let name = self.name.clone();
        let conn = self.conn().await?;
        let result = sqlx::query("SELECT pbx_id, epoch FROM pbx_leases WHERE node = $1")
            .bind(name)
            .fetch_all(conn)
            .await;
        let rows = self.checked(result).await?;
        rows.iter()
            .map(|row| {
                let pbx: String = row.try_get("pbx_id").map_err(backend)?;
                Ok((
                    pbx.parse().map_err(backend)?,
                    row.try_get("epoch").map_err(backend)?,
                ))
            })
            .collect()
    }

    /// Writes a held link's state under its epoch; false when the lease is no longer this
    /// node's at that epoch (the write is dropped: a stale holder changes nothing).
    pub async fn report(&mut self, pbx: PbxId, epoch: i64, link: &LinkReport) -> StoreResult<bool> {
        let name = self.name.clone();
        let conn = self.conn().await?;
        let result = sqlx::query(
            "UPDATE pbx_leases SET state = $1, since = $2, error = $3, session = $4 \
             WHERE pbx_id = $5 AND node = $6 AND epoch = $7",
        )
        .bind(&link.state)
        .bind(link.since.0)
        .bind(&link.error)
        .bind(&link.session)
        .bind(pbx.to_string())
        .bind(name)
        .bind(epoch)
        .execute(conn)
        .await;
        Ok(self.checked(result).await?.rows_affected() == 1)
    }

    /// Releases every link and the node's lease at once (a node stopping): others take
    /// the links without waiting for the lease to expire.
    pub async fn release(&mut self) -> StoreResult<()> {
        let (name, instance) = (self.name.clone(), self.instance.clone());
        let conn = self.conn().await?;
        let result = release_on(conn, &name, &instance).await;
        self.checked(result).await
    }
}

async fn release_on(conn: &mut PgConnection, name: &str, instance: &str) -> sqlx::Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query(
        "UPDATE pbx_leases SET node = NULL WHERE node = $1 AND EXISTS \
         (SELECT 1 FROM nodes WHERE name = $1 AND instance = $2)",
    )
    .bind(name)
    .bind(instance)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM nodes WHERE name = $1 AND instance = $2")
        .bind(name)
        .bind(instance)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

fn getrandom_instance(bytes: &mut [u8; 8]) -> Option<String> {
    getrandom::getrandom(bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Every node and every PBX lease, for the cluster overview.
pub async fn overview(store: &crate::SqlStore) -> StoreResult<(Vec<NodeRow>, Vec<PbxLease>)> {
    let nodes = crate::db::query(format!(
        "SELECT name, started_at, renewed_at, expires_at, \
         CASE WHEN expires_at > {NOW_MS} THEN 1 ELSE 0 END AS live FROM nodes ORDER BY name"
    ))
    .fetch_all(store.db())
    .await
    .map_err(backend)?
    .iter()
    .map(|row| {
        let live: i64 = row.try_get("live").map_err(backend)?;
        Ok(NodeRow {
            name: row.try_get("name").map_err(backend)?,
            started_at: Timestamp(row.try_get("started_at").map_err(backend)?),
            renewed_at: Timestamp(row.try_get("renewed_at").map_err(backend)?),
            expires_at: Timestamp(row.try_get("expires_at").map_err(backend)?),
            live: live == 1,
        })
    })
    .collect::<StoreResult<Vec<NodeRow>>>()?;
    let leases = crate::db::query("SELECT * FROM pbx_leases ORDER BY pbx_id")
        .fetch_all(store.db())
        .await
        .map_err(backend)?
        .iter()
        .map(|row| {
            let pbx: String = row.try_get("pbx_id").map_err(backend)?;
            let state: Option<String> = row.try_get("state").map_err(backend)?;
            let since: Option<i64> = row.try_get("since").map_err(backend)?;
            Ok(PbxLease {
                pbx_id: pbx.parse().map_err(backend)?,
                node: row.try_get("node").map_err(backend)?,
                epoch: row.try_get("epoch").map_err(backend)?,
                link: match (state, since) {
                    (Some(state), Some(since)) => Some(LinkReport {
                        state,
                        since: Timestamp(since),
                        error: row.try_get("error").map_err(backend)?,
                        session: row.try_get("session").map_err(backend)?,
                    }),
                    _ => None,
                },
            })
        })
        .collect::<StoreResult<Vec<PbxLease>>>()?;
    Ok((nodes, leases))
}

/// The seats of one client license type in use across the cluster: per tenant, the users
/// holding one in a session of a live node (a dead node's seats stop counting when its
/// lease expires).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeatUse {
    pub by_tenant: std::collections::BTreeMap<TenantId, u32>,
    /// The user of the session being granted holds this type already (the seat is shared).
    pub user_holds: bool,
}

const SEATS: &str = "SELECT s.client AS client, s.tenant_id AS tenant_id, \
     COUNT(DISTINCT s.user_id) AS seats FROM sessions s JOIN nodes n ON n.name = s.node \
     WHERE s.client IS NOT NULL AND s.tenant_id IS NOT NULL AND n.expires_at > ";

fn seat_rows(
    rows: &[crate::db::Row],
) -> StoreResult<std::collections::BTreeMap<String, std::collections::BTreeMap<TenantId, u32>>> {
    let mut seats: std::collections::BTreeMap<String, std::collections::BTreeMap<TenantId, u32>> =
        Default::default();
    for row in rows {
        let client: String = row.try_get("client").map_err(backend)?;
        let tenant: String = row.try_get("tenant_id").map_err(backend)?;
        let count: i64 = row.try_get("seats").map_err(backend)?;
        seats.entry(client).or_default().insert(
            tenant.parse().map_err(backend)?,
            u32::try_from(count).map_err(backend)?,
        );
    }
    Ok(seats)
}

/// Every client type's seats in use across the cluster, per tenant.
pub async fn seat_use(
    store: &crate::SqlStore,
) -> StoreResult<std::collections::BTreeMap<String, std::collections::BTreeMap<TenantId, u32>>> {
    let rows = crate::db::query(format!("{SEATS}{NOW_MS} GROUP BY s.client, s.tenant_id"))
        .fetch_all(store.db())
        .await
        .map_err(backend)?;
    seat_rows(&rows)
}

/// Stores a new session holding a client license, granted against the cluster's use: in
/// one transaction that locks the license type's row, counts the seats of live nodes,
/// asks `grant` (the pool rules) and inserts the session only if it agrees. Nodes granting
/// at once wait for each other, so no cap or pool is ever exceeded.
pub async fn insert_session_granted<E>(
    store: &crate::SqlStore,
    session: &ucplus_core::store::StoredSession,
    grant: impl FnOnce(&SeatUse) -> Result<(), E>,
) -> StoreResult<Result<(), E>> {
    let client = session
        .client
        .clone()
        .ok_or_else(|| backend("a session without a client license needs no grant"))?;
    let mut tx = store.db().begin().await.map_err(backend)?;
    lock_grants(&mut tx, &client).await?;
    if let Err(refused) = grant(&seat_use_for(&mut tx, &client, session.user_id).await?) {
        return Ok(Err(refused));
    }
    crate::sql::sessions::insert_session(&mut tx, session).await?;
    tx.commit().await.map_err(backend)?;
    Ok(Ok(()))
}

/// Grants again the seat of stored sessions of one user and client license that a node
/// takes on (`sessions`, as it will hold them): after its own lease lapsed (while it was
/// not live its seats were free for others), after a restart, or adopting a session of
/// another node. Under the type's lock their rows are removed, the seats of live nodes
/// counted without them and `grant` asked; they are stored again only if it agrees (a
/// refusal leaves them removed: those sessions have ended).
pub async fn regrant_sessions<E>(
    store: &crate::SqlStore,
    sessions: &[ucplus_core::store::StoredSession],
    grant: impl FnOnce(&SeatUse) -> Result<(), E>,
) -> StoreResult<Result<(), E>> {
    let Some(first) = sessions.first() else {
        return Ok(Ok(()));
    };
    let client = first
        .client
        .clone()
        .ok_or_else(|| backend("a session without a client license needs no grant"))?;
    if sessions
        .iter()
        .any(|s| s.user_id != first.user_id || s.client.as_deref() != Some(client.as_str()))
    {
        return Err(backend(
            "sessions granted again together share user and license",
        ));
    }
    let mut tx = store.db().begin().await.map_err(backend)?;
    lock_grants(&mut tx, &client).await?;
    for session in sessions {
        crate::db::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&session.token_hash)
            .execute(&mut tx)
            .await
            .map_err(backend)?;
    }
    let granted = grant(&seat_use_for(&mut tx, &client, first.user_id).await?);
    if granted.is_ok() {
        for session in sessions {
            crate::sql::sessions::insert_session(&mut tx, session).await?;
        }
    }
    tx.commit().await.map_err(backend)?;
    Ok(granted)
}

/// The seats of `client` in use on live nodes, and whether `user` holds one of them.
async fn seat_use_for(
    tx: &mut crate::db::Tx,
    client: &str,
    user: ucplus_core::UserId,
) -> StoreResult<SeatUse> {
    let rows = crate::db::query(format!(
        "{SEATS}{NOW_MS} AND s.client = $1 GROUP BY s.client, s.tenant_id"
    ))
    .bind(client)
    .fetch_all(&mut *tx)
    .await
    .map_err(backend)?;
    let by_tenant = seat_rows(&rows)?.remove(client).unwrap_or_default();
    let holds = crate::db::query(format!(
        "SELECT 1 AS one FROM sessions s JOIN nodes n ON n.name = s.node \
         WHERE s.client = $1 AND s.user_id = $2 AND n.expires_at > {NOW_MS} LIMIT 1"
    ))
    .bind(client)
    .bind(user.to_string())
    .fetch_optional(&mut *tx)
    .await
    .map_err(backend)?;
    Ok(SeatUse {
        by_tenant,
        user_holds: holds.is_some(),
    })
}

/// Locks the row of `what` in `license_locks` (made on first use) until `tx` ends: grants
/// of the same kind on several nodes happen one after the other.
async fn lock_grants(tx: &mut crate::db::Tx, what: &str) -> StoreResult<()> {
    crate::db::query(
        "INSERT INTO license_locks (license_type) VALUES ($1) ON CONFLICT (license_type) DO NOTHING",
    )
    .bind(what)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    crate::db::query("SELECT license_type FROM license_locks WHERE license_type = $1 FOR UPDATE")
        .bind(what)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Stores a new tenant with its first admin, granted against the tenants that exist: in
/// one transaction under the lock of the `tenant` license type, `grant` (the pool rules)
/// is asked with the number of tenants, and the tenant is inserted only if it agrees.
pub async fn insert_tenant_granted<E>(
    store: &crate::SqlStore,
    tenant: &Tenant,
    first_admin: Option<&User>,
    grant: impl FnOnce(u32) -> Result<(), E>,
) -> StoreResult<Result<(), E>> {
    let mut tx = store.db().begin().await.map_err(backend)?;
    lock_grants(&mut tx, "tenant").await?;
    let count: i64 = crate::db::query("SELECT COUNT(*) AS n FROM tenants")
        .fetch_one(&mut tx)
        .await
        .map_err(backend)?
        .try_get("n")
        .map_err(backend)?;
    if let Err(refused) = grant(u32::try_from(count).map_err(backend)?) {
        return Ok(Err(refused));
    }
    crate::sql::tenants::insert_tenant(&mut tx, tenant, first_admin).await?;
    tx.commit().await.map_err(backend)?;
    Ok(Ok(()))
}
