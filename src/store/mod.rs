//! Storage through diesel: one schema over SQLite (the embedded default) and PostgreSQL (for
//! several nodes), chosen by the database URL's scheme.
//!
//! Only this module knows SQL. The traits it implements belong to the domain
//! ([`crate::ledger::LockedLog`], [`crate::ledger::HashReader`]); SQL that differs between the
//! backends (row locks) is an explicit `match` on [`DbConnection`] here and nowhere else.

mod accounts;
mod attributions;
mod log;
mod schema;
mod thumbnails;
mod works;

pub use accounts::{Account, NewAccount};
pub use attributions::{AttributionEventRow, AttributionFilter, StoredAttribution};
pub use log::{unix_now, DbHashes, LockedDbLog, LogRows, RoundError};
pub use thumbnails::Thumbnail;
pub use works::{IndexedWork, StoredFeatures, StoredWork, WorkFilter, WORKS_PER_READ};

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use thiserror::Error;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("migrating the database failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("{0}")]
    Conflict(String),
    #[error("the stored log is inconsistent: {0}")]
    Corrupt(String),
}

/// Which backend a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// Chooses the backend from the scheme. Anything else is refused, so that a mistyped
    /// PostgreSQL URL never quietly creates a SQLite file.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::UnsupportedUrl(url.to_owned()));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }

    /// The default database: a SQLite file in the data directory.
    pub fn sqlite_in(dir: &Path) -> String {
        format!("sqlite://{}", dir.join("provenance.db").display())
    }
}

/// Per-connection SQLite settings. WAL lets readers run beside the one writer; `synchronous =
/// FULL` makes every commit durable before it returns, which the ledger's acknowledgements
/// depend on.
#[derive(Debug)]
struct SqliteSettings;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqliteSettings {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(conn) = conn {
            conn.batch_execute(
                "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

pub type PooledDb = PooledConnection<ConnectionManager<DbConnection>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pool. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnectionManager<DbConnection>>,
    backend: Backend,
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let (connection_url, backend) = match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| StoreError::Connect(format!("{}: {e}", parent.display())))?;
                }
                (path.display().to_string(), Backend::Sqlite)
            }
            DatabaseUrl::Postgres(url) => (url, Backend::Postgres),
        };
        let pool = Pool::builder()
            .max_size(16)
            .connection_timeout(Duration::from_secs(30))
            // A SQLite connection is a file handle and cannot go stale; testing it on every
            // checkout was one more statement per round and per read.
            .test_on_check_out(backend == Backend::Postgres)
            .connection_customizer(Box::new(SqliteSettings))
            .build(ConnectionManager::<DbConnection>::new(connection_url))
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        let store = Store { pool, backend };
        store.migrate()?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn conn(&self) -> Result<PooledDb, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs the backend's pending migrations; answers the names of those it ran.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let ran = match &mut *conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
            DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(ran.iter().map(|m| m.to_string()).collect())
    }

    /// A cheap round trip, for health checks.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn()?.batch_execute("SELECT 1")?;
        Ok(())
    }
}
