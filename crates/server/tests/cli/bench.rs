//! `ucplus bench --nodes 2` as an operator runs it: two nodes on a database of the test's
//! own and the local NATS, the PBX link on one of them, clients on both; the report names
//! both nodes, each delivered messages and nothing reached a client that should not see
//! it. Without PostgreSQL or NATS the run stops at once, naming the setting of each.

use std::time::Duration;

use crate::running::Running;
use crate::scratch::ScratchDb;
use crate::ucplus;

/// The NATS server the tests use (`UCPLUS_TEST_NATS_URL`, default the local one); None
/// (skip) when it does not answer and this is not CI, where it must.
fn nats_url() -> Option<String> {
    let url =
        std::env::var("UCPLUS_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let address = url.strip_prefix("nats://").unwrap_or(&url);
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(address)
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|address| {
            std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
        });
    match reachable {
        true => Some(url),
        false if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: no NATS server at {url}");
            None
        }
        false => panic!("a NATS server at {url} is required under CI=true"),
    }
}

/// The figures of a node's row in the report: clients, delivered/s, and what it says of the
/// link.
fn node_row(report: &str, name: &str) -> Option<(u64, f64, String)> {
    let row = report
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))?;
    let columns: Vec<&str> = row.split_whitespace().collect();
    Some((
        columns.get(1)?.parse().ok()?,
        columns.get(2)?.parse().ok()?,
        columns[8..].join(" "),
    ))
}

#[test]
fn bench_on_two_nodes_reports_each_node_and_no_misdelivery() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = runtime.block_on(ScratchDb::create()) else {
        return;
    };
    let Some(nats) = nats_url() else {
        return;
    };
    let mut bench = Running::start(
        &[
            "bench",
            "--nodes",
            "2",
            "--clients",
            "20",
            "--tenants",
            "2",
            "--users",
            "3",
            "--devices",
            "10",
            "--calls-per-second",
            "20",
            "--duration",
            "2",
            "--database-url",
            &db.url,
            "--nats-url",
            &nats,
        ],
        &[],
    );
    let exit = bench.wait(Duration::from_secs(60));
    let report = bench.output();
    assert!(exit.success(), "{report}");
    assert!(
        report.contains("2 nodes on PostgreSQL (the database of --database-url)"),
        "{report}"
    );
    let misdeliveries = report
        .lines()
        .find(|line| line.starts_with("misdeliveries"))
        .and_then(|line| line.split_whitespace().last());
    assert_eq!(misdeliveries, Some("0"), "{report}");
    let rows: Vec<(u64, f64, String)> = ["n1", "n2"]
        .iter()
        .map(|name| node_row(&report, name).unwrap_or_else(|| panic!("no row {name}: {report}")))
        .collect();
    for (clients, delivered, _) in &rows {
        assert_eq!(*clients, 10, "{report}");
        assert!(*delivered > 0.0, "every node delivered messages: {report}");
    }
    let links: Vec<&str> = rows.iter().map(|(_, _, link)| link.as_str()).collect();
    assert!(
        links == ["runs it", "over NATS"] || links == ["over NATS", "runs it"],
        "the link on exactly one node: {report}"
    );
    assert!(report.contains("added by the NATS hop"), "{report}");
    drop(db);
}

#[test]
fn bench_on_several_nodes_names_what_does_not_answer() {
    let (ok, _, stderr) = ucplus(&[
        "bench",
        "--nodes",
        "2",
        "--database-url",
        "postgres://postgres@127.0.0.1:1/none",
        "--nats-url",
        "nats://bench:s3cret@127.0.0.1:1",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("PostgreSQL (--database-url) does not answer"),
        "{stderr}"
    );
    assert!(
        stderr.contains("NATS at nats://127.0.0.1:1 (--nats-url) does not answer"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");

    let (ok, _, stderr) = ucplus(&["bench", "--database-url", "postgres://db/x"]);
    assert!(!ok);
    assert!(stderr.contains("for several nodes"), "{stderr}");
}
