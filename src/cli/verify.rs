//! `provenance verify RECEIPT --key KEY`: offline, with nothing but the verifier key.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::CliFailure;
use crate::ledger::{verify_receipt, LogVerifier, Receipt};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The receipt file (JSON with `entry` and `proof`).
    receipt: PathBuf,
    /// The log's verifier key, as text or as a file holding it.
    #[arg(long)]
    key: String,
}

/// A verifier key given on the command line: the key text, or the path of a file holding it.
pub(super) fn read_verifier_key(arg: &str) -> anyhow::Result<LogVerifier> {
    let key_text = if std::path::Path::new(arg).is_file() {
        std::fs::read_to_string(arg).with_context(|| format!("reading verifier key file {arg}"))?
    } else {
        arg.to_owned()
    };
    LogVerifier::from_text(&key_text).context("the verifier key is unusable")
}

pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let verifier = read_verifier_key(&args.key)?;
    let text = std::fs::read_to_string(&args.receipt)
        .with_context(|| format!("reading receipt {}", args.receipt.display()))?;
    let receipt: Receipt = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a receipt", args.receipt.display()))?;
    let verified =
        verify_receipt(&receipt, &verifier).map_err(|e| CliFailure::Invalid(e.to_string()))?;
    println!(
        "OK: entry {} ({}) is in the log {} at tree size {}, signed by {}",
        verified.index,
        verified.entry.body.kind.as_str(),
        verifier.name(),
        verified.checkpoint.checkpoint.size,
        verifier.as_text()
    );
    Ok(())
}
