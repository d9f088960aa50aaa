//! Grows a log to a given size through the service's own append path, for benchmarks that need
//! a large log (`bench/memory.sh`): every entry is an operator note signed, sequenced, written
//! and committed by `Service::append_operator_note` exactly as `POST /v1/log/entries` does it,
//! only without HTTP, so that many thousand appends are in flight and rounds are large.
//!
//! Usage: build_log DATABASE_URL KEY_FILE ENTRIES [CLIENTS]
//!   Appends until the log holds at least ENTRIES entries; CLIENTS appends are in flight at
//!   once (default 16384); a round takes up to half of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use provenance_ledger::accounts::Role;
use provenance_ledger::ledger::LogKey;
use provenance_ledger::licenses::LicenseSet;
use provenance_ledger::metrics::Metrics;
use provenance_ledger::service::{Service, Settings};
use provenance_ledger::store::Store;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(4..=5).contains(&args.len()) {
        eprintln!("usage: build_log DATABASE_URL KEY_FILE ENTRIES [CLIENTS]");
        std::process::exit(2);
    }
    let target: u64 = args[3].parse().expect("ENTRIES is a number");
    let clients: usize = args
        .get(4)
        .map_or(16_384, |c| c.parse().expect("CLIENTS is a number"));
    let key_text = std::fs::read_to_string(&args[2]).expect("reading the key file");
    let key = LogKey::from_private_text(&key_text).expect("a signed-note private key");
    let store = Store::open(&args[1]).expect("opening the database");
    let service = Service::start(
        store,
        key,
        LicenseSet::builtin(),
        Settings {
            max_batch: (clients / 2).max(1),
            ..Settings::default()
        },
        Arc::new(Metrics::default()),
    )
    .expect("starting the service");
    let name = format!("bulk-{}", std::process::id());
    let (account, _) = service
        .create_account(&name, Role::Operator)
        .expect("creating the operator account");
    let (head, _) = service.checkpoint().await.expect("reading the head");
    let remaining = target.saturating_sub(head.size);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (service, account, next) = (service.clone(), account.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= remaining {
                    break;
                }
                service
                    .append_operator_note(&account, format!("bulk note {n}"))
                    .await
                    .expect("an append failed");
                if n > 0 && n % 1_000_000 == 0 {
                    let rate = n as f64 / started.elapsed().as_secs_f64();
                    eprintln!("{n} appended, {rate:.0}/s");
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("an append task panicked");
    }
    let (head, _) = service.checkpoint().await.expect("reading the head");
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "log size {}: {remaining} appended in {seconds:.0} s ({:.0} appends/s)",
        head.size,
        remaining as f64 / seconds
    );
}
