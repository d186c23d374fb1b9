//! The cluster as the system admin sees it: every node, its state and last renewal, and
//! the PBX links each runs.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use ucplus_core::{PbxId, Timestamp};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClusterView {
    /// Several nodes on PostgreSQL, or `single` (one node on its SQLite data directory).
    pub mode: &'static str,
    pub nodes: Vec<NodeView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NodeView {
    pub name: String,
    /// `active` (lease live), `fenced` (this node, its lease not renewed in time: its links
    /// are stopped) or `expired` (a node that stopped renewing: its links move on).
    pub state: &'static str,
    /// The node answering this request.
    pub this: bool,
    pub started_at: Option<Timestamp>,
    pub last_renewal: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// The PBX links the node holds.
    pub links: Vec<NodeLink>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NodeLink {
    pub pbx_id: PbxId,
    /// The lease's epoch (raised by every claim); 0 for the only node.
    pub epoch: i64,
    /// `connecting`, `up` or `down` as the node last reported it.
    pub state: Option<String>,
}

/// Nodes and the links each runs (system admin).
#[utoipa::path(get, path = "/api/v1/cluster", operation_id = "cluster", tag = "system",
    responses((status = 200, body = ClusterView), (status = 403, body = crate::error::ErrorBody)))]
pub async fn cluster(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<ClusterView>> {
    auth.system_admin()?;
    let Some(cluster) = &state.cluster else {
        let links = state
            .cti
            .held_links()
            .into_iter()
            .map(|(pbx_id, epoch)| NodeLink {
                pbx_id,
                epoch,
                state: state
                    .cti
                    .runtime(pbx_id)
                    .map(|r| r.link_view().state.as_str().to_string()),
            })
            .collect();
        return Ok(Json(ClusterView {
            mode: "single",
            nodes: vec![NodeView {
                name: state.node.clone(),
                state: "active",
                this: true,
                started_at: None,
                last_renewal: Timestamp::now(),
                expires_at: None,
                links,
            }],
        }));
    };
    let (nodes, leases) = cluster
        .overview()
        .await
        .map_err(crate::error::ApiError::internal)?;
    let nodes = nodes
        .into_iter()
        .map(|node| {
            let this = node.name == cluster.node;
            let state = match (this, node.live) {
                (true, _) => cluster.standing().as_str(),
                (false, true) => "active",
                (false, false) => "expired",
            };
            let links = leases
                .iter()
                .filter(|lease| lease.node.as_deref() == Some(node.name.as_str()))
                .map(|lease| NodeLink {
                    pbx_id: lease.pbx_id,
                    epoch: lease.epoch,
                    state: lease.link.as_ref().map(|l| l.state.clone()),
                })
                .collect();
            NodeView {
                last_renewal: if this {
                    cluster.last_renewal()
                } else {
                    node.renewed_at
                },
                name: node.name,
                state,
                this,
                started_at: Some(node.started_at),
                expires_at: Some(node.expires_at),
                links,
            }
        })
        .collect();
    Ok(Json(ClusterView {
        mode: "cluster",
        nodes,
    }))
}
