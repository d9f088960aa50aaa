//! `provenance works import DIR`: registers a whole catalogue, through a running server or
//! straight into a database, with a progress bar.
//!
//! Resumable: an image its owner already registered is answered `already_registered` and
//! counted as skipped, so re-running an interrupted import registers each work exactly once.
//! A file that fails is reported (on standard error, and as a JSON line on standard output)
//! and the import goes on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::{json, Value};

use super::ConfigArgs;
use crate::service::{RegistrationConflict, Service, ServiceError, Signing, Written};
use crate::works::WorkMetadata;

#[derive(Debug, Subcommand)]
pub enum WorksCommand {
    /// Register every image under a directory.
    Import(ImportArgs),
    /// Compute the local features of registered works from their original files (for works
    /// registered before the second matching stage, or under another version of it).
    AddFeatures(super::add_features::AddFeaturesArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The directory to import (searched recursively).
    dir: PathBuf,
    /// The licence of every work, unless the manifest says otherwise.
    #[arg(long)]
    license: String,
    /// The creator of every work, unless the manifest says otherwise.
    #[arg(long)]
    creator: String,
    /// Per-file metadata, CSV with a header row or a JSON array; each record names its `file`
    /// (relative to DIR) and any of title, creator, source_url, license, external_id,
    /// ai_preferences.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Register through this running server (with --token) instead of a database.
    #[arg(long, requires = "token")]
    server: Option<String>,
    /// A rights holder's bearer token; with a database, it names the owning account.
    #[arg(long, env = "PROVENANCE_TOKEN")]
    token: String,
    /// Registrations in flight at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn run(command: WorksCommand) -> anyhow::Result<()> {
    match command {
        WorksCommand::Import(args) => import(args),
        WorksCommand::AddFeatures(args) => super::add_features::add_features(args),
    }
}

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "gif", "tif", "tiff", "bmp"];

/// One record of a manifest; absent fields take the command line's values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestRecord {
    file: String,
    title: Option<String>,
    creator: Option<String>,
    source_url: Option<String>,
    license: Option<String>,
    external_id: Option<String>,
    ai_preferences: Option<String>,
}

/// How one file went.
enum Outcome {
    Registered(i64),
    AlreadyRegistered(i64),
    Failed(String),
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let files = image_files(&args.dir)?;
    if files.is_empty() {
        bail!(
            "no images (.{}) under {}",
            IMAGE_EXTENSIONS.join(", ."),
            args.dir.display()
        );
    }
    let manifest = match &args.manifest {
        Some(path) => read_manifest(path)?,
        None => HashMap::new(),
    };
    let jobs: Vec<(PathBuf, WorkMetadata)> = files
        .into_iter()
        .map(|path| {
            let metadata = metadata_for(&args, &path, &manifest);
            (path, metadata)
        })
        .collect();
    let progress = ProgressBar::new(jobs.len() as u64).with_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .expect("a valid template"),
    );
    let runtime = tokio::runtime::Runtime::new()?;
    let outcomes = runtime.block_on(async {
        let register = Arc::new(match &args.server {
            Some(server) => Registrar::Http(HttpRegistrar {
                server: server.trim_end_matches('/').to_owned(),
                token: args.token.clone(),
            }),
            None => Registrar::Local(LocalRegistrar::open(&args).await?),
        });
        let outcomes: Vec<(PathBuf, Outcome)> = futures_util::stream::iter(jobs)
            .map(|(path, metadata)| {
                let register = register.clone();
                let progress = progress.clone();
                async move {
                    let outcome = register.register(path.clone(), metadata).await;
                    report(&progress, &path, &outcome);
                    progress.inc(1);
                    (path, outcome)
                }
            })
            .buffer_unordered(args.jobs.max(1))
            .collect()
            .await;
        anyhow::Ok(outcomes)
    })?;
    progress.finish();
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|(_, o)| f(o)).count();
    let registered = count(|o| matches!(o, Outcome::Registered(_)));
    let skipped = count(|o| matches!(o, Outcome::AlreadyRegistered(_)));
    let failed = count(|o| matches!(o, Outcome::Failed(_)));
    eprintln!(
        "registered {registered}, already registered {skipped}, failed {failed} of {} files \
         in {:.1} s",
        outcomes.len(),
        progress.elapsed().as_secs_f64()
    );
    if failed > 0 {
        bail!("{failed} files were not registered (see the lines above); re-run to retry them");
    }
    Ok(())
}

fn report(progress: &ProgressBar, path: &Path, outcome: &Outcome) {
    let (status, work_id, error) = match outcome {
        Outcome::Registered(id) => ("registered", Some(*id), None),
        Outcome::AlreadyRegistered(id) => ("already_registered", Some(*id), None),
        Outcome::Failed(why) => {
            progress.println(format!("{}: {why}", path.display()));
            ("failed", None, Some(why.as_str()))
        }
    };
    let mut line = json!({ "path": path.display().to_string(), "status": status });
    if let Some(id) = work_id {
        line["work_id"] = json!(id);
    }
    if let Some(error) = error {
        line["error"] = json!(error);
    }
    progress.suspend(|| println!("{line}"));
}

/// Every image file under `dir`, in path order.
fn image_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn read_manifest(path: &Path) -> anyhow::Result<HashMap<String, ManifestRecord>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let records: Vec<ManifestRecord> = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
    } else {
        csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .with_context(|| format!("parsing {}", path.display()))?
    };
    Ok(records
        .into_iter()
        .map(|r| (r.file.trim_start_matches("./").to_owned(), r))
        .collect())
}

fn metadata_for(
    args: &ImportArgs,
    path: &Path,
    manifest: &HashMap<String, ManifestRecord>,
) -> WorkMetadata {
    let relative = path
        .strip_prefix(&args.dir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let record = manifest.get(&relative).cloned().unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    WorkMetadata {
        title: record.title.unwrap_or(stem),
        creator: record.creator.unwrap_or_else(|| args.creator.clone()),
        source_url: record.source_url,
        license_id: record.license.unwrap_or_else(|| args.license.clone()),
        external_id: record.external_id,
        content_usage: record.ai_preferences,
    }
}

enum Registrar {
    Local(LocalRegistrar),
    Http(HttpRegistrar),
}

impl Registrar {
    async fn register(&self, path: PathBuf, metadata: WorkMetadata) -> Outcome {
        match self {
            Registrar::Local(local) => local.register(path, metadata).await,
            Registrar::Http(http) => http.register(path, metadata).await,
        }
    }
}

/// Registers straight into the database, signing with the log's key like `serve` does.
struct LocalRegistrar {
    service: Arc<Service>,
    account: crate::store::Account,
}

impl LocalRegistrar {
    async fn open(args: &ImportArgs) -> anyhow::Result<Self> {
        let service = super::serve::start_service(&args.config.resolve()?).await?;
        let account = service
            .authenticate(Some(args.token.clone()))
            .await
            .context("the token does not belong to a live account of this database")?;
        Ok(LocalRegistrar { service, account })
    }
}

impl LocalRegistrar {
    async fn register(&self, path: PathBuf, metadata: WorkMetadata) -> Outcome {
        let image = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) => return Outcome::Failed(format!("reading the file: {e}")),
        };
        match self
            .service
            .register_work(&self.account, metadata, image, Signing::Unsigned)
            .await
        {
            Ok(Written::Recorded(recorded)) => Outcome::Registered(recorded.work.id),
            Ok(Written::Prepared(_)) => unreachable!("an unsigned request is never only prepared"),
            Err(ServiceError::WorkConflict(RegistrationConflict::AlreadyRegistered {
                work_id,
            })) => Outcome::AlreadyRegistered(work_id),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

/// Registers through `POST /v1/works` of a running server.
struct HttpRegistrar {
    server: String,
    token: String,
}

impl HttpRegistrar {
    async fn register(&self, path: PathBuf, metadata: WorkMetadata) -> Outcome {
        let url = format!("{}/v1/works", self.server);
        let token = self.token.clone();
        let posted = tokio::task::spawn_blocking(move || {
            let image = std::fs::read(&path).map_err(|e| format!("reading the file: {e}"))?;
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            post_work(&url, &token, &metadata, &file_name, &image)
        })
        .await;
        match posted {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(why)) => Outcome::Failed(why),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

fn post_work(
    url: &str,
    token: &str,
    metadata: &WorkMetadata,
    file_name: &str,
    image: &[u8],
) -> Result<Outcome, String> {
    let mut fields = vec![
        ("title", Some(metadata.title.as_str())),
        ("creator", Some(metadata.creator.as_str())),
        ("license", Some(metadata.license_id.as_str())),
        ("source_url", metadata.source_url.as_deref()),
        ("external_id", metadata.external_id.as_deref()),
        ("ai_preferences", metadata.content_usage.as_deref()),
    ];
    fields.retain(|(_, v)| v.is_some());
    let (content_type, body) = crate::api::upload::encode(
        fields.into_iter().map(|(k, v)| (k, v.unwrap_or_default())),
        file_name,
        image,
    );
    let answer = ureq::post(url)
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", &content_type)
        .send_bytes(&body);
    let (status, body): (u16, Value) = match answer {
        Ok(response) => (
            response.status(),
            response.into_json().unwrap_or(Value::Null),
        ),
        Err(ureq::Error::Status(status, response)) => {
            (status, response.into_json().unwrap_or(Value::Null))
        }
        Err(e) => return Err(format!("POST {url}: {e}")),
    };
    let work_id = |v: &Value| v.as_i64().unwrap_or(-1);
    match (status, body["error"].as_str()) {
        (201, _) => Ok(Outcome::Registered(work_id(&body["work"]["id"]))),
        (409, Some("already_registered")) => {
            Ok(Outcome::AlreadyRegistered(work_id(&body["work_id"])))
        }
        (status, _) => Err(format!(
            "HTTP {status}: {}",
            body["message"].as_str().unwrap_or("no message")
        )),
    }
}
