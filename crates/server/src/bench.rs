//! `ucplus bench`: an end-to-end load run. A ucplus server runs as a child process (so the
//! load clients' sockets do not count against its file limit); this process runs the PBX
//! simulator with time-stamped events and N WebSocket clients spread over T tenants, and
//! reports delivered messages/s, PBX-send → client-receive latency, misdeliveries (events
//! that reached a client of another tenant or user: must be 0) and server memory per
//! client.
//!
//! With `--nodes N` the server is N nodes on one PostgreSQL database and NATS ([`nodes`]):
//! the PBX link runs on one of them, the users (each with its clients, which share its
//! session) go to the nodes in turn, and the report ([`report`]) adds each node's share and
//! the latency the NATS hop adds.
//!
//! Then, with one node, it measures its own ceiling in the same run: the same clients
//! against a bare broadcast server ([`bare`]: no auth, no JSON, shared pre-serialized
//! messages) offered the same messages per second of the same size, and prints `ucplus /
//! bare broadcast` (delivered messages/s) with the server CPU per delivered message of both.
//! With several nodes that comparison is left out: the bare server is one process, so its
//! ceiling is a single node's; a `--nodes 1` run at the same load is the figure to compare.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use license::file::Issue;
use license::{ItemType, LicenseType, SigningKey};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub mod bare;
mod clients;
mod nodes;
mod report;
pub mod sip;

use self::clients::{Fleet, TenantView};
use self::nodes::Nodes;
use self::report::{NodeResult, Report};

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// WebSocket clients.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Tenants the clients are spread over.
    #[arg(long, default_value_t = 10)]
    pub tenants: usize,
    /// Devices per tenant on the simulated PBX (2-1000).
    #[arg(long, default_value_t = 20)]
    pub devices: usize,
    /// Users per tenant (clients of one user share its session).
    #[arg(long, default_value_t = 5)]
    pub users: usize,
    /// Simulated calls per second (each makes about a dozen PBX events).
    #[arg(long, default_value_t = 100.0)]
    pub calls_per_second: f64,
    /// Seconds of traffic.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// How long calls ring, in ms (`MIN-MAX`). Shorter calls free devices sooner: more
    /// PBX events per second from the same devices.
    #[arg(long, default_value = "200-800", value_parser = milliseconds)]
    pub ring_ms: pbx::sim::DurationRange,
    /// How long answered calls last, in ms (`MIN-MAX`).
    #[arg(long, default_value = "500-2000", value_parser = milliseconds)]
    pub talk_ms: pbx::sim::DurationRange,
    /// Server nodes. Above 1: on one PostgreSQL database with live events over NATS; the
    /// PBX link runs on one node and the users (each with its clients) go to the nodes in
    /// turn.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// With --nodes above 1: an empty PostgreSQL database for the nodes (left as the run
    /// leaves it). Default: a scratch database made on postgres://postgres@127.0.0.1:5432
    /// and dropped at the end.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// With --nodes above 1: the NATS server between the nodes [default:
    /// nats://127.0.0.1:4222].
    #[arg(long, value_name = "URL")]
    pub nats_url: Option<String>,
}

/// `MIN-MAX` milliseconds, as `--ring-ms` and `--talk-ms` take them.
fn milliseconds(text: &str) -> Result<pbx::sim::DurationRange, String> {
    let bound = |part: &str| {
        part.trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| format!("`{text}`: expected MIN-MAX in milliseconds, e.g. 200-800"))
    };
    let (min, max) = text
        .split_once('-')
        .ok_or_else(|| format!("`{text}`: expected MIN-MAX in milliseconds, e.g. 200-800"))?;
    let (min, max) = (bound(min)?, bound(max)?);
    if min > max {
        return Err(format!("`{text}`: MIN is above MAX"));
    }
    Ok(pbx::sim::DurationRange::new(min, max))
}

/// A minimal HTTP/1.1 client for the few setup calls (one connection per request).
async fn http(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
    content_type: &str,
) -> anyhow::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    let body = body.unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").context("an HTTP response")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("an HTTP status")?;
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

async fn call(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let (status, answer) = http(
        address,
        method,
        path,
        token,
        Some(body.to_string()),
        "application/json",
    )
    .await?;
    if !(200..300).contains(&status) {
        bail!("{method} {path}: {status} {answer}");
    }
    Ok(answer)
}

/// The server child process; killed when dropped.
struct Server {
    child: Child,
    /// Its node name (with several nodes).
    name: String,
    address: String,
    system_id: String,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server child process, with extra environment. The settings that would join it to
/// another installation (database, NATS, node name, secrets key) are not passed on from
/// this process's environment: only `environment` sets them.
fn start_server_with(
    data_dir: &std::path::Path,
    public_key: &str,
    environment: &[(&str, &str)],
) -> anyhow::Result<Server> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data_dir)
        .env("UCPLUS_ADMIN_PASSWORD", "bench-admin")
        .env("UCPLUS_LICENSE_PUBLIC_KEYS", public_key)
        .env("UCPLUS_LOG_LEVEL", "warn")
        .env("UCPLUS_SESSION_IDLE_TIMEOUT", "3600")
        // Every simulated client comes from this one loopback address.
        .env("UCPLUS_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "60000")
        .env("UCPLUS_HTTP_MAX_CONNECTIONS", "60000");
    for name in [
        "UCPLUS_DATABASE_URL",
        "UCPLUS_NATS_URL",
        "UCPLUS_NODE_NAME",
        "UCPLUS_SECRETS_KEY",
    ] {
        command.env_remove(name);
    }
    for (name, value) in environment {
        command.env(name, value);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the server")?;
    let stdout = child.stdout.take().context("server stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut address = None;
    let mut system_id = None;
    while address.is_none() || system_id.is_none() {
        let line = lines.next().context("the server exited")??;
        if let Some(rest) = line.split("listening on http://").nth(1) {
            address = Some(rest.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("system id: ") {
            system_id = Some(rest.trim().to_string());
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Ok(Server {
        child,
        name: String::new(),
        address: address.unwrap_or_default(),
        system_id: system_id.unwrap_or_default(),
    })
}

fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.tenants >= 1 && args.clients >= args.tenants,
        "need at least one client per tenant"
    );
    anyhow::ensure!(
        args.users >= 1 && args.devices >= 2 && args.devices <= 1000,
        "--devices must be 2-1000, --users at least 1"
    );
    anyhow::ensure!(args.nodes >= 1, "--nodes must be at least 1");
    anyhow::ensure!(
        args.nodes > 1 || (args.database_url.is_none() && args.nats_url.is_none()),
        "--database-url and --nats-url are for several nodes (--nodes above 1)"
    );
    anyhow::ensure!(
        args.nodes == 1 || (args.users >= args.nodes && args.clients >= args.tenants * args.users),
        "several nodes need a client of every user and every tenant's users on every node \
         (--users at least --nodes, --clients at least --tenants × --users)"
    );
    // An interrupted run stops its servers and drops its scratch database too.
    let interrupted = crate::cli::shutdown_signal();
    tokio::select! {
        result = measure(&args) => result,
        () = interrupted => bail!("interrupted"),
    }
}

/// The tenant and the user (index in its tenant) of client `index`: the tenants in turn,
/// and in each tenant its users in turn.
fn user_of(index: usize, args: &BenchArgs) -> (usize, usize) {
    (index % args.tenants, (index / args.tenants) % args.users)
}

/// The node of client `index`. A user's clients share its session, and a session is held
/// by one node (used on another it moves there, and the first node ends its clients with
/// 4001 at its next sync), so they all go to one node; the users of all tenants go to the
/// nodes in turn.
fn node_of(index: usize, args: &BenchArgs) -> usize {
    let (tenant, user) = user_of(index, args);
    (tenant * args.users + user) % args.nodes
}

async fn measure(args: &BenchArgs) -> anyhow::Result<()> {
    let vendor = SigningKey::generate().context("a vendor key")?;
    let nodes = Nodes::start(args, &vendor.public_key().to_string()).await?;
    let address = nodes.servers[0].address.clone();
    println!(
        "ucplus bench: {} clients in {} tenants, {} devices each, {} calls/s for {} s",
        args.clients, args.tenants, args.devices, args.calls_per_second, args.duration
    );
    if let Some(description) = &nodes.description {
        println!("{description}");
    }
    let Setup {
        admin,
        sim,
        pbx_id,
        views,
    } = set_up(args, &address, &nodes.servers[0].system_id, &vendor).await?;
    eprintln!("  tenants, users and devices set up; waiting for the PBX link");
    let owner = nodes.link_owner(&admin, &pbx_id).await?;

    eprintln!("  connecting {} WebSocket clients", args.clients);
    let before_kib: Vec<u64> = nodes
        .servers
        .iter()
        .map(|s| resident_kib(s.pid()))
        .collect();
    let mut fleets = Vec::new();
    for (node, server) in nodes.servers.iter().enumerate() {
        let clients = (0..args.clients).filter(|i| node_of(*i, args) == node);
        let fleet = Fleet::connect(clients.map(|i| {
            let (tenant, user) = user_of(i, args);
            let view = views[tenant].clone();
            let (user, token) = view.tokens[user].clone();
            let url = format!("ws://{}/api/v1/events?token={token}", server.address);
            (url, view, user)
        }))
        .await?;
        fleets.push(fleet);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_kib: Vec<u64> = nodes
        .servers
        .iter()
        .map(|s| resident_kib(s.pid()))
        .collect();

    eprintln!("  generating traffic");
    let sent_before = sim.stats().events_sent;
    let windows: Vec<_> = fleets
        .iter()
        .zip(&nodes.servers)
        .map(|(fleet, server)| fleet.begin(server.pid()))
        .collect();
    let traffic = sim.start_traffic(pbx::sim::TrafficConfig {
        calls_per_second: args.calls_per_second,
        ring_time: args.ring_ms,
        talk_time: args.talk_ms,
        max_calls: u64::MAX,
        max_duration: Duration::from_secs(args.duration),
        ..pbx::sim::TrafficConfig::default()
    });
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let measured: Vec<_> = windows
        .into_iter()
        .zip(&fleets)
        .map(|(window, fleet)| window.end(fleet))
        .collect();
    let pbx_events = sim.stats().events_sent - sent_before;
    drop(traffic);
    let mut results = Vec::new();
    for (node, ((fleet, window), server)) in fleets
        .into_iter()
        .zip(measured)
        .zip(&nodes.servers)
        .enumerate()
    {
        let totals = fleet.totals.clone();
        results.push(NodeResult {
            name: server.name.clone(),
            runs_link: node == owner,
            clients: (0..args.clients)
                .filter(|i| node_of(*i, args) == node)
                .count(),
            window,
            latencies: fleet.stop().await,
            memory_kib: (before_kib[node], after_kib[node]),
            misdelivered: totals.misdelivered.load(Ordering::Relaxed),
            dropped: totals.dropped.load(Ordering::Relaxed),
        });
    }
    let report = Report {
        pbx_events,
        nodes: results,
    };
    report.print();
    drop(nodes);
    if args.nodes == 1 {
        bare::compare(args, &report.total()).await?;
    } else {
        println!(
            "bare broadcast comparison: left out with several nodes (the bare server is one \
             process: compare with a --nodes 1 run at the same load)"
        );
    }
    if report.misdelivered() > 0 {
        bail!("events reached clients that should not see them");
    }
    if report.dropped() > 0 {
        bail!("the server dropped clients during the run: events were lost");
    }
    if let Some(idle) = report.nodes.iter().find(|node| node.window.delivered == 0) {
        if args.nodes == 1 {
            bail!("no events reached any client");
        }
        bail!("no events reached the clients of node {}", idle.name);
    }
    Ok(())
}

/// What the run is set up with.
struct Setup {
    /// The system admin's token.
    admin: String,
    sim: pbx::sim::Simulator,
    pbx_id: String,
    /// What each tenant's clients may see.
    views: Vec<Arc<TenantView>>,
}

/// Loads the licenses; makes the tenants, the simulated PBX (started here) with each
/// tenant's devices, and the users, each logged in.
async fn set_up(
    args: &BenchArgs,
    address: &str,
    system_id: &str,
    vendor: &SigningKey,
) -> anyhow::Result<Setup> {
    // Licenses, tenants, the simulated PBX and its devices, users.
    let admin = call(
        address,
        "POST",
        "/api/v1/auth/login",
        None,
        json!({"username": "admin", "password": "bench-admin", "client": "admin"}),
    )
    .await?;
    let admin = admin["token"].as_str().context("admin token")?.to_string();
    // One more tenant slot for the implicit default tenant.
    let packs = (args.tenants + 1).div_ceil(20) as u32;
    let text = Issue {
        id: ucplus_core::ids::new_uuid().to_string(),
        system_id: system_id.to_string(),
        customer: Some("bench".into()),
        issued: crate::licensing::today(),
        expires: None,
        items: [
            (ItemType::MtStarter20, packs),
            (
                ItemType::Pool(LicenseType::Desktop),
                (args.tenants * args.users) as u32,
            ),
        ]
        .into(),
    }
    .sign(vendor);
    let (status, answer) = http(
        address,
        "POST",
        "/api/v1/licenses",
        Some(&admin),
        Some(text),
        "text/plain",
    )
    .await?;
    anyhow::ensure!(
        status == 201,
        "loading the bench license: {status} {answer}"
    );
    let mut ranges = Vec::new();
    for t in 0..args.tenants {
        let first = 10_000 + t * 1000;
        ranges.push((first, format!("{first}-{}", first + args.devices - 1)));
    }
    let device_list = ranges
        .iter()
        .map(|(_, r)| r.clone())
        .collect::<Vec<_>>()
        .join(",");
    let mut sim_config =
        pbx::sim::SimConfig::new(device_list.parse().map_err(|e| anyhow::anyhow!("{e}"))?);
    sim_config.listen = "127.0.0.1:0".parse()?;
    sim_config.stamp_events = true;
    sim_config.limits.client_queue = 1 << 16;
    let sim = pbx::sim::Simulator::start(sim_config).await?;
    let pbx = call(address, "POST", "/api/v1/pbxs", Some(&admin), json!({"name": "bench", "kind": "csta", "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "none"})).await?;
    let pbx_id = pbx["id"].as_str().context("pbx id")?.to_string();
    let mut views = Vec::new();
    for (t, (_, range)) in ranges.iter().enumerate() {
        let slug = format!("bench-{t}");
        let tenant = call(address, "POST", "/api/v1/tenants", Some(&admin), json!({"name": slug, "slug": slug, "admin": {"username": "boss", "password": "bench-password"}})).await?;
        let tenant_id = tenant["id"].as_str().context("tenant id")?.to_string();
        let assigned = call(
            address,
            "POST",
            &format!("/api/v1/pbxs/{pbx_id}/devices"),
            Some(&admin),
            json!({"tenant_id": tenant_id, "device_ids": [range]}),
        )
        .await?;
        let devices: HashSet<String> = assigned["devices"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["id"].as_str().map(String::from))
            .collect();
        let mut users = HashSet::new();
        let mut tokens = Vec::new();
        for u in 0..args.users {
            let name = format!("user{u}");
            let user = call_in(
                address,
                &admin,
                &tenant_id,
                json!({"username": name, "password": "bench-password", "display_name": name}),
            )
            .await?;
            let user_id = user["id"].as_str().context("user id")?.to_string();
            let login = call(address, "POST", "/api/v1/auth/login", None, json!({"tenant": slug, "username": name, "password": "bench-password", "client": "desktop"})).await?;
            users.insert(user_id.clone());
            tokens.push((
                user_id,
                login["token"].as_str().context("token")?.to_string(),
            ));
        }
        views.push(Arc::new(TenantView {
            devices,
            users,
            tokens,
        }));
    }
    Ok(Setup {
        admin,
        sim,
        pbx_id,
        views,
    })
}

/// Creates a user in a tenant as the system admin (naming the tenant in the header).
async fn call_in(address: &str, admin: &str, tenant: &str, body: Value) -> anyhow::Result<Value> {
    call_as(address, "POST", "/api/v1/users", admin, tenant, body).await
}

/// A request as the system admin acting in `tenant` (the X-Ucplus-Tenant header).
async fn call_as(
    address: &str,
    method: &str,
    path: &str,
    admin: &str,
    tenant: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let mut stream = TcpStream::connect(address).await?;
    let body = body.to_string();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {admin}\r\nX-Ucplus-Tenant: {tenant}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").context("an HTTP response")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("an HTTP status")?;
    if !(200..300).contains(&status) {
        bail!("{method} {path}: {status} {body}");
    }
    Ok(serde_json::from_str(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_times_are_read_as_millisecond_ranges() {
        let range = milliseconds("20-100").unwrap();
        assert_eq!(
            (range.min, range.max),
            (Duration::from_millis(20), Duration::from_millis(100))
        );
        for bad in ["20", "a-100", "100-20", "-5", ""] {
            assert!(milliseconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_users_clients_share_a_node_and_every_node_has_every_tenant() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            args: BenchArgs,
        }
        for (clients, tenants, users, nodes) in [("1000", "10", "5", "3"), ("20", "2", "3", "2")] {
            let args = <Command as clap::Parser>::parse_from([
                "bench",
                "--clients",
                clients,
                "--tenants",
                tenants,
                "--users",
                users,
                "--nodes",
                nodes,
            ])
            .args;
            let mut node_of_user = std::collections::HashMap::new();
            let mut seen = HashSet::new();
            for index in 0..args.clients {
                let (tenant, user) = user_of(index, &args);
                let node = node_of(index, &args);
                assert_eq!(*node_of_user.entry((tenant, user)).or_insert(node), node);
                seen.insert((node, tenant));
            }
            assert_eq!(seen.len(), args.nodes * args.tenants, "{clients} {nodes}");
        }
    }
}
