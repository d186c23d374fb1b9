//! The `ucplus` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

mod licenses;

use self::licenses::{LicenseCommand, license_command};
use crate::config::Config;
use crate::startup::Application;

#[derive(Parser)]
#[command(
    name = "ucplus",
    version,
    about = "Multi-tenant unified-communications server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (SQLite database inside); default ./ucplus-data.
        #[arg(long)]
        data: Option<PathBuf>,
        /// HTTP listen address; default 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Start even when licenses are stored and no trusted key verifies any of them
        /// (they are not counted; /readyz and the system console say so).
        #[arg(long)]
        allow_unverified_licenses: bool,
    },
    /// A demo server: tenants, users and phones on simulated PBXs with live call traffic,
    /// on a fresh data directory that is removed on exit.
    Demo {
        /// HTTP listen address; default 127.0.0.1:8080.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// Copy the installation's database to a file, while the server runs (SQLite online
    /// backup). The secrets key (`secrets.key` in the data directory, or
    /// UCPLUS_SECRETS_KEY) is not in it: keep it apart.
    Backup {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory; default ./ucplus-data.
        #[arg(long)]
        data: Option<PathBuf>,
        /// The backup file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup in place as a data directory's database (stop the server first); the
    /// backup is checked before anything is replaced.
    Restore {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory; default ./ucplus-data.
        #[arg(long)]
        data: Option<PathBuf>,
        /// The backup file from `ucplus backup`.
        #[arg(long)]
        from: PathBuf,
    },
    /// The installation's database.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Print this installation's system id (licenses are bound to it).
    SystemId {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Make, sign and check license files.
    License {
        #[command(subcommand)]
        command: LicenseCommand,
    },
    /// The CSTA PBX simulator on its own: a switch speaking CSTA XML over TCP.
    SimPbx {
        /// Address to listen on, e.g. 127.0.0.1:8882.
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// Device ranges and lists, e.g. 200-299 or 1200-1209,2200-2209.
        #[arg(long)]
        devices: String,
        /// Session pattern: none, ecma354 or openscape.
        #[arg(long, default_value = "none")]
        session: String,
        /// ECMA-354 vendor login the switch expects, as USER:PASSWORD.
        #[arg(long)]
        login: Option<String>,
        /// CSTA edition the switch writes: ed2, ed3, ed4 or ed5.
        #[arg(long, default_value = "ed3")]
        edition: String,
        /// Framing: header (8-byte ECMA-323 header) or nul.
        #[arg(long, default_value = "header")]
        framing: String,
        /// Generated calls per second (0: none).
        #[arg(long, default_value_t = 0.0)]
        traffic: f64,
    },
    /// Load runs, printing a table: end to end against a simulated PBX, or `sip` for the
    /// SIP registrar against Kamailio's.
    Bench {
        #[command(flatten)]
        args: crate::bench::BenchArgs,
        #[command(subcommand)]
        what: Option<BenchCommand>,
    },
    /// The bare broadcast server `ucplus bench` compares itself with (run by the bench).
    #[command(hide = true)]
    BenchBareServer(crate::bench::bare::BareArgs),
    /// CSTA tools for engineers.
    Csta {
        #[command(subcommand)]
        command: CstaCommand,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Move an installation from its SQLite file to an empty PostgreSQL database (stop the
    /// server first): every row in one transaction, each table's count checked after.
    Copy {
        /// The SQLite database file (`ucplus.db` in the data directory).
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL URL (`postgres://user@host/database`); its schema is made.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// REGISTER with digest auth per second: ucplus's registrar and Kamailio's, same load.
    Sip(crate::bench::sip::SipBenchArgs),
}

#[derive(Subcommand)]
enum CstaCommand {
    /// Decode CSTA frames (8-byte header or NUL-delimited) or bare XML documents, one JSON
    /// object per message on stdout; a bad message is reported on stderr with its byte
    /// offset and the run exits non-zero.
    Decode {
        /// A capture file, or `-` (default) for standard input.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            config,
            data,
            listen,
            allow_unverified_licenses,
        } => {
            let mut config = Config::load(config.as_deref())?;
            if allow_unverified_licenses {
                config.license.allow_unverified = true;
            }
            if let Some(data) = data {
                config.data_dir = data;
            }
            if let Some(listen) = listen {
                config.listen = listen;
            }
            crate::telemetry::init_logging(&config.log);
            runtime()?.block_on(serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { args, what } => {
            match what {
                None => runtime()?.block_on(crate::bench::run(args))?,
                Some(BenchCommand::Sip(args)) => {
                    runtime()?.block_on(crate::bench::sip::run(args))?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchBareServer(args) => {
            runtime()?.block_on(crate::bench::bare::serve(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { listen } => {
            crate::telemetry::init_logging(&crate::config::LogConfig::default());
            let runtime = runtime()?;
            let stop = {
                let _context = runtime.enter();
                shutdown_signal()
            };
            runtime.block_on(crate::demo::run(listen, stop))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SystemId { config, data } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(data) = data {
                config.data_dir = data;
            }
            let (_, system_id) = runtime()?.block_on(crate::startup::open_store(&config))?;
            println!("{system_id}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { config, data, out } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(data) = data {
                config.data_dir = data;
            }
            let system_id = runtime()?.block_on(crate::backup::backup(&config, &out))?;
            println!(
                "backup of system {system_id} written to {} (keep the secrets key apart: {} or UCPLUS_SECRETS_KEY)",
                out.display(),
                config.data_dir.join(crate::secrets::KEY_FILE).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { config, data, from } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(data) = data {
                config.data_dir = data;
            }
            let system_id = runtime()?.block_on(crate::backup::restore(&config, &from))?;
            println!(
                "restored system {system_id} into {}",
                config.data_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Store {
            command: StoreCommand::Copy { from, to },
        } => {
            let copied = runtime()?.block_on(store_copy(&from, &to))?;
            let rows: u64 = copied.iter().map(|t| t.rows).sum();
            for table in &copied {
                println!("{:<16} {:>10}", table.table, table.rows);
            }
            println!(
                "copied {} tables, {rows} rows; the counts match on both sides",
                copied.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::License { command } => license_command(command),
        Command::Csta {
            command: CstaCommand::Decode { file },
        } => csta_decode(&file),
        Command::SimPbx {
            listen,
            devices,
            session,
            login,
            edition,
            framing,
            traffic,
        } => {
            crate::telemetry::init_logging(&crate::config::LogConfig::default());
            let config = sim_config(
                listen,
                &devices,
                &session,
                login.as_deref(),
                &edition,
                &framing,
            )?;
            anyhow::ensure!(
                (0.0..=10_000.0).contains(&traffic),
                "--traffic must be 0-10000 calls per second"
            );
            runtime()?.block_on(async move {
                let stop = shutdown_signal();
                let simulator = pbx::sim::Simulator::start(config).await?;
                println!("CSTA PBX simulator listening on {}", simulator.local_addr());
                let traffic = (traffic > 0.0).then(|| {
                    simulator.start_traffic(pbx::sim::TrafficConfig {
                        calls_per_second: traffic,
                        max_calls: u64::MAX,
                        max_duration: std::time::Duration::from_secs(24 * 3600),
                        ..pbx::sim::TrafficConfig::default()
                    })
                });
                stop.await;
                drop(traffic);
                simulator.shutdown().await;
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Larger captures are refused rather than read into memory.
const MAX_CAPTURE: u64 = 512 * 1024 * 1024;

fn csta_decode(file: &std::path::Path) -> anyhow::Result<ExitCode> {
    use std::io::{Read, Write};
    let mut bytes = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_CAPTURE + 1)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        std::fs::File::open(file)
            .with_context(|| format!("opening {}", file.display()))?
            .take(MAX_CAPTURE + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", file.display()))?;
    }
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_CAPTURE,
        "the capture is larger than {} MiB; split it first",
        MAX_CAPTURE / 1024 / 1024
    );
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut good, mut bad) = (0usize, 0usize);
    for item in csta::decode_stream(&bytes) {
        match item {
            Ok(decoded) => {
                good += 1;
                writeln!(out, "{}", decoded.to_json())?;
            }
            Err(error) => {
                bad += 1;
                out.flush()?;
                eprintln!(
                    "error at byte {}: {} ({})",
                    error.offset, error.reason, error.code
                );
            }
        }
    }
    out.flush()?;
    if bad > 0 {
        eprintln!("{good} message(s) decoded, {bad} bad");
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn sim_config(
    listen: std::net::SocketAddr,
    devices: &str,
    session: &str,
    login: Option<&str>,
    edition: &str,
    framing: &str,
) -> anyhow::Result<pbx::sim::SimConfig> {
    use pbx::sim::{Ecma354Config, Login, OpenScapeConfig, SessionPattern};
    let devices: pbx::sim::DeviceSet = devices
        .parse()
        .map_err(|e| anyhow::anyhow!("--devices: {e}"))?;
    let mut config = pbx::sim::SimConfig::new(devices);
    config.listen = listen;
    if login.is_some() && session != "ecma354" {
        anyhow::bail!("--login is the ECMA-354 vendor login: use it with --session ecma354");
    }
    config.session = match session {
        "none" => SessionPattern::None,
        "ecma354" => {
            let login = login
                .map(|l| {
                    l.split_once(':')
                        .map(|(user, password)| Login {
                            user: user.into(),
                            password: password.into(),
                        })
                        .context("--login: expected USER:PASSWORD")
                })
                .transpose()?;
            SessionPattern::Ecma354(Ecma354Config {
                login,
                ..Ecma354Config::default()
            })
        }
        "openscape" => SessionPattern::OpenScape(OpenScapeConfig::default()),
        other => anyhow::bail!("--session {other}: expected none, ecma354 or openscape"),
    };
    config.edition = match edition {
        "ed2" => csta::Edition::Ed2,
        "ed3" => csta::Edition::Ed3,
        "ed4" => csta::Edition::Ed4,
        "ed5" => csta::Edition::Ed5,
        other => anyhow::bail!("--edition {other}: expected ed2, ed3, ed4 or ed5"),
    };
    config.framing = match framing {
        "header" => csta::Framing::Header,
        "nul" => csta::Framing::Nul,
        other => anyhow::bail!("--framing {other}: expected header or nul"),
    };
    Ok(config)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let stop = shutdown_signal();
    let app = Application::build(config.clone()).await?;
    let address = app.local_addr()?;
    if let Some(password) = &app.generated_admin_password {
        // Printed once, on the terminal only: never through the log.
        println!("Created the system admin `admin` with password: {password}");
        println!("(set UCPLUS_ADMIN_PASSWORD before the first start to choose it)");
    }
    println!(
        "ucplus {} listening on http://{address}",
        env!("CARGO_PKG_VERSION")
    );
    println!("system id: {}", app.state().system_id);
    tracing::info!(%address, data_dir = %config.data_dir.display(), "serving");
    app.run_until_stopped(stop).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called (not
/// when first awaited), so a signal that arrives right after start-up is not lost.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {},
                        _ = terminate.recv() => {},
                    }
                }
                (interrupt, terminate) => {
                    if let Err(error) = interrupt.and(terminate) {
                        tracing::error!(%error, "cannot listen for signals; stop with SIGKILL");
                    }
                    std::future::pending::<()>().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}

/// `ucplus store copy`: the SQLite file (its server stopped) into an empty PostgreSQL.
async fn store_copy(from: &Path, to: &str) -> anyhow::Result<Vec<ucplus_store::CopiedTable>> {
    if !from.is_file() {
        anyhow::bail!("{} is not a file", from.display());
    }
    if !matches!(
        ucplus_store::Backend::parse(to),
        Ok(ucplus_store::Backend::Postgres(_))
    ) {
        anyhow::bail!("--to must be a PostgreSQL URL (postgres://user@host/database)");
    }
    // A server running on the file would change it while it is read.
    let dir = from
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let _lock = crate::startup::DataDirLock::take(dir)?;
    // Read before anything opens it for writing: a file that is not a ucplus database is
    // left exactly as it is.
    if ucplus_store::SqlStore::sqlite_system_id(from)
        .await?
        .is_none()
    {
        anyhow::bail!(
            "{} is not a ucplus database (it has no system id)",
            from.display()
        );
    }
    let source = ucplus_store::SqlStore::open_sqlite(from)
        .await
        .with_context(|| format!("opening {}", from.display()))?;
    let target = ucplus_store::SqlStore::connect_postgres(to)
        .await
        .context("connecting to the PostgreSQL database")?;
    let copied = source.copy_into(&target).await?;
    source.close().await;
    target.close().await;
    Ok(copied)
}
