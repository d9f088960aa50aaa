//! `provenance serve`: the only place that chooses the concrete store and key.

use std::sync::Arc;

use actix_web::{App, HttpServer};
use anyhow::Context;

use crate::config::Config;
use crate::fingerprint::DecodeLimits;
use crate::licenses::LicenseSet;
use crate::metrics::Metrics;
use crate::service::{Service, Settings};
use crate::store::Store;

pub fn run(config: Config) -> anyhow::Result<()> {
    let workers = config
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    runtime.block_on(serve(config, workers))
}

async fn serve(config: Config, workers: usize) -> anyhow::Result<()> {
    let service = start_service(&config).await?;
    let server =
        HttpServer::new(move || App::new().configure(crate::api::configure(service.clone())))
            .workers(workers)
            .bind(&config.listen)
            .with_context(|| format!("binding {}", config.listen))?;
    for addr in server.addrs() {
        tracing::info!(%addr, "listening");
    }
    server.run().await?;
    Ok(())
}

/// Opens the key, the database and the licence contracts `config` names and starts the
/// service on them: what `serve` runs, and what `works import` runs without a server.
pub async fn start_service(config: &Config) -> anyhow::Result<Arc<Service>> {
    let (key, generated) = super::load_or_create_key(&config.key_file, &config.origin)?;
    if generated {
        tracing::info!(key_file = %config.key_file.display(), "generated a new signing key");
    }
    tracing::info!(verifier_key = %key.verifier().as_text(), "log verifier key");
    let store = tokio::task::spawn_blocking({
        let url = config.database_url.clone();
        move || Store::open(&url)
    })
    .await?
    .with_context(|| format!("opening {}", redact(&config.database_url)))?;
    let licenses = match &config.licenses_dir {
        Some(dir) => LicenseSet::load_dir(dir)?,
        None => LicenseSet::builtin(),
    };
    tracing::info!(contract_hash = %licenses.content_hash(), "licence contracts loaded");
    Ok(Service::start(
        store,
        key,
        licenses,
        Settings {
            max_batch: config.max_batch,
            decode_limits: DecodeLimits {
                max_bytes: config.max_image_bytes,
                ..DecodeLimits::default()
            },
        },
        Arc::new(Metrics::default()),
    )?)
}

/// The URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
