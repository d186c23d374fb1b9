//! `ucplus license`: vendor keys, signed license files, and checking them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use license::file::Issue;
use license::{ItemType, License, PublicKey, SigningKey};

use crate::config::Config;

#[derive(Subcommand)]
pub enum LicenseCommand {
    /// Make a vendor signing key pair; writes the secret key, prints the public key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a signed license file.
    Issue {
        /// The signing key file from `license keygen`.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        system_id: String,
        /// TYPE=QTY, e.g. desktop=100, mt-starter-5=1, tenant=10 (repeatable).
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        /// Last day the license counts (YYYY-MM-DD).
        #[arg(long)]
        expires: Option<String>,
        #[arg(long)]
        customer: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print what a license file grants, or why it is invalid (exit 1).
    Verify {
        file: PathBuf,
        /// The vendor public key (`ed25519:...`); default: the trusted keys of the config
        /// and UCPLUS_LICENSE_PUBLIC_KEYS.
        #[arg(long)]
        public_key: Option<String>,
        /// Check the binding to this system id.
        #[arg(long)]
        system_id: Option<String>,
    },
}

pub fn license_command(command: LicenseCommand) -> anyhow::Result<ExitCode> {
    match command {
        LicenseCommand::Keygen { out } => {
            let key = SigningKey::generate().context("reading the OS random source")?;
            write_new_file(&out, &key.to_text(), true)?;
            println!("{}", key.public_key());
            eprintln!("secret key written to {} (keep it safe)", out.display());
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Issue {
            key,
            system_id,
            items,
            expires,
            customer,
            out,
        } => {
            let key_text = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let key = SigningKey::from_text(&key_text).map_err(anyhow::Error::msg)?;
            let mut parsed = std::collections::BTreeMap::new();
            for item in &items {
                let (name, quantity) = item
                    .split_once('=')
                    .with_context(|| format!("--item {item}: expected TYPE=QTY"))?;
                let item_type: ItemType = name
                    .trim()
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--item {item}: {e}"))?;
                let quantity: u32 = quantity
                    .trim()
                    .parse()
                    .ok()
                    .filter(|q| *q > 0)
                    .with_context(|| {
                        format!("--item {item}: the quantity must be a positive number")
                    })?;
                *parsed.entry(item_type).or_insert(0u32) += quantity;
            }
            let expires = expires
                .as_deref()
                .map(license::file::parse_date)
                .transpose()
                .context("--expires")?;
            let issue = Issue {
                id: ucplus_core::ids::new_uuid().to_string(),
                system_id,
                customer,
                issued: crate::licensing::today(),
                expires,
                items: parsed,
            };
            write_new_file(&out, &issue.sign(&key), false)?;
            eprintln!("license {} written to {}", issue.id, out.display());
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Verify {
            file,
            public_key,
            system_id,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let keys: Vec<PublicKey> = match public_key {
                Some(key) => vec![PublicKey::parse(&key).map_err(anyhow::Error::msg)?],
                None => {
                    let config = Config::load(None)?;
                    config
                        .license
                        .trusted_keys
                        .iter()
                        .map(|k| PublicKey::parse(k).map_err(anyhow::Error::msg))
                        .collect::<anyhow::Result<_>>()?
                }
            };
            anyhow::ensure!(
                !keys.is_empty(),
                "give --public-key or set UCPLUS_LICENSE_PUBLIC_KEYS"
            );
            let verdict = License::verify(&text, &keys).and_then(|license| {
                if let Some(system_id) = &system_id {
                    license.check_system(system_id)?;
                }
                license.check_not_expired(crate::licensing::today())?;
                Ok(license)
            });
            match verdict {
                Ok(license) => {
                    println!("valid license {}", license.id);
                    println!("  system id: {}", license.system_id);
                    println!(
                        "  customer:  {}",
                        license.customer.as_deref().unwrap_or("-")
                    );
                    println!(
                        "  issued:    {}",
                        license::file::format_date(license.issued)
                    );
                    println!(
                        "  expires:   {}",
                        license
                            .expires
                            .map_or("never".into(), license::file::format_date)
                    );
                    for (item, quantity) in &license.items {
                        println!("  {item} = {quantity}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    println!("invalid license ({}): {error}", error.code());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// Writes a file, refusing to overwrite; `secret` files are readable by the owner only.
fn write_new_file(path: &std::path::Path, contents: &str, secret: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
