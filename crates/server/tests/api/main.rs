//! Black-box API tests: each test starts a real server on a random loopback port with a
//! fresh data directory and talks HTTP to it.

mod helpers;
mod ws;

mod audit;
mod audit_logins;
mod caches;
mod cluster;
mod cluster_handsets;
mod concurrency;
mod cti;
mod cti_features;
mod cti_link;
mod expiry;
mod hardening;
mod hardening_requests;
mod import;
mod isolation;
mod isolation_sweep;
mod links;
mod metrics;
mod restart;
mod scale;
#[path = "../../../store/tests/support/scratch.rs"]
mod scratch;
mod sessions;
mod sip;
mod slow;
mod story;
mod uacsta;
