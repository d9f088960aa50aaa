//! The use cases: append to the log, read it, prove it, authenticate callers.
//!
//! The service owns the transaction boundaries and the sequencer. Callers (the HTTP layer, the
//! CLI) never touch the store directly.
//!
//! Appends go through a group-commit sequencer: requests queue their signed entries, one task
//! takes everything queued, integrates it in a single transaction that also stores one signed
//! checkpoint, commits, and only then answers every request of the round. The next round starts
//! as soon as the previous one has committed, so a lone request waits one short round and a
//! thousand concurrent ones share one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};

use crate::accounts::{token_hash, Role};
use crate::fingerprint::DecodeLimits;
use crate::ledger::{
    self, EntryBody, EntryKind, EntryNote, Hash, InclusionProof, LedgerError, LogKey, LogVerifier,
    PendingEntry, Receipt, TileRequest, TreeHead,
};
use crate::licenses::{
    self, AiPreferences, Attribution, IntendedUse, License, LicenseError, LicenseSet, Verdict,
    WorkCredit,
};
use crate::metrics::Metrics;
use crate::store::{Account, NewAccount, Store, StoreError};

mod attributions;
mod read_cache;
mod registry;
mod sequencer;
mod signing;
mod works;

pub use attributions::{
    AttributionRecorded, AttributionRequest, AttributionView, Disclosure, Media,
};
pub use read_cache::ReadCache;
pub use registry::{RegistrationConflict, Registry};
use sequencer::{AppendJob, Record, Refused, Sequencer};
pub use signing::{Prepared, Signing, Written, SIGNED_REQUEST_WINDOW};
pub use works::{CheckAnswer, WorkEvent, WorkRecorded, WorkView};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    License(#[from] LicenseError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("no checkpoint was signed at tree size {0}")]
    NoCheckpointAt(u64),
    #[error("a bearer token is required")]
    MissingToken,
    #[error("the bearer token is not valid")]
    InvalidToken,
    #[error("this needs the {needed} role; the account is a {actual}")]
    WrongRole {
        needed: &'static str,
        actual: &'static str,
    },
    #[error("{0}")]
    Fingerprint(#[from] crate::fingerprint::FingerprintError),
    #[error("{0}")]
    Work(#[from] crate::works::WorkError),
    #[error("{}", describe_conflict(.0))]
    WorkConflict(RegistrationConflict),
    #[error("work {work_id} belongs to another account")]
    NotOwner { work_id: i64 },
    #[error("{0}")]
    Attribution(#[from] crate::attributions::AttributionError),
    #[error("the licence does not allow this use")]
    UseNotAllowed(Box<Verdict>),
    #[error("the fingerprints were computed with {found:?}; this service computes {expected:?}")]
    FingerprintVersion { found: String, expected: String },
    #[error("only the publisher who recorded attribution {attribution_id} can revoke it")]
    NotPublisher { attribution_id: i64 },
    #[error("the publisher's personal data was erased; the commitment can no longer be opened")]
    Erased,
    #[error("this account has registered no public key; PUT /v1/accounts/me/key first")]
    NoKeyRegistered,
    #[error("the account's signature does not verify: {0}")]
    BadActorSignature(String),
    #[error("{0}")]
    InvalidSigning(String),
    #[error("the signed request was issued at {issued_at}, more than {window_seconds} s from now; prepare it again")]
    StaleSignedRequest {
        issued_at: String,
        window_seconds: u64,
    },
    #[error("this signed request was already recorded; a signed request is logged once")]
    Replayed,
    #[error("{0}")]
    InvalidKey(String),
    #[error("the sequencer has stopped")]
    SequencerStopped,
    #[error("background task failed: {0}")]
    Task(String),
}

/// How long an authenticated token is trusted before the database is asked again: the time a
/// revocation takes to reach every node. Looking the token up on every request cost a quarter
/// of the service's CPU under load.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);
const CACHED_TOKENS: usize = 10_000;

/// How the service runs, beyond what it stores and signs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most entries one sequencing round takes.
    pub max_batch: usize,
    /// Limits on every image the service decodes.
    pub decode_limits: DecodeLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_batch: crate::config::DEFAULT_MAX_BATCH,
            decode_limits: DecodeLimits::default(),
        }
    }
}

/// The result of an append: the index and a receipt that verifies offline.
#[derive(Debug, Clone)]
pub struct Appended {
    pub index: u64,
    pub receipt: Receipt,
}

/// An inclusion proof and the checkpoint it was made against.
#[derive(Debug, Clone)]
pub struct InclusionAnswer {
    pub index: u64,
    pub tree_size: u64,
    pub leaf_hash: Hash,
    pub audit_path: Vec<Hash>,
    pub checkpoint: String,
}

#[derive(Debug, Clone)]
pub struct ConsistencyAnswer {
    pub old_size: u64,
    pub new_size: u64,
    pub proof: Vec<Hash>,
    pub old_checkpoint: String,
    pub checkpoint: String,
}

#[derive(Debug, Clone)]
pub struct EntryAnswer {
    pub index: u64,
    pub leaf_hash: Hash,
    pub entry: String,
}

pub struct Service {
    store: Store,
    cache: Arc<ReadCache>,
    registry: Arc<Registry>,
    settings: Settings,
    /// Accounts by token hash, with when they were read.
    tokens: quick_cache::sync::Cache<[u8; 32], (Account, Instant)>,
    licenses: LicenseSet,
    key: Arc<LogKey>,
    verifier: LogVerifier,
    sequencer: mpsc::Sender<AppendJob>,
    metrics: Arc<Metrics>,
}

impl Service {
    /// Binds the store to the key and starts the sequencer. Must run inside a Tokio runtime.
    pub fn start(
        store: Store,
        key: LogKey,
        licenses: LicenseSet,
        settings: Settings,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, ServiceError> {
        let max_batch = settings.max_batch.max(1);
        store.init_log(&key)?;
        let (head, _) = store.read(|rows| Ok::<_, ServiceError>(rows.head()?))?;
        metrics.log_size.set(head.size);
        let key = Arc::new(key);
        let cache = Arc::new(ReadCache::new());
        let (sender, receiver) = mpsc::channel(max_batch.saturating_mul(4).max(1024));
        let registry = Arc::new(Registry::default());
        registry.catch_up(|after| store.works_after(after))?;
        tokio::spawn(sequencer::run(
            Sequencer {
                store: store.clone(),
                key: key.clone(),
                max_batch,
                metrics: metrics.clone(),
                cache: cache.clone(),
                registry: registry.clone(),
            },
            receiver,
        ));
        tokio::spawn(works::poll_registrations(
            store.clone(),
            Arc::downgrade(&registry),
        ));
        Ok(Arc::new(Service {
            verifier: key.verifier(),
            store,
            cache,
            registry,
            settings,
            tokens: quick_cache::sync::Cache::new(CACHED_TOKENS),
            licenses,
            key,
            sequencer: sender,
            metrics,
        }))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn verifier(&self) -> &LogVerifier {
        &self.verifier
    }

    pub fn origin(&self) -> &str {
        self.key.name()
    }

    pub fn licenses(&self) -> &LicenseSet {
        &self.licenses
    }

    pub fn license(&self, id: &str) -> Result<&License, ServiceError> {
        self.licenses
            .get(id)
            .ok_or_else(|| LicenseError::UnknownLicense(id.to_owned()).into())
    }

    /// May the work be used so? `content_usage` carries the rights holder's AI preferences as
    /// a `Content-Usage` header value.
    pub fn evaluate_use(
        &self,
        license_id: &str,
        intended: &IntendedUse,
        content_usage: Option<&str>,
    ) -> Result<Verdict, ServiceError> {
        let preferences = content_usage.map(AiPreferences::parse_header).transpose()?;
        Ok(licenses::evaluate(
            &self.licenses,
            license_id,
            intended,
            preferences.as_ref(),
        )?)
    }

    /// The credit line for a work, in every markup.
    pub fn compose_attribution(
        &self,
        credit: &WorkCredit,
        changes: Option<&str>,
    ) -> Result<Attribution, ServiceError> {
        Ok(licenses::attribution(&self.licenses, credit, changes)?)
    }

    /// Runs blocking reads through the cache off the async workers.
    async fn cached<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store, &ReadCache) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let store = self.store.clone();
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || work(&store, &cache))
            .await
            .map_err(|e| ServiceError::Task(e.to_string()))?
    }

    /// Runs blocking store work off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| ServiceError::Task(e.to_string()))?
    }

    pub async fn health(&self) -> Result<(), ServiceError> {
        self.blocking(|store| Ok(store.ping()?)).await
    }

    /// Signs an entry of `kind` with `data`, sequences it, and answers once it is durable.
    pub async fn append(&self, kind: EntryKind, data: Value) -> Result<Appended, ServiceError> {
        self.append_with(kind, data, Record::Nothing).await
    }

    /// Like [`Self::append`], writing `record` in the same transaction as the entry.
    async fn append_with(
        &self,
        kind: EntryKind,
        data: Value,
        record: Record,
    ) -> Result<Appended, ServiceError> {
        let body = EntryBody {
            kind,
            issued_at: now_rfc3339(),
            data,
        };
        let note = EntryNote::sign(&self.key, body, &[])?;
        self.sequence(note, record, None).await
    }

    /// Like [`Self::append_with`] for a request by `account` that may be prepared for the
    /// account's signature or carry it (see [`signing`]). `salt` is the commitment salt the
    /// data was built with, answered to a prepared request.
    async fn append_authored(
        &self,
        kind: EntryKind,
        mut data: Value,
        record: Record,
        account: &Account,
        signing: &Signing,
        salt: Option<&[u8; 32]>,
    ) -> Result<Written<Appended>, ServiceError> {
        let authored = signing.authored(account)?;
        if let (Some(actor), Value::Object(fields)) = (&authored.actor, &mut data) {
            fields.insert(
                "actor_key".into(),
                Value::String(actor.as_text().to_owned()),
            );
        }
        let body = EntryBody {
            kind,
            issued_at: authored.issued_at.unwrap_or_else(now_rfc3339),
            data,
        };
        let text = EntryNote::text(self.key.name(), &body)?;
        if *signing == Signing::Prepare {
            return Ok(Written::Prepared(Prepared {
                note: text,
                issued_at: body.issued_at,
                salt: salt.map(hex::encode),
                key: authored
                    .actor
                    .map(|a| a.as_text().to_owned())
                    .unwrap_or_default(),
            }));
        }
        let (extra, digest) = match signing.check(authored.actor.as_ref(), &text)? {
            Some((line, digest)) => (vec![line], Some(digest)),
            None => (Vec::new(), None),
        };
        let note = EntryNote::sign(&self.key, body, &extra)?;
        Ok(Written::Recorded(
            self.sequence(note, record, digest).await?,
        ))
    }

    /// Queues a signed entry and answers once its round has committed.
    async fn sequence(
        &self,
        note: EntryNote,
        record: Record,
        signed_digest: Option<[u8; 32]>,
    ) -> Result<Appended, ServiceError> {
        let kind = note.body.kind;
        let entry_text = String::from_utf8(note.bytes.clone()).expect("signed notes are UTF-8");
        let (reply, answer) = oneshot::channel();
        self.sequencer
            .send(AppendJob {
                entry: PendingEntry {
                    kind,
                    bytes: note.bytes,
                },
                record,
                signed_digest,
                reply,
            })
            .await
            .map_err(|_| ServiceError::SequencerStopped)?;
        let sequenced = answer
            .await
            .map_err(|_| ServiceError::SequencerStopped)?
            .map_err(|refused| match refused {
                Refused::Failed(reason) => ServiceError::Store(StoreError::Corrupt(reason)),
                Refused::Conflict(conflict) => ServiceError::WorkConflict(conflict),
                Refused::Replayed => ServiceError::Replayed,
                Refused::Attribution(e) => ServiceError::Attribution(e),
            })?;
        let proof = InclusionProof {
            index: sequenced.index,
            path: sequenced.audit_path,
            extra: None,
            checkpoint_note: sequenced.checkpoint_note.to_string(),
        };
        Ok(Appended {
            index: sequenced.index,
            receipt: Receipt {
                entry: entry_text,
                proof: proof.to_text(),
            },
        })
    }

    /// Appends an operator's free-text note.
    pub async fn append_operator_note(
        &self,
        account: &Account,
        text: String,
    ) -> Result<Appended, ServiceError> {
        require_role(account, Role::Operator)?;
        self.append(
            EntryKind::OperatorNote,
            serde_json::json!({ "text": text, "operator": account.name }),
        )
        .await
    }

    /// The live account a bearer token belongs to. Accounts found are remembered for
    /// [`TOKEN_CACHE_TTL`], so a revoked token stops working within that time; unknown tokens
    /// are never remembered.
    pub async fn authenticate(&self, token: Option<String>) -> Result<Account, ServiceError> {
        let token = token.ok_or(ServiceError::MissingToken)?;
        let hash = token_hash(&token);
        if let Some((account, seen)) = self.tokens.get(&hash) {
            if seen.elapsed() < TOKEN_CACHE_TTL {
                return Ok(account);
            }
        }
        let account = self
            .blocking(move |store| {
                store
                    .account_by_token_hash(&hash)?
                    .ok_or(ServiceError::InvalidToken)
            })
            .await?;
        self.tokens.insert(hash, (account.clone(), Instant::now()));
        Ok(account)
    }

    pub fn create_account(
        &self,
        name: &str,
        role: Role,
    ) -> Result<(Account, String), ServiceError> {
        create_account(&self.store, name, role)
    }

    /// Registers (or with `None` removes) the Ed25519 verifier key the account signs entries
    /// with, in the standard text form `name+keyid+base64(0x01 || key)`.
    pub async fn set_account_key(
        &self,
        account: &Account,
        token: &str,
        verifier_key: Option<String>,
    ) -> Result<Account, ServiceError> {
        let verifier_key = match verifier_key {
            Some(text) => Some(
                LogVerifier::from_text(&text)
                    .map_err(|e| ServiceError::InvalidKey(e.to_string()))?
                    .as_text()
                    .to_owned(),
            ),
            None => None,
        };
        let id = account.id;
        let stored = verifier_key.clone();
        self.blocking(move |store| Ok(store.set_public_key(id, stored.as_deref())?))
            .await?;
        // The cached account still has the old key; the next request must see the new one.
        self.tokens.remove(&token_hash(token));
        Ok(Account {
            public_key: verifier_key,
            ..account.clone()
        })
    }

    /// The latest signed checkpoint.
    pub async fn checkpoint(&self) -> Result<(TreeHead, Arc<str>), ServiceError> {
        if let Some(head) = self.cache.fresh_head() {
            return Ok(head);
        }
        self.cached(|store, cache| Ok(cache.head(store)?)).await
    }

    /// Checkpoint sizes and signing times, newest first.
    pub async fn checkpoint_history(&self, limit: i64) -> Result<Vec<(u64, i64)>, ServiceError> {
        self.blocking(move |store| store.read(|rows| Ok(rows.checkpoint_history(limit)?)))
            .await
    }

    /// A tile's bytes, if the current tree covers it. Full tiles never change, so they are
    /// served from memory once read.
    pub async fn tile(&self, request: TileRequest) -> Result<Bytes, ServiceError> {
        if let Some(bytes) = self.cache.full_tile(&request) {
            return Ok(bytes);
        }
        self.cached(move |store, cache| {
            let (head, _) = cache.head(store)?;
            // A tile beyond the cached head may exist already: another node may have grown
            // the tree within the cache's age.
            if !request.exists_in(head.size)
                && !request.exists_in(cache.head_covering(store, u64::MAX)?.0.size)
            {
                return Err(ServiceError::NotFound("tile".into()));
            }
            let bytes: Bytes = match request.entry_range() {
                Some(range) => ledger::entry_bundle(&store.read(|rows| rows.entries(range))?),
                None => request.read_hashes(&cache.hashes(store))?,
            }
            .into();
            if request.is_full() {
                cache.keep_full_tile(request, bytes.clone());
            }
            Ok(bytes)
        })
        .await
    }

    pub async fn entry(&self, index: u64) -> Result<EntryAnswer, ServiceError> {
        self.blocking(move |store| {
            let data = store
                .read(|rows| Ok::<_, ServiceError>(rows.entry(index)?))?
                .ok_or_else(|| ServiceError::NotFound(format!("entry {index}")))?;
            Ok(EntryAnswer {
                index,
                leaf_hash: ledger::leaf_hash(&data),
                entry: String::from_utf8_lossy(&data).into_owned(),
            })
        })
        .await
    }

    /// An audit path for the entry at `index` (or with `leaf_hash`) in the tree of
    /// `tree_size` leaves, which must be a size the log signed; the latest when `None`.
    pub async fn inclusion_proof(
        &self,
        target: ProofTarget,
        tree_size: Option<u64>,
    ) -> Result<InclusionAnswer, ServiceError> {
        if let ProofTarget::Index(index) = target {
            if let Some(answer) = self.inclusion_from_memory(index, tree_size) {
                return Ok(answer);
            }
        }
        self.cached(move |store, cache| {
            let (size, checkpoint) = checkpoint_at_or_latest(store, cache, tree_size)?;
            let index = match target {
                ProofTarget::Index(index) => index,
                ProofTarget::LeafHash(hash) => store
                    .read(|rows| rows.index_of_leaf(&hash))?
                    .ok_or_else(|| ServiceError::NotFound("an entry with that leaf hash".into()))?,
            };
            let hashes = cache.hashes(store);
            let audit_path = ledger::prove_inclusion(index, size, &hashes)?;
            Ok(InclusionAnswer {
                index,
                tree_size: size,
                leaf_hash: ledger::stored_leaf_hash(index, &hashes)?,
                audit_path,
                checkpoint: checkpoint.to_string(),
            })
        })
        .await
    }

    /// The common case without leaving the async worker: the head is fresh and every hash the
    /// proof needs is in memory. `None` sends the caller down the blocking path, which also
    /// produces every error.
    fn inclusion_from_memory(&self, index: u64, tree_size: Option<u64>) -> Option<InclusionAnswer> {
        let (head, latest) = self.cache.fresh_head()?;
        let (size, checkpoint) = match tree_size {
            None => (head.size, latest),
            Some(size) if size == head.size => (size, latest),
            Some(size) if size < head.size => (size, self.cache.cached_checkpoint(size)?),
            Some(_) => return None,
        };
        if index >= size {
            return None;
        }
        let hashes = self.cache.memory_only();
        Some(InclusionAnswer {
            index,
            tree_size: size,
            audit_path: ledger::prove_inclusion(index, size, &hashes).ok()?,
            leaf_hash: ledger::stored_leaf_hash(index, &hashes).ok()?,
            checkpoint: checkpoint.to_string(),
        })
    }

    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyAnswer, ServiceError> {
        if old_size > new_size {
            return Err(LedgerError::SizesOutOfOrder { old_size, new_size }.into());
        }
        self.cached(move |store, cache| {
            let (_, checkpoint) = checkpoint_at_or_latest(store, cache, Some(new_size))?;
            let (_, old_checkpoint) = checkpoint_at_or_latest(store, cache, Some(old_size))?;
            Ok(ConsistencyAnswer {
                old_size,
                new_size,
                proof: ledger::prove_consistency(old_size, new_size, &cache.hashes(store))?,
                old_checkpoint: old_checkpoint.to_string(),
                checkpoint: checkpoint.to_string(),
            })
        })
        .await
    }

    /// Re-issues the receipt for an entry against the latest checkpoint.
    pub async fn receipt(&self, index: u64) -> Result<Receipt, ServiceError> {
        let entry = self.entry(index).await?;
        let proof = self
            .inclusion_proof(ProofTarget::Index(index), None)
            .await?;
        Ok(Receipt {
            entry: entry.entry,
            proof: InclusionProof {
                index,
                path: proof.audit_path,
                extra: None,
                checkpoint_note: proof.checkpoint,
            }
            .to_text(),
        })
    }

    /// Entry counts by kind.
    pub async fn kind_totals(&self) -> Result<Vec<(String, i64)>, ServiceError> {
        self.blocking(|store| store.read(|rows| Ok(rows.kind_totals()?)))
            .await
    }
}

/// Which entry an inclusion proof is for.
#[derive(Debug, Clone, Copy)]
pub enum ProofTarget {
    Index(u64),
    LeafHash(Hash),
}

/// The checkpoint signed at `tree_size`, or the latest.
fn checkpoint_at_or_latest(
    store: &Store,
    cache: &ReadCache,
    tree_size: Option<u64>,
) -> Result<(u64, Arc<str>), ServiceError> {
    let (head, latest) = match tree_size {
        Some(size) => cache.head_covering(store, size)?,
        None => cache.head(store)?,
    };
    match tree_size {
        None => Ok((head.size, latest)),
        Some(size) if size == head.size => Ok((size, latest)),
        Some(size) if size > head.size => Err(LedgerError::SizeBeyondTree {
            requested: size,
            current: head.size,
        }
        .into()),
        Some(size) => cache
            .checkpoint_at(store, size)?
            .map(|note| (size, note))
            .ok_or(ServiceError::NoCheckpointAt(size)),
    }
}

/// Creates an account and answers its token, which is shown only this once.
pub fn create_account(
    store: &Store,
    name: &str,
    role: Role,
) -> Result<(Account, String), ServiceError> {
    let token = crate::accounts::new_token();
    let account = store.create_account(NewAccount {
        name,
        role,
        token_hash: token_hash(&token),
    })?;
    Ok((account, token))
}

pub fn require_role(account: &Account, role: Role) -> Result<(), ServiceError> {
    if account.role == role {
        Ok(())
    } else {
        Err(ServiceError::WrongRole {
            needed: role.as_str(),
            actual: account.role.as_str(),
        })
    }
}

fn describe_conflict(conflict: &RegistrationConflict) -> String {
    match conflict {
        RegistrationConflict::AlreadyRegistered { work_id } => {
            format!("this image is already registered by this account as work {work_id}")
        }
        RegistrationConflict::OtherOwner { work_id } => {
            format!("this image matches work {work_id}, registered by another account")
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("zero nanoseconds is valid")
        .format(&Rfc3339)
        .expect("the current time formats as RFC 3339")
}
