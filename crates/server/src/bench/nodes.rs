//! The server nodes of a bench run: one `ucplus serve` on its own SQLite data directory
//! (`--nodes 1`, the default), or several on one PostgreSQL database with live events
//! between them over NATS, as an operator runs them (README, "Several nodes").
//!
//! With several nodes the bench first checks that PostgreSQL and NATS answer (an error names
//! the setting of each that does not), makes a scratch database unless `--database-url`
//! names an empty one, and starts the nodes `n1`…`nN` one after the other with one secrets
//! key. Once the PBX is configured, [`Nodes::link_owner`] waits until its link is up on
//! exactly one node. Everything started here — processes, data directories, the scratch
//! database — is gone once [`Nodes`] is dropped, however the run ends.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::Value;
use ucplus_store::scratch::{ScratchDatabase, table_count};

use super::{BenchArgs, Server, call, start_server_with};

/// The PostgreSQL server a scratch database is made on when `--database-url` is not given.
pub const SCRATCH_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
/// `--nats-url` when not given.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
/// How long PostgreSQL and NATS may take to answer the first time.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The running nodes; killed, their data directories removed and the scratch database
/// dropped (in that order) when dropped.
pub struct Nodes {
    pub servers: Vec<Server>,
    /// Where the nodes run and what they share, as the report's header says it.
    pub description: Option<String>,
    scratch: Option<Scratch>,
    data_root: PathBuf,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        // Killed before their database goes.
        self.servers.clear();
        self.scratch.take();
        let _ = std::fs::remove_dir_all(&self.data_root);
    }
}

/// The scratch database, dropped with this.
struct Scratch(ScratchDatabase);

impl Drop for Scratch {
    fn drop(&mut self) {
        let database = &self.0;
        // Drop may run inside the bench's runtime (an error, an interrupt): the statement
        // runs on a thread and a runtime of its own.
        let dropped = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(anyhow::Error::from)
                        .and_then(|runtime| {
                            runtime
                                .block_on(database.drop_now())
                                .map_err(anyhow::Error::from)
                        })
                })
                .join()
        });
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!(
                "the scratch database {} was not dropped: {error:#}",
                database.name
            ),
            Err(_) => eprintln!("the scratch database {} was not dropped", database.name),
        }
    }
}

impl Nodes {
    /// Starts `args.nodes` servers trusting licenses of `public_key`.
    pub async fn start(args: &BenchArgs, public_key: &str) -> anyhow::Result<Nodes> {
        let mut nodes = Nodes {
            servers: Vec::new(),
            description: None,
            scratch: None,
            data_root: std::env::temp_dir().join(format!("ucplus-bench-{}", std::process::id())),
        };
        if args.nodes == 1 {
            let server = start_server_with(&nodes.data_root, public_key, &[])?;
            nodes.servers.push(server);
            return Ok(nodes);
        }
        let nats_url = args.nats_url.as_deref().unwrap_or(DEFAULT_NATS_URL);
        let (database, nats) = tokio::join!(
            shared_database(args.database_url.as_deref()),
            nats_answers(nats_url)
        );
        let mut problems = Vec::new();
        let url = match database {
            Ok((url, scratch)) => {
                // Dropped with the nodes from here on, whatever fails next.
                nodes.scratch = scratch.map(Scratch);
                Some(url)
            }
            Err(problem) => {
                problems.push(format!("{problem:#}"));
                None
            }
        };
        if let Err(problem) = nats {
            problems.push(format!("{problem:#}"));
        }
        let Some(url) = url.filter(|_| problems.is_empty()) else {
            bail!("{}", problems.join("\n"));
        };
        nodes.description = Some(format!(
            "{} nodes on PostgreSQL ({}) and NATS at {}",
            args.nodes,
            match &nodes.scratch {
                Some(Scratch(scratch)) => format!(
                    "scratch database {} on {}, dropped at the end",
                    scratch.name, SCRATCH_SERVER
                ),
                None => "the database of --database-url".to_string(),
            },
            without_credentials(nats_url)
        ));
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).context("a secrets key")?;
        let key = base64::engine::general_purpose::STANDARD.encode(key);
        for index in 1..=args.nodes {
            let name = format!("n{index}");
            let mut server = start_server_with(
                &nodes.data_root.join(&name),
                public_key,
                &[
                    ("UCPLUS_DATABASE_URL", &url),
                    ("UCPLUS_NATS_URL", nats_url),
                    ("UCPLUS_SECRETS_KEY", &key),
                    ("UCPLUS_NODE_NAME", &name),
                ],
            )
            .with_context(|| format!("node {name}"))?;
            server.name = name;
            nodes.servers.push(server);
        }
        Ok(nodes)
    }

    /// Waits (up to 30 s) until every node is active and the PBX link `pbx_id` is up on
    /// exactly one of them (read from `/api/v1/cluster` as the system admin); that node's
    /// index in `servers`.
    pub async fn link_owner(&self, admin: &str, pbx_id: &str) -> anyhow::Result<usize> {
        let address = &self.servers[0].address;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let view = call(address, "GET", "/api/v1/cluster", Some(admin), Value::Null).await?;
            let listed = view["nodes"].as_array().cloned().unwrap_or_default();
            let active = listed.iter().filter(|n| n["state"] == "active").count();
            let holders: Vec<&str> = listed
                .iter()
                .filter(|node| {
                    node["links"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|link| link["pbx_id"] == pbx_id && link["state"] == "up")
                })
                .filter_map(|node| node["name"].as_str())
                .collect();
            if active == self.servers.len()
                && let [holder] = holders[..]
            {
                if self.servers.len() == 1 {
                    return Ok(0);
                }
                if let Some(index) = self.servers.iter().position(|s| s.name == holder) {
                    return Ok(index);
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the PBX link was not up on exactly one of {} active nodes within 30 s: {view}",
                self.servers.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The database the nodes share: its URL, and the scratch database made for the run (None:
/// the empty one `--database-url` names).
async fn shared_database(given: Option<&str>) -> anyhow::Result<(String, Option<ScratchDatabase>)> {
    match given {
        Some(url) => {
            let tables = within(table_count(url))
                .await
                .context("PostgreSQL (--database-url) does not answer")?;
            anyhow::ensure!(
                tables == 0,
                "the database of --database-url is not empty ({tables} tables): name an empty \
                 one, or leave --database-url out for a scratch database"
            );
            Ok((url.to_string(), None))
        }
        None => {
            let scratch = within(ScratchDatabase::create(SCRATCH_SERVER, "ucplus_bench_"))
                .await
                .with_context(|| {
                    format!(
                        "PostgreSQL at {SCRATCH_SERVER} does not answer (the bench makes a \
                         scratch database there unless --database-url names one)"
                    )
                })?;
            Ok((scratch.url.clone(), Some(scratch)))
        }
    }
}

/// Whether NATS answers at `url`.
async fn nats_answers(url: &str) -> anyhow::Result<()> {
    let shown = without_credentials(url);
    anyhow::ensure!(
        url.starts_with("nats://"),
        "--nats-url must start with nats:// (not {shown})"
    );
    let client = within(ucplus_nats::Client::connect(url, "ucplus bench"))
        .await
        .with_context(|| format!("NATS at {shown} (--nats-url) does not answer"))?;
    client.close().await;
    Ok(())
}

/// `work`'s result, or an error when it takes longer than [`ANSWER_WITHIN`].
async fn within<T, E: std::error::Error + Send + Sync + 'static>(
    work: impl std::future::Future<Output = Result<T, E>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(ANSWER_WITHIN, work).await {
        Ok(result) => Ok(result?),
        Err(_) => bail!("no answer within {} s", ANSWER_WITHIN.as_secs()),
    }
}

/// `url` without the user and password it may hold, for printing.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority = rest.find(['/', '?']).map_or(rest, |end| &rest[..end]);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_printed_without_credentials() {
        assert_eq!(
            without_credentials("nats://bench:s3cret@nats.local:4222"),
            "nats://nats.local:4222"
        );
        assert_eq!(
            without_credentials("nats://127.0.0.1:4222"),
            "nats://127.0.0.1:4222"
        );
        assert_eq!(
            without_credentials("postgres://u:p@db/x?a=b@c"),
            "postgres://db/x?a=b@c"
        );
        assert_eq!(without_credentials("127.0.0.1:4222"), "127.0.0.1:4222");
    }
}
