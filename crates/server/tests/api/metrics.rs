//! `/metrics` for operators: every family the server exposes says what it is.

use std::collections::BTreeSet;

use reqwest::Method;

use crate::helpers::TestServer;

/// Every sample at `/metrics` belongs to a family with a `# TYPE` and a `# HELP` line
/// (parsed as the Prometheus text format is written: a family's samples may carry the
/// `_sum`, `_count` or `_bucket` suffixes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_family_has_help_and_type() {
    let server = TestServer::start().await;
    // Some traffic, so families of several kinds exist: logins (good and bad), requests.
    let admin = server.admin().await;
    let _ = server
        .login(None, "admin", "not-the-password", "admin")
        .await;
    let (_, _) = server.get(&admin, "/api/v1/tenants").await;
    let (status, text) = server.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let text = text.as_str().unwrap_or_default().to_string();
    let (mut typed, mut helped, mut sampled) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.insert(
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let mut parts = rest.splitn(2, ' ');
            let name = parts.next().unwrap_or_default().to_string();
            assert!(
                parts.next().is_some_and(|help| !help.trim().is_empty()),
                "an empty help for {name}"
            );
            helped.insert(name);
        } else if !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            sampled.insert(name.to_string());
        }
    }
    assert!(sampled.len() >= 5, "too little to check: {text}");
    for sample in &sampled {
        let family = ["_sum", "_count", "_bucket"]
            .iter()
            .find_map(|suffix| {
                sample
                    .strip_suffix(suffix)
                    .filter(|base| typed.contains(*base))
            })
            .unwrap_or(sample);
        assert!(typed.contains(family), "{sample}: no # TYPE\n{text}");
        assert!(helped.contains(family), "{sample}: no # HELP\n{text}");
    }
    server.stop().await;
}
