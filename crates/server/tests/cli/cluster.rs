//! Three `ucplus serve` processes on one PostgreSQL database and one simulated switch, as
//! an operator runs them: the owner of the switch's link is killed twenty times and a
//! survivor has the link up with every device monitored within 5 s each time; the owner is
//! frozen (SIGSTOP) for 10 s: the switch has dropped its link before another node takes
//! over, and once it resumes it opens no link and sends nothing. The switch never sees two
//! links from ucplus at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pbx::sim::{DeviceSet, OpenScapeConfig, SessionPattern, SimConfig, Simulator};
use serde_json::{Value, json};

use crate::running::Running;
use crate::scratch::ScratchDb;

const PASSWORD: &str = "Cluster-Admin-Pw-1";
const SECRETS_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

struct Node {
    name: String,
    process: Running,
    address: String,
}

fn signal(node: &Node, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &node.process.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {}", node.name);
}

struct Cluster {
    url: String,
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    http: reqwest::Client,
}

impl Cluster {
    fn start(&self, name: &str) -> Node {
        let data = self.dir.path().join(name);
        let process = Running::start(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data",
                data.to_str().unwrap(),
                "--config",
                self.config.to_str().unwrap(),
            ],
            &[
                ("UCPLUS_DATABASE_URL", self.url.as_str()),
                ("UCPLUS_SECRETS_KEY", SECRETS_KEY),
                ("UCPLUS_NODE_NAME", name),
                ("UCPLUS_ADMIN_PASSWORD", PASSWORD),
            ],
        );
        let address = process.after("listening on http://");
        Node {
            name: name.to_string(),
            process,
            address,
        }
    }

    async fn call(
        &self,
        node: &Node,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let url = format!("http://{}{path}", node.address);
        let mut request = match method {
            "POST" => self.http.post(url),
            _ => self.http.get(url),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("an answer");
        response.json().await.expect("JSON")
    }

    /// Waits until `node` shows the PBX's link up on a node other than `not` (any: None);
    /// that node's name.
    async fn link_moved(
        &self,
        node: &Node,
        token: &str,
        pbx: &str,
        not: Option<&str>,
        within: Duration,
    ) -> String {
        let start = Instant::now();
        loop {
            let body = self
                .call(
                    node,
                    Some(token),
                    "GET",
                    &format!("/api/v1/pbxs/{pbx}"),
                    None,
                )
                .await;
            if body["link"]["state"] == "up"
                && let Some(on) = body["link"]["node"].as_str()
                && Some(on) != not
            {
                return on.to_string();
            }
            assert!(
                start.elapsed() < within,
                "the link did not move within {within:?}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn monitors(sim: &Simulator, want: u64, within: Duration) {
    let start = Instant::now();
    while sim.stats().monitors_active < want {
        assert!(start.elapsed() < within, "monitors: {:?}", sim.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn the_link_fails_over_between_processes_and_a_frozen_owner_stays_silent() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = runtime.block_on(ScratchDb::create()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(&config, "[cluster]\nlease_ttl = 1500\n").unwrap();
    let cluster = Cluster {
        url: db.url.clone(),
        config,
        dir,
        http: reqwest::Client::new(),
    };
    runtime.block_on(async {
        // A switch that drops a link missing two 300 ms heartbeats (as OpenScape does).
        let mut sim_config = SimConfig::new("300-309".parse::<DeviceSet>().unwrap());
        sim_config.listen = "127.0.0.1:0".parse().unwrap();
        sim_config.session = SessionPattern::OpenScape(OpenScapeConfig {
            heartbeat_interval: Duration::from_millis(300),
            missed_heartbeats: 2,
        });
        let sim = Arc::new(Simulator::start(sim_config).await.expect("simulator"));
        let most_links = Arc::new(AtomicU64::new(0));
        let watching = Arc::new(AtomicBool::new(true));
        let watcher = tokio::spawn({
            let (sim, most_links, watching) = (sim.clone(), most_links.clone(), watching.clone());
            async move {
                while watching.load(Ordering::Relaxed) {
                    most_links.fetch_max(sim.stats().connections_open, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        });

        let mut nodes: Vec<Node> = ["n1", "n2", "n3"].iter().map(|n| cluster.start(n)).collect();
        let login = cluster
            .call(&nodes[0], None, "POST", "/api/v1/auth/login", Some(json!({"username": "admin", "password": PASSWORD, "client": "admin"})))
            .await;
        let token = login["token"].as_str().expect("admin token").to_string();
        let pbx = cluster
            .call(&nodes[0], Some(&token), "POST", "/api/v1/pbxs", Some(json!({"name": "switch", "kind": "csta", "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "system_status", "heartbeat_interval": 1})))
            .await;
        let pbx = pbx["id"].as_str().unwrap_or_else(|| panic!("{pbx}")).to_string();
        let tenants = cluster.call(&nodes[0], Some(&token), "GET", "/api/v1/tenants", None).await;
        let assigned = cluster
            .call(&nodes[0], Some(&token), "POST", &format!("/api/v1/pbxs/{pbx}/devices"), Some(json!({"tenant_id": tenants[0]["id"], "device_ids": ["300-309"]})))
            .await;
        assert!(assigned["error"].is_null(), "{assigned}");
        let mut owner = cluster.link_moved(&nodes[0], &token, &pbx, None, Duration::from_secs(10)).await;
        monitors(&sim, 10, Duration::from_secs(5)).await;

        for round in 0..20 {
            let index = nodes.iter().position(|n| n.name == owner).unwrap();
            let killed = nodes.remove(index);
            let died = Instant::now();
            signal(&killed, "-KILL");
            let survivor = &nodes[round % nodes.len()];
            let now_on = cluster.link_moved(survivor, &token, &pbx, Some(&owner), Duration::from_secs(5)).await;
            monitors(&sim, 10, Duration::from_secs(5).saturating_sub(died.elapsed())).await;
            assert!(died.elapsed() < Duration::from_secs(5), "round {round}: {:?}", died.elapsed());
            drop(killed);
            // Its lease expired (another node took the link): it may come back as itself.
            nodes.push(cluster.start(&owner));
            owner = now_on;
        }

        // The owner freezes: the switch drops its silent link, and only after that does
        // another node take over.
        let index = nodes.iter().position(|n| n.name == owner).unwrap();
        let frozen = nodes.remove(index);
        signal(&frozen, "-STOP");
        let stopped = Instant::now();
        let other = cluster.link_moved(&nodes[0], &token, &pbx, Some(&owner), Duration::from_secs(8)).await;
        assert_ne!(other, owner);
        tokio::time::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed())).await;
        let accepted = sim.stats().connections_accepted;
        signal(&frozen, "-CONT");
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            sim.stats().connections_accepted,
            accepted,
            "the resumed node opened no link"
        );
        assert_eq!(
            cluster.link_moved(&frozen, &token, &pbx, Some(&owner), Duration::from_secs(2)).await,
            other,
            "the link stayed where it went"
        );
        let view = cluster.call(&frozen, Some(&token), "GET", "/api/v1/cluster", None).await;
        let me = view["nodes"].as_array().unwrap().iter().find(|n| n["this"] == true).cloned().unwrap();
        assert_eq!(me["links"], json!([]), "{view}");

        watching.store(false, Ordering::Relaxed);
        watcher.await.unwrap();
        assert_eq!(most_links.load(Ordering::Relaxed), 1, "the switch never saw two links at once");
        drop(frozen);
        drop(nodes);
    });
    drop(db);
}
