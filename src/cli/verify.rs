//! `provenance verify RECEIPT --key KEY [--media FILE]`: offline, with nothing but the verifier
//! key (and the media file, to confirm it is the one the entry recorded).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::CliFailure;
use crate::fingerprint::{self, DecodeLimits};
use crate::ledger::{verify_receipt, LogVerifier, Receipt};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The receipt file (JSON with `entry` and `proof`).
    receipt: PathBuf,
    /// The log's verifier key, as text or as a file holding it.
    #[arg(long)]
    key: String,
    /// The media file: its fingerprints must be the ones the entry recorded (for an
    /// attribution, the media used; for a registration, the work's image).
    #[arg(long)]
    media: Option<PathBuf>,
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
    let media = match &args.media {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("reading media {}", path.display()))?)
        }
        None => None,
    };
    let verified =
        verify_receipt(&receipt, &verifier).map_err(|e| CliFailure::Invalid(e.to_string()))?;
    let actor = verified
        .entry
        .check_actor_signature()
        .map_err(|e| CliFailure::Invalid(e.to_string()))?;
    println!(
        "OK: entry {} ({}) is in the log {} at tree size {}, signed by {}",
        verified.index,
        verified.entry.body.kind.as_str(),
        verifier.name(),
        verified.checkpoint.checkpoint.size,
        verifier.as_text()
    );
    if let Some(actor) = actor {
        println!(
            "OK: the entry is also signed by its actor, {}",
            actor.as_text()
        );
    }
    if let Some(bytes) = media {
        let data = &verified.entry.body.data;
        let recorded = data
            .get("media")
            .or_else(|| data.get("fingerprints"))
            .ok_or_else(|| {
                CliFailure::Invalid(format!(
                    "a {} entry records no media to compare the file with",
                    verified.entry.body.kind.as_str()
                ))
            })?;
        let path = args.media.as_ref().expect("media was read from a path");
        // The media must decode as the service decoded it; a file it cannot read is unusable
        // input, not a failed check.
        let computed = fingerprint::fingerprint(&bytes, &DecodeLimits::default())
            .with_context(|| format!("fingerprinting {}", path.display()))?;
        crate::attributions::media_matches_record(&computed, recorded).map_err(|e| {
            CliFailure::Invalid(format!("{} is not the recorded media: {e}", path.display()))
        })?;
        println!(
            "OK: {} is the media the entry recorded (SHA-256 {})",
            path.display(),
            computed.sha256
        );
    }
    Ok(())
}
