//! The command line: `serve`, `keygen`, `migrate`, `verify`, `audit`, `accounts`,
//! `fingerprint`, `check`, `works import`.
//!
//! Commands use `anyhow` with context for messages a person can act on, and distinct exit
//! codes: 0 ok, 1 a verification failed, 2 a usage or input error.

mod accounts;
mod add_features;
mod audit;
mod check;
mod import;
mod keyfile;
mod serve;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigOverrides};

pub use keyfile::{load_key, load_or_create_key, write_new_key};

#[derive(Debug, Parser)]
#[command(
    name = "provenance",
    version,
    about = "Provenance Ledger: licensed-work matching and a verifiable attribution log"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve(ConfigArgs),
    /// Write a new Ed25519 signing key and print its verifier key.
    Keygen(keyfile::KeygenArgs),
    /// Run the database migrations and exit.
    Migrate(ConfigArgs),
    /// Verify a receipt offline: entry signature, audit path and checkpoint signature.
    Verify(verify::VerifyArgs),
    /// Audit a log through its tile API: every entry's signatures and schema, every hash, the
    /// root, and consistency with the last audit's checkpoint.
    Audit(audit::AuditArgs),
    /// Manage accounts and their bearer tokens.
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// Print every fingerprint of each image, one JSON line per file.
    Fingerprint(check::FingerprintArgs),
    /// Match images against the registered works in a database, one JSON line per file.
    Check(check::CheckArgs),
    /// Manage registered works.
    #[command(subcommand)]
    Works(import::WorksCommand),
}

/// Settings shared by the commands that open the service's database. Each flag can also be set
/// by its `PROVENANCE_*` variable or in the config file; flags win over variables, variables
/// over the file.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A TOML config file.
    #[arg(long, env = "PROVENANCE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (host:port).
    #[arg(long, env = "PROVENANCE_LISTEN")]
    listen: Option<String>,
    /// Directory for the default SQLite database and the generated key.
    #[arg(long, env = "PROVENANCE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "PROVENANCE_DATABASE_URL")]
    database_url: Option<String>,
    /// The log's origin (its key's name), used when a key is generated.
    #[arg(long, env = "PROVENANCE_ORIGIN")]
    origin: Option<String>,
    /// The log's signing key file.
    #[arg(long, env = "PROVENANCE_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Most entries integrated per sequencing round.
    #[arg(long, env = "PROVENANCE_MAX_BATCH")]
    max_batch: Option<usize>,
    /// HTTP worker threads.
    #[arg(long, env = "PROVENANCE_WORKERS")]
    workers: Option<usize>,
    /// A directory of licence contracts to use instead of the built-in set.
    #[arg(long, env = "PROVENANCE_LICENSES_DIR")]
    licenses_dir: Option<PathBuf>,
    /// Largest image file accepted, in bytes.
    #[arg(long, env = "PROVENANCE_MAX_IMAGE_BYTES")]
    max_image_bytes: Option<u64>,
}

impl ConfigArgs {
    fn resolve(&self) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => ConfigOverrides::from_file(path)?,
            None => ConfigOverrides::default(),
        };
        let given = ConfigOverrides {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            origin: self.origin.clone(),
            key_file: self.key_file.clone(),
            max_batch: self.max_batch,
            workers: self.workers,
            licenses_dir: self.licenses_dir.clone(),
            max_image_bytes: self.max_image_bytes,
        };
        Ok(Config::resolve(file.overridden_by(given))?)
    }
}

/// A failed command: what exit code it earns.
#[derive(Debug, thiserror::Error)]
pub enum CliFailure {
    /// Something was checked and found wrong: exit 1.
    #[error("{0}")]
    Invalid(String),
}

pub fn run(cli: Cli) -> ExitCode {
    init_tracing();
    let outcome = match cli.command {
        Command::Serve(args) => args.resolve().and_then(serve::run),
        Command::Keygen(args) => keyfile::keygen(args),
        Command::Migrate(args) => args.resolve().and_then(|config| {
            let store = crate::store::Store::open(&config.database_url)?;
            let ran = store.migrate()?;
            println!("database is up to date ({} migrations run now)", ran.len());
            Ok(())
        }),
        Command::Verify(args) => verify::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Accounts(command) => accounts::run(command),
        Command::Fingerprint(args) => check::fingerprint(args),
        Command::Check(args) => check::check(args),
        Command::Works(command) => import::run(command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match err.downcast_ref::<CliFailure>() {
            Some(CliFailure::Invalid(why)) => {
                eprintln!("INVALID: {why}");
                ExitCode::from(1)
            }
            None => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PROVENANCE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
