//! The signing-key file: Go signed-note private-key text, readable by its owner only.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;

use crate::ledger::LogKey;

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The log's origin, which names the key (for example ledger.example.org/provenance).
    #[arg(long)]
    origin: String,
    /// Where to write the signing key; never overwritten.
    #[arg(long, default_value = "log.key")]
    out: PathBuf,
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let key = LogKey::generate(&args.origin).context("the origin cannot name a key")?;
    write_new_key(&args.out, &key)?;
    eprintln!("signing key written to {} (mode 0600)", args.out.display());
    println!("{}", key.verifier().as_text());
    Ok(())
}

/// Writes a key to a file that must not exist yet, readable by its owner only.
pub fn write_new_key(path: &Path, key: &LogKey) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating key file {} (it must not exist yet)",
                path.display()
            )
        })?;
    writeln!(file, "{}", key.to_private_text())?;
    file.sync_all()?;
    Ok(())
}

/// Reads a key, refusing one that others can read: a leaked signing key lets anyone forge
/// checkpoints that every auditor would accept.
pub fn load_key(path: &Path) -> anyhow::Result<LogKey> {
    let mode = std::fs::metadata(path)
        .with_context(|| format!("reading key file {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "key file {} has mode {:o}; it must be readable by its owner only (chmod 600)",
            path.display(),
            mode & 0o777
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading key file {}", path.display()))?;
    LogKey::from_private_text(&text).with_context(|| format!("parsing key file {}", path.display()))
}

/// The key at `path`, or a new one named `origin` written there. Answers whether it is new.
pub fn load_or_create_key(path: &Path, origin: &str) -> anyhow::Result<(LogKey, bool)> {
    if path.exists() {
        return Ok((load_key(path)?, false));
    }
    let key = LogKey::generate(origin).context("the origin cannot name a key")?;
    write_new_key(path, &key)?;
    Ok((key, true))
}
