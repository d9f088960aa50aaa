//! `provenance works add-features FILE...`: computes the local features of works registered
//! before the second matching stage existed, or under another version of it, or before their
//! features carried the appearance grids (luma, then chroma), from their original files. The service keeps no
//! original image, so the files must come from the rights holders; a file is recognised by its SHA-256, which the registration recorded, so a
//! wrong file can never give a work someone else's features. One JSON line per file.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{json, Value};

use super::ConfigArgs;
use crate::fingerprint::local::{self, LocalFeatures, LOCAL_ALGORITHM_VERSION};
use crate::fingerprint::{self, DecodeLimits, Sha256Digest};
use crate::store::{Store, StoredFeatures};

#[derive(Debug, Args)]
pub struct AddFeaturesArgs {
    /// The works' original image files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn add_features(args: AddFeaturesArgs) -> anyhow::Result<()> {
    let config = args.config.resolve()?;
    let store = Store::open(&config.database_url)?;
    let limits = DecodeLimits {
        max_bytes: config.max_image_bytes,
        ..DecodeLimits::default()
    };
    let mut failed = 0;
    for path in &args.files {
        let line = match add_for_file(&store, path, &limits) {
            Ok(fields) => fields,
            Err(error) => {
                failed += 1;
                json!({ "error": error })
            }
        };
        let mut out = serde_json::Map::new();
        out.insert("path".into(), json!(path.display().to_string()));
        if let Value::Object(fields) = line {
            out.extend(fields);
        }
        println!("{}", Value::Object(out));
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} files failed", args.files.len());
    }
    Ok(())
}

fn add_for_file(store: &Store, path: &Path, limits: &DecodeLimits) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading the file: {e}"))?;
    let sha256 = Sha256Digest::of(&bytes);
    let works = store
        .works_with_sha256(&sha256.0)
        .map_err(|e| e.to_string())?;
    if works.is_empty() {
        return Err(format!(
            "no registered work has this file's SHA-256 ({sha256})"
        ));
    }
    let ids: Vec<i64> = works.iter().map(|w| w.work_id).collect();
    // Features stored before the appearance grids existed (formats 1 and 2) are current in
    // their keypoints but are recomputed, so that their works gain the grids: without the
    // chroma grid a smooth work cannot be aligned by appearance.
    let current: Vec<i64> = store
        .work_features(&ids, LOCAL_ALGORITHM_VERSION)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|(_, stored)| {
            LocalFeatures::from_bytes(stored).is_ok_and(|f| f.appearance.has_chroma())
        })
        .map(|(id, _)| id)
        .collect();
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !current.contains(id))
        .collect();
    if !missing.is_empty() {
        let (_, working) =
            fingerprint::fingerprint_keeping_image(&bytes, limits).map_err(|e| e.to_string())?;
        let stored = StoredFeatures {
            algorithm: LOCAL_ALGORITHM_VERSION.to_owned(),
            bytes: local::extract(&working).to_bytes(),
        };
        for &id in &missing {
            store
                .put_work_features(id, &stored)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(json!({ "added": missing, "already_current": current }))
}
