//! `provenance audit --server URL --key KEY [--state FILE] [--full]`: mirror a log through its
//! C2SP tlog-tiles read API and check everything in it (see `ledger::AuditRun` and
//! `docs/guide-auditor.md`).
//!
//! This file only fetches and prints. Tiles are fetched by a few threads at once, and each
//! thread also checks the bundle it fetched (signatures are most of the work), so fetching and
//! checking overlap and both cores verify signatures. The state is written only after every
//! check passed, to a temporary file that is then renamed over the old one.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::verify::read_verifier_key;
use super::CliFailure;
use crate::ledger::{
    bundles_between, AuditError, AuditReport, AuditRun, AuditState, CheckedEntry, EntryChecker,
    SignatureChecks, TileRequest, MAX_ENTRY_BYTES, TILE_WIDTH,
};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The log's base URL (its tiles are under URL/log/).
    #[arg(long)]
    server: String,
    /// The log's verifier key, as text or as a file holding it. Get it from somewhere other
    /// than the log itself.
    #[arg(long)]
    key: String,
    /// The audit state: read if the file exists, and written when the audit passes, so that
    /// the next audit reads only new entries.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Re-read and check every entry from index 0; the saved state is still checked (the log's
    /// root at the saved size must be the saved root).
    #[arg(long)]
    full: bool,
    /// Print the summary as one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Tiles fetched (and checked) at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Check every Ed25519 signature alone, with exactly the equation Go's note verifier uses,
    /// instead of a bundle's signatures in one batch (about half as fast; see
    /// docs/guide-auditor.md for when the two can disagree).
    #[arg(long)]
    strict_signatures: bool,
}

pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    let verifier = read_verifier_key(&args.key)?;
    let saved = match &args.state {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the state file {}", path.display()))?;
            AuditState::from_json(&text, &verifier)
                .with_context(|| format!("the state file {}", path.display()))?
        }
        _ => AuditState::empty(&verifier),
    };
    let log = LogServer::new(&args.server, usize::from(args.jobs));
    let checkpoint = log.checkpoint()?;
    let started = Instant::now();
    let mut run = AuditRun::start(saved, &checkpoint, &verifier, args.full).map_err(failure)?;
    let signature_checks = if args.strict_signatures {
        SignatureChecks::OneByOne
    } else {
        SignatureChecks::Batched
    };
    let checker = EntryChecker::new(verifier)
        .map_err(failure)?
        .with_signature_checks(signature_checks);
    let from = run.next_index();
    let total = run.target_size() - from;
    let progress = if std::io::stderr().is_terminal() && !args.json {
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {pos}/{len} entries {per_sec} eta {eta}",
            )
            .expect("a valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    let bundles = bundles_between(from, run.target_size());
    check_bundles(
        &log,
        usize::from(args.jobs),
        &checker,
        &bundles,
        from,
        &mut run,
        |n| progress.inc(n),
    )?;
    progress.finish_and_clear();
    let (state, report) = run.finish().map_err(failure)?;
    if let Some(path) = &args.state {
        save_state(path, &state)?;
    }
    print_report(&report, started.elapsed(), args.json);
    Ok(())
}

/// An audit's finding (exit 1), or input it cannot use (exit 2).
fn failure(err: AuditError) -> anyhow::Error {
    if err.is_unusable_input() {
        anyhow::Error::new(err)
    } else {
        CliFailure::Invalid(format!("audit {err}")).into()
    }
}

/// How far the fetchers may run ahead of the bundle being fed, in bundles: bounds memory when
/// one request is slow.
const WINDOW: usize = 64;

type Fetched = anyhow::Result<Result<Vec<CheckedEntry>, AuditError>>;

/// Fetches and checks bundles on `jobs` threads, feeding them to the run in order.
fn check_bundles(
    log: &LogServer,
    jobs: usize,
    checker: &EntryChecker,
    bundles: &[(TileRequest, TileRequest)],
    from: u64,
    run: &mut AuditRun,
    mut on_progress: impl FnMut(u64),
) -> anyhow::Result<()> {
    let jobs = jobs.min(bundles.len()).max(1);
    let next = AtomicUsize::new(0);
    let fed = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = mpsc::channel::<(usize, Fetched)>();
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, fed, stop) = (&next, &fed, &stop);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bundles.len() {
                    break;
                }
                while i >= fed.load(Ordering::Acquire) + WINDOW && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (entries, hashes) = bundles[i];
                let result = log.tile(entries).and_then(|entry_bytes| {
                    let hash_bytes = log.tile(hashes)?;
                    Ok(checker.check_bundle(entries, &entry_bytes, &hash_bytes, from))
                });
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let outcome = (|| -> anyhow::Result<()> {
            let mut pending: BTreeMap<usize, Vec<CheckedEntry>> = BTreeMap::new();
            let mut want = 0;
            for (i, result) in rx.iter() {
                pending.insert(i, result?.map_err(failure)?);
                while let Some(checked) = pending.remove(&want) {
                    run.feed(&checked).map_err(failure)?;
                    on_progress(checked.len() as u64);
                    want += 1;
                    fed.store(want, Ordering::Release);
                }
            }
            if want != bundles.len() {
                bail!("only {want} of {} tiles were fetched", bundles.len());
            }
            Ok(())
        })();
        // On a failure the fetchers stop at their next tile; the scope waits for them.
        stop.store(true, Ordering::Relaxed);
        outcome
    })
}

/// The log's read API, over one pool of connections shared by the fetching threads.
struct LogServer {
    agent: ureq::Agent,
    base: String,
}

impl LogServer {
    fn new(base: &str, jobs: usize) -> Self {
        LogServer {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .timeout_read(Duration::from_secs(60))
                .max_idle_connections_per_host(jobs)
                .build(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    fn checkpoint(&self) -> anyhow::Result<String> {
        let url = format!("{}/log/checkpoint", self.base);
        get(&self.agent, &url)?
            .into_string()
            .with_context(|| format!("reading GET {url}"))
    }

    fn tile(&self, tile: TileRequest) -> anyhow::Result<Vec<u8>> {
        fetch_tile(&self.agent, &format!("{}/log/{}", self.base, tile.path()))
    }
}

fn fetch_tile(agent: &ureq::Agent, url: &str) -> anyhow::Result<Vec<u8>> {
    let response = get(agent, url)?;
    // A bundle holds at most 256 entries of at most 65,535 bytes, each with a 2-byte length.
    let limit = TILE_WIDTH * (MAX_ENTRY_BYTES as u64 + 2);
    let mut bytes = Vec::new();
    response
        .into_reader()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading GET {url}"))?;
    if bytes.len() as u64 > limit {
        bail!("GET {url} answered more than {limit} bytes");
    }
    Ok(bytes)
}

fn get(agent: &ureq::Agent, url: &str) -> anyhow::Result<ureq::Response> {
    match agent.get(url).call() {
        Ok(response) => Ok(response),
        Err(ureq::Error::Status(status, response)) => {
            let body = response.into_string().unwrap_or_default();
            bail!("GET {url} answered HTTP {status}: {}", body.trim())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("GET {url}"))),
    }
}

/// Writes the state beside its final place and renames it there, so that a crash leaves the
/// old state or the new one, never half of one.
fn save_state(path: &Path, state: &AuditState) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("the state path names no file")?;
    let temp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let mut file =
        std::fs::File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
    file.write_all(state.to_json().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, path)
        .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))?;
    Ok(())
}

fn print_report(report: &AuditReport, elapsed: Duration, json: bool) {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        report.entries_checked as f64 / seconds
    } else {
        0.0
    };
    if json {
        let mut value = serde_json::to_value(report).expect("the report serialises");
        value["seconds"] = serde_json::json!((seconds * 1000.0).round() / 1000.0);
        value["entries_per_second"] = serde_json::json!(rate.round());
        println!("{value}");
        return;
    }
    println!(
        "OK: log {} audited up to tree size {} (previously {}); root {}",
        report.origin, report.tree_size, report.previous_size, report.root_hash
    );
    println!(
        "entries checked in this run: {} in {seconds:.1} s ({rate:.0} entries/s)",
        report.entries_checked
    );
    println!("entries by kind, over every entry audited:");
    for (kind, count) in &report.totals {
        println!("  {kind}: {count}");
    }
}
