//! Embeds the web client (`web/` at the repository root, without `web/e2e/`) into the
//! binary: writes `$OUT_DIR/web_assets.rs`, a list of `(url path, bytes)` made with
//! `include_bytes!`, so a fresh clone needs no front-end build step.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Folders under `web/` that are not served (tests and their npm dependencies).
const NOT_SERVED: &[&str] = &["e2e", "node_modules"];

fn main() -> io::Result<()> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(io::Error::other)?);
    let web = manifest.join("../../web");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(io::Error::other)?);
    let mut files = Vec::new();
    if web.is_dir() {
        collect(&web, &web, &mut files)?;
    }
    files.sort();
    let mut code = String::from("&[\n");
    for (url, path) in &files {
        code.push_str(&format!(
            "    ({url:?}, include_bytes!({:?}).as_slice()),\n",
            path.display().to_string()
        ));
    }
    code.push(']');
    fs::write(out.join("web_assets.rs"), code)
}

/// Adds every served file below `dir`, and asks Cargo to rerun when a served folder or
/// file changes. `web/` itself is not watched as a folder: Cargo scans a watched folder
/// recursively, and `web/e2e/node_modules` is large (a new file directly in `web/` needs
/// a touch of this build script).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    if dir != root {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            if dir == root && NOT_SERVED.contains(&name.as_str()) {
                continue;
            }
            collect(root, &path, files)?;
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
            let relative = path.strip_prefix(root).map_err(io::Error::other)?;
            let url = format!(
                "/{}",
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            );
            let absolute = fs::canonicalize(&path)?;
            files.push((url, absolute));
        }
    }
    Ok(())
}
