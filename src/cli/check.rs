//! `provenance fingerprint FILE...` and `provenance check FILE...`: one JSON line per file on
//! standard output, so the output can be piped into other tools. A file that cannot be read or
//! decoded gets a line with its `error`, and the command goes on with the next one.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{json, Value};

use super::ConfigArgs;
use crate::fingerprint::{self, DecodeLimits, Fingerprints};
use crate::service::Registry;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// Image files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Image files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

fn fingerprint_file(path: &Path, limits: &DecodeLimits) -> Result<Fingerprints, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading the file: {e}"))?;
    fingerprint::fingerprint(&bytes, limits).map_err(|e| e.to_string())
}

/// Prints the line; answers whether the file could be fingerprinted.
fn print_line(path: &Path, result: Result<Value, String>) -> bool {
    let line = match &result {
        Ok(Value::Object(fields)) => {
            let mut line = serde_json::Map::new();
            line.insert("path".into(), json!(path.display().to_string()));
            line.extend(fields.clone());
            Value::Object(line)
        }
        Ok(other) => json!({ "path": path.display().to_string(), "result": other }),
        Err(error) => json!({ "path": path.display().to_string(), "error": error }),
    };
    println!("{line}");
    result.is_ok()
}

pub fn fingerprint(args: FingerprintArgs) -> anyhow::Result<()> {
    let limits = DecodeLimits::default();
    let mut failed = 0;
    for path in &args.files {
        let result = fingerprint_file(path, &limits)
            .map(|fp| serde_json::to_value(fp).expect("fingerprints serialise"));
        if !print_line(path, result) {
            failed += 1;
        }
    }
    finish(failed, args.files.len())
}

pub fn check(args: CheckArgs) -> anyhow::Result<()> {
    let config = args.config.resolve()?;
    let store = Store::open(&config.database_url)?;
    let registry = Registry::default();
    registry.catch_up(|after| store.works_after(after))?;
    let limits = DecodeLimits {
        max_bytes: config.max_image_bytes,
        ..DecodeLimits::default()
    };
    let mut failed = 0;
    for path in &args.files {
        let result = check_file(path, &limits, &registry, &store);
        if !print_line(path, result) {
            failed += 1;
        }
    }
    finish(failed, args.files.len())
}

/// Both stages, as the service runs them ([`Registry::match_upload`]).
fn check_file(
    path: &Path,
    limits: &DecodeLimits,
    registry: &Registry,
    store: &Store,
) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading the file: {e}"))?;
    let (fp, working) =
        fingerprint::fingerprint_keeping_image(&bytes, limits).map_err(|e| e.to_string())?;
    let (outcome, local_stage) = registry
        .match_upload(&fp, &working, store)
        .map_err(|e| format!("reading local features: {e}"))?;
    let works = outcome
        .candidates
        .iter()
        .map(|candidate| {
            let work = store
                .work(candidate.work_id)
                .map_err(|e| format!("reading work {}: {e}", candidate.work_id))?;
            Ok(json!({
                "work_id": candidate.work_id,
                "title": work.as_ref().map(|w| w.metadata.title.clone()),
                "license": work.as_ref().map(|w| w.metadata.license_id.clone()),
                "decision": candidate.decision,
                "evidence": candidate.evidence,
                "pdq_distance": candidate.pdq_distance,
                "phash_distance": candidate.phash_distance,
                "local_inliers": candidate.local_inliers,
            }))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(json!({
        "decision": outcome.decision,
        "decided_by": outcome.decided_by,
        "local_stage": local_stage,
        "works": works,
        "sha256": fp.sha256,
        "pdq": fp.pdq,
        "pdq_quality": fp.pdq_quality,
        "phash": fp.phash,
    }))
}

fn finish(failed: usize, total: usize) -> anyhow::Result<()> {
    if failed > 0 {
        anyhow::bail!("{failed} of {total} files could not be fingerprinted");
    }
    Ok(())
}
