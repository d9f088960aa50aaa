//! `provenance audit` against real `provenance serve` processes and their databases.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::process::{create_account, test_only_key, Node, BIN};
use crate::support::TestDb;

/// The test-only log's verifier key, from the repository rather than from the log.
fn test_only_verifier_key() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/test-only/log.pub")
}

/// One log: a database, a data directory, the test-only key, an operator and a server.
struct Log {
    // Declared first so that it is dropped first: the server stops before its database goes.
    node: Option<Node>,
    db: TestDb,
    dir: tempfile::TempDir,
    key_file: PathBuf,
    token: String,
}

impl Log {
    fn start() -> Log {
        let db = TestDb::new();
        let dir = tempfile::tempdir().unwrap();
        let key_file = test_only_key(dir.path());
        let token = create_account(&db.url, dir.path(), "ops", "operator");
        let node = Node::start(dir.path(), &db.url, &key_file);
        Log {
            node: Some(node),
            db,
            dir,
            key_file,
            token,
        }
    }

    fn base(&self) -> String {
        self.node.as_ref().expect("running").base.clone()
    }

    /// Appends `n` operator notes from 8 clients at once (so rounds hold several entries).
    fn append(&self, n: usize, label: &str) {
        let base = self.base();
        std::thread::scope(|s| {
            for client in 0..8 {
                let (base, token) = (&base, &self.token);
                s.spawn(move || {
                    let agent = ureq::agent();
                    for i in (client..n).step_by(8) {
                        agent
                            .post(&format!("{base}/v1/log/entries"))
                            .set("Authorization", &format!("Bearer {token}"))
                            .send_json(serde_json::json!({"text": format!("{label} note {i}")}))
                            .unwrap_or_else(|e| panic!("append {i}: {e}"));
                    }
                });
            }
        });
    }

    /// Stops the server and starts it again on the same database: a fresh process, with no
    /// tiles in memory.
    fn restart(&mut self) {
        self.node = None;
        self.node = Some(Node::start(self.dir.path(), &self.db.url, &self.key_file));
    }

    fn checkpoint(&self) -> (u64, String) {
        let text = ureq::get(&format!("{}/log/checkpoint", self.base()))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        (lines[1].parse().unwrap(), lines[2].to_owned())
    }
}

fn audit(base: &str, key: &Path, state: Option<&Path>, extra: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(["audit", "--server", base])
        .arg("--key")
        .arg(key)
        .args(extra)
        .env("PROVENANCE_LOG", "warn");
    if let Some(state) = state {
        command.arg("--state").arg(state);
    }
    command.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs an audit that must pass and answers its JSON summary.
#[track_caller]
fn audit_ok(base: &str, state: Option<&Path>, extra: &[&str]) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = audit(base, &test_only_verifier_key(), state, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_second_audit_reads_only_the_new_entries_and_keeps_the_totals() {
    let log = Log::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("audit.json");
    log.append(300, "first");

    let first = audit_ok(&log.base(), Some(&state), &[]);
    let (size, root) = log.checkpoint();
    assert_eq!(size, 300);
    assert_eq!(first["entries_checked"], 300);
    assert_eq!(first["previous_size"], 0);
    assert_eq!(first["tree_size"], 300);
    assert_eq!(first["root_hash"], root);
    assert_eq!(first["totals"], serde_json::json!({"operator_note": 300}));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["tree_size"], 300);
    assert_eq!(saved["origin"], "test-only.invalid/provenance");

    // The log grows past a tile boundary from the middle of a partial tile.
    log.append(250, "second");
    let second = audit_ok(&log.base(), Some(&state), &[]);
    assert_eq!(second["entries_checked"], 250);
    assert_eq!(second["previous_size"], 300);
    assert_eq!(second["tree_size"], 550);
    assert_eq!(second["root_hash"], log.checkpoint().1);
    assert_eq!(second["totals"], serde_json::json!({"operator_note": 550}));

    // Nothing new: nothing read.
    let third = audit_ok(&log.base(), Some(&state), &[]);
    assert_eq!(third["entries_checked"], 0);
    assert_eq!(third["tree_size"], 550);

    // --full reads everything again, and agrees.
    let full = audit_ok(&log.base(), Some(&state), &["--full"]);
    assert_eq!(full["entries_checked"], 550);
    assert_eq!(full["totals"], serde_json::json!({"operator_note": 550}));
    // So does checking each signature on its own instead of a tile's at once.
    let strict = audit_ok(&log.base(), None, &["--strict-signatures"]);
    assert_eq!(strict["entries_checked"], 550);
    assert_eq!(strict["root_hash"], full["root_hash"]);

    // The text summary names the counts too.
    let out = audit(&log.base(), &test_only_verifier_key(), Some(&state), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("entries checked in this run: 0"), "{text}");
    assert!(text.contains("operator_note: 550"), "{text}");
}

#[test]
fn an_entry_changed_in_the_database_fails_the_audit_naming_its_index() {
    let mut log = Log::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("audit.json");
    log.append(300, "kept");
    audit_ok(&log.base(), Some(&state), &[]);
    let before = std::fs::read(&state).unwrap();

    // Swap in another entry's bytes: still a note validly signed by the log, so only the
    // tree can tell.
    log.db.execute(
        "UPDATE log_entries SET data = (SELECT data FROM log_entries WHERE entry_index = 124) \
         WHERE entry_index = 123",
    );
    log.restart();

    for (state, extra) in [(Some(state.as_path()), &["--full"][..]), (None, &[][..])] {
        let out = audit(&log.base(), &test_only_verifier_key(), state, extra);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{message}");
        assert!(
            message.contains("INVALID: audit check leaf_hash failed for entry 123"),
            "{message}"
        );
    }
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "a failed audit saved"
    );
    // A resumed audit has nothing new to read: the change is below what it audited.
    let resumed = audit_ok(&log.base(), Some(&state), &[]);
    assert_eq!(resumed["entries_checked"], 0);
}

#[test]
fn a_state_file_from_another_log_is_refused() {
    let log = Log::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("audit.json");
    log.append(3, "ours");
    audit_ok(&log.base(), Some(&state), &[]);
    let before = std::fs::read(&state).unwrap();

    // Another log, with its own key.
    let other_db = TestDb::new();
    let other_dir = tempfile::tempdir().unwrap();
    let other_key = other_dir.path().join("other.key");
    let keygen = Command::new(BIN)
        .args(["keygen", "--origin", "other.invalid/provenance", "--out"])
        .arg(&other_key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{}", stderr(&keygen));
    let other_pub = other_dir.path().join("other.pub");
    std::fs::write(&other_pub, &keygen.stdout).unwrap();
    let other = Node::start(other_dir.path(), &other_db.url, &other_key);

    let out = audit(&other.base, &other_pub, Some(&state), &[]);
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{message}");
    assert!(
        message.contains("the state file is for the log test-only.invalid/provenance")
            && message.contains("not for other.invalid/provenance"),
        "{message}"
    );
    assert_eq!(std::fs::read(&state).unwrap(), before);
}

#[test]
fn a_log_rewritten_under_the_same_key_is_reported_as_a_fork() {
    let a = Log::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("audit.json");
    a.append(20, "history A");
    let audited = audit_ok(&a.base(), Some(&state), &[]);
    let before = std::fs::read(&state).unwrap();
    drop(a);

    // The same key now serves another history, longer than the one audited.
    let b = Log::start();
    b.append(30, "history B");
    let (b_size, b_root) = b.checkpoint();
    assert_eq!(b_size, 30);
    for extra in [&[][..], &["--full"][..]] {
        let out = audit(&b.base(), &test_only_verifier_key(), Some(&state), extra);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{message}");
        assert!(message.contains("LOG FORKED OR REWRITTEN"), "{message}");
        assert!(
            message.contains(&format!(
                "checkpoint at size 30 (root {b_root}) is not consistent with the saved \
                 checkpoint at size 20 (root {})",
                audited["root_hash"].as_str().unwrap()
            )),
            "{message}"
        );
    }
    assert_eq!(std::fs::read(&state).unwrap(), before);
}
