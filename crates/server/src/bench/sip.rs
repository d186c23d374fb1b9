//! `ucplus bench sip`: REGISTER with digest auth per second, ucplus's registrar against
//! Kamailio's (Debian `kamailio`, in-memory location table, the same credentials), driven by
//! the same load generator: C concurrent phones, each REGISTER → 401 → REGISTER with
//! Authorization → 200, for D seconds.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use sip::{Credentials, Message, Method};
use tokio::net::UdpSocket;

#[derive(Debug, Clone, clap::Args)]
pub struct SipBenchArgs {
    /// Handsets (SIP users) registered in turn.
    #[arg(long, default_value_t = 500)]
    pub users: usize,
    /// Phones registering at the same time.
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
    /// Seconds per registrar.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// The kamailio binary (skipped with a note when missing).
    #[arg(long, default_value = "/usr/sbin/kamailio")]
    pub kamailio: String,
}

const DOMAIN: &str = "bench.example";

fn password(user: usize) -> String {
    format!("secret-{}", 1000 + user)
}

/// Registrations completed per second against `registrar`.
async fn load(registrar: SocketAddr, args: &SipBenchArgs) -> anyhow::Result<(f64, u64)> {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let mut phones = Vec::new();
    for phone in 0..args.concurrency {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let (done, failed, users, concurrency) =
            (done.clone(), failed.clone(), args.users, args.concurrency);
        phones.push(tokio::spawn(async move {
            let local = socket.local_addr().ok()?;
            let mut buffer = vec![0u8; 65_535];
            let mut round = 0usize;
            // Like real phones, each user keeps its Call-ID and counts CSeq up on refresh.
            let mut dialogs: std::collections::HashMap<usize, (String, u32)> = std::collections::HashMap::new();
            while Instant::now() < deadline {
                let user = 1000 + (phone + round * concurrency) % users;
                round += 1;
                let (call_id, cseq) = {
                    let entry = dialogs.entry(user).or_insert_with(|| (sip::new_call_id("127.0.0.1"), 0));
                    entry.1 += 2;
                    (entry.0.clone(), entry.1)
                };
                let register = |cseq: u32, authorization: Option<String>| {
                    let mut text = format!(
                        "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={};rport\r\nMax-Forwards: 70\r\n\
                         From: <sip:{user}@{DOMAIN}>;tag={}\r\nTo: <sip:{user}@{DOMAIN}>\r\nCall-ID: {call_id}\r\n\
                         CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{local}>\r\nExpires: 600\r\n",
                        sip::new_branch(),
                        sip::new_tag()
                    );
                    if let Some(authorization) = authorization {
                        text.push_str(&format!("Authorization: {authorization}\r\n"));
                    }
                    text.push_str("Content-Length: 0\r\n\r\n");
                    text
                };
                let mut status_of = async |text: String| -> Option<sip::Response> {
                    socket.send_to(text.as_bytes(), registrar).await.ok()?;
                    loop {
                        let (length, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buffer)).await.ok()?.ok()?;
                        match sip::parse_datagram(buffer.get(..length)?, &sip::Limits::default()) {
                            Ok(Some(Message::Response(response))) => return Some(response),
                            _ => continue, // a controller's INVITE to the "phone": not this test's business
                        }
                    }
                };
                let Some(challenge) = status_of(register(cseq - 1, None)).await else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let Some(challenge) = challenge.headers.www_authenticate().ok().flatten() else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let credentials = Credentials::answer(&challenge, &user.to_string(), &password(user - 1000), &Method::Register, &format!("sip:{DOMAIN}"), "0a4f113b", 1);
                match status_of(register(cseq, Some(credentials.to_string()))).await {
                    Some(ok) if ok.status.as_u16() == 200 => done.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
            Some(())
        }));
    }
    let started = Instant::now();
    for phone in phones {
        let _ = phone.await;
    }
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    Ok((
        done.load(Ordering::Relaxed) as f64 / elapsed,
        failed.load(Ordering::Relaxed),
    ))
}

fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub async fn run(args: SipBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.users >= 1 && args.users <= 9000 && args.concurrency >= 1,
        "--users 1-9000, --concurrency at least 1"
    );
    println!(
        "ucplus bench sip: {} users, {} concurrent phones, {} s per registrar",
        args.users, args.concurrency, args.duration
    );

    // ucplus: a server with its registrar, one uacsta connection, N handsets with credentials.
    let data_dir = std::env::temp_dir().join(format!("ucplus-bench-sip-{}", std::process::id()));
    let sip_port = free_udp_port()?;
    let server = super::start_server_with(
        &data_dir,
        "",
        &[
            ("UCPLUS_SIP_LISTEN", &format!("127.0.0.1:{sip_port}")),
            ("UCPLUS_LOG_LEVEL", "error"),
        ],
    )?;
    let address = server.address.clone();
    let admin = super::call(
        &address,
        "POST",
        "/api/v1/auth/login",
        None,
        json!({"username": "admin", "password": "bench-admin", "client": "admin"}),
    )
    .await?;
    let admin = admin["token"].as_str().context("admin token")?.to_string();
    let tenants = super::call(
        &address,
        "GET",
        "/api/v1/tenants",
        Some(&admin),
        serde_json::Value::Null,
    )
    .await?;
    let tenant = tenants[0]["id"]
        .as_str()
        .context("the default tenant")?
        .to_string();
    let pbx = super::call(
        &address,
        "POST",
        "/api/v1/pbxs",
        Some(&admin),
        json!({"name": "handsets", "kind": "uacsta", "tenant_id": tenant, "sip_domain": DOMAIN}),
    )
    .await?;
    let pbx = pbx["id"].as_str().context("pbx id")?.to_string();
    let assigned = super::call(
        &address,
        "POST",
        &format!("/api/v1/pbxs/{pbx}/devices"),
        Some(&admin),
        json!({"tenant_id": tenant, "device_ids": [format!("1000-{}", 999 + args.users)]}),
    )
    .await?;
    for device in assigned["devices"].as_array().context("devices")? {
        let id = device["id"].as_str().context("device id")?;
        let number: usize = device["device_id"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .context("device number")?;
        super::call_as(
            &address,
            "PATCH",
            &format!("/api/v1/devices/{id}"),
            &admin,
            &tenant,
            json!({"sip_username": number.to_string(), "sip_password": password(number - 1000)}),
        )
        .await?;
    }
    let (ucplus_rate, ucplus_failed) =
        load(SocketAddr::from(([127, 0, 0, 1], sip_port)), &args).await?;
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
    println!(
        "{:<28} {:>10.0} registrations/s ({} failed)",
        "ucplus registrar", ucplus_rate, ucplus_failed
    );

    // Kamailio: the same credentials (secret-<user>), in-memory location table.
    if !std::path::Path::new(&args.kamailio).exists() {
        println!(
            "kamailio not found at {}: install Debian's kamailio for the comparison",
            args.kamailio
        );
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!("ucplus-bench-kamailio-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let port = free_udp_port()?;
    let config = format!(
        "#!KAMAILIO\ndebug=0\nlog_stderror=yes\nchildren=2\nlisten=udp:127.0.0.1:{port}\n\
         mpath=\"/usr/lib/x86_64-linux-gnu/kamailio/modules/\"\n\
         loadmodule \"tm.so\"\nloadmodule \"sl.so\"\nloadmodule \"pv.so\"\nloadmodule \"maxfwd.so\"\n\
         loadmodule \"usrloc.so\"\nloadmodule \"registrar.so\"\nloadmodule \"auth.so\"\n\
         modparam(\"usrloc\", \"db_mode\", 0)\n\
         request_route {{\n  if ($rm != \"REGISTER\") {{ sl_send_reply(\"405\", \"Method Not Allowed\"); exit; }}\n\
           if (!pv_auth_check(\"$fd\", \"secret-$fU\", \"0\", \"1\")) {{ auth_challenge(\"$fd\", \"0\"); exit; }}\n\
           save(\"location\");\n  exit;\n}}\n"
    );
    std::fs::write(dir.join("kamailio.cfg"), config)?;
    let mut kamailio = Command::new(&args.kamailio)
        .arg("-f")
        .arg(dir.join("kamailio.cfg"))
        .args(["-DD", "-E", "-Y"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting kamailio")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let result = load(SocketAddr::from(([127, 0, 0, 1], port)), &args).await;
    // SIGTERM lets kamailio stop its worker processes too (SIGKILL would orphan them).
    let _ = Command::new("kill")
        .args(["-TERM", &kamailio.id().to_string()])
        .status();
    let stopped = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        matches!(kamailio.try_wait(), Ok(Some(_)))
    });
    if !stopped {
        let _ = kamailio.kill();
        let _ = kamailio.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (kamailio_rate, kamailio_failed) = result?;
    println!(
        "{:<28} {:>10.0} registrations/s ({} failed)",
        "kamailio registrar", kamailio_rate, kamailio_failed
    );
    println!(
        "{:<28} {:>10.2}",
        "ucplus / kamailio",
        ucplus_rate / kamailio_rate.max(0.001)
    );
    Ok(())
}
