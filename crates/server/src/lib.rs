//! The ucplus server: configuration, start-up, the HTTP API, sessions and licensing,
//! and the `ucplus` command line.

pub mod api;
pub mod auth;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod cti;
pub mod demo;
pub mod error;
pub mod licensing;
pub mod peers;
pub mod registrar;
pub mod secrets;
pub mod serve;
pub mod service;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;

pub use config::Config;
pub use startup::Application;
