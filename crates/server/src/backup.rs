//! `ucplus backup` and `ucplus restore`: the embedded database copied while the server
//! runs, and put back into a data directory (with the server stopped).
//!
//! Secrets at rest (PBX link passwords) are sealed with the key in the data directory's
//! `secrets.key` or `UCPLUS_SECRETS_KEY`: a backup holds them sealed, never the key. Keep
//! the key apart, and give a restored installation the same key.

use std::path::Path;

use anyhow::{Context, bail};
use ucplus_store::SqlStore;

use crate::config::Config;
use crate::startup::{DATABASE_FILE, DataDirLock, SYSTEM_ID_KEY, open_store};

/// Writes a consistent copy of the installation's database to `out` (which must not
/// exist); the server may be running. Answers the system id the copy carries.
pub async fn backup(config: &Config, out: &Path) -> anyhow::Result<String> {
    let (store, system_id) = open_store(config).await?;
    store
        .backup_into(out)
        .await
        .with_context(|| format!("writing the backup to {}", out.display()))?;
    store.close().await;
    Ok(system_id)
}

/// Puts a backup in place as the data directory's database, replacing what is there.
/// The backup is checked first (a ucplus database, brought to this version's schema);
/// nothing is replaced when it is not one. Answers its system id.
pub async fn restore(config: &Config, from: &Path) -> anyhow::Result<String> {
    if config.database_url.is_some() {
        bail!(
            "restore puts an SQLite backup into the data directory; this installation's \
             database is database_url (for PostgreSQL use its own tools, or `ucplus store copy`)"
        );
    }
    if !from.is_file() {
        bail!("{} is not a file", from.display());
    }
    let _lock = DataDirLock::take(&config.data_dir)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let target = config.data_dir.join(DATABASE_FILE);
    let staged = config.data_dir.join(format!("{DATABASE_FILE}.restoring"));
    let _ = std::fs::remove_file(&staged);
    std::fs::copy(from, &staged)
        .with_context(|| format!("copying {} into the data directory", from.display()))?;
    let checked = check(&staged).await;
    let system_id = match checked {
        Ok(id) => id,
        Err(error) => {
            let _ = std::fs::remove_file(&staged);
            return Err(error);
        }
    };
    for stale in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(config.data_dir.join(format!("{DATABASE_FILE}{stale}")));
    }
    std::fs::rename(&staged, &target)
        .with_context(|| format!("putting the backup in place as {}", target.display()))?;
    Ok(system_id)
}

/// Opens a staged backup: a ucplus database carries a system id; migrations bring an
/// older one up to date.
async fn check(staged: &Path) -> anyhow::Result<String> {
    let store = SqlStore::open_sqlite(staged)
        .await
        .context("the backup is not a database ucplus can open")?;
    let system_id = ucplus_core::store::SystemStore::setting(&store, SYSTEM_ID_KEY).await;
    // The last connection closing writes everything back into the file.
    store.close().await;
    for stale in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{stale}", staged.display()));
    }
    match system_id {
        Ok(Some(id)) => Ok(id),
        Ok(None) => bail!("the backup is not a ucplus database (it has no system id)"),
        Err(error) => bail!("the backup is not a ucplus database: {error}"),
    }
}
