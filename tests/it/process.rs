//! Tests with real `provenance serve` processes: a crash in the middle of appends, two nodes
//! on one PostgreSQL database, and our output checked by Go's `sumdb` packages.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::prelude::{Engine, BASE64_STANDARD};
use provenance_ledger::ledger::{
    verify_consistency, verify_receipt, Hash, InclusionProof, LogVerifier, Receipt,
    SignedCheckpoint,
};

use crate::support::TestDb;

pub const BIN: &str = env!("CARGO_BIN_EXE_provenance");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Node {
    child: Child,
    pub base: String,
}

impl Node {
    pub fn start(data_dir: &Path, database_url: &str, key_file: &Path) -> Node {
        let port = free_port();
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--database-url", database_url])
            .arg("--key-file")
            .arg(key_file)
            .env("PROVENANCE_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start provenance serve");
        let node = Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while ureq::get(&format!("{}/healthz", node.base)).call().is_err() {
            assert!(Instant::now() < deadline, "serve did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        node
    }

    fn kill(mut self) {
        // SIGKILL: no chance to flush or finish anything.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn get_json(&self, path: &str) -> serde_json::Value {
        ureq::get(&format!("{}{path}", self.base))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .into_json()
            .unwrap()
    }

    fn verifier(&self) -> LogVerifier {
        let text = ureq::get(&format!("{}/log/key", self.base))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        LogVerifier::from_text(&text).unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_operator(database_url: &str, data_dir: &Path) -> String {
    create_account(database_url, data_dir, "ops", "operator")
}

/// Creates an account with the real binary and answers its token.
pub fn create_account(database_url: &str, data_dir: &Path, name: &str, role: &str) -> String {
    let out = Command::new(BIN)
        .args(["accounts", "create", "--name", name, "--role", role])
        .args(["--database-url", database_url])
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The repository's test-only key, copied to a private file (git does not keep file modes,
/// and `serve` refuses a key that others can read).
pub fn test_only_key(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("log.key");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/test-only/log.key"),
        &path,
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Appends from `clients` threads until `stop`, keeping every acknowledged receipt.
fn hammer(
    bases: Vec<String>,
    token: &str,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<Receipt>>> {
    (0..clients)
        .map(|c| {
            let base = bases[c % bases.len()].clone();
            let token = token.to_owned();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let mut acked = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let reply = agent
                        .post(&format!("{base}/v1/log/entries"))
                        .set("Authorization", &format!("Bearer {token}"))
                        .send_json(serde_json::json!({"text": format!("client {c} note {n}")}));
                    match reply {
                        Ok(r) => {
                            let body: serde_json::Value = r.into_json().unwrap();
                            acked.push(serde_json::from_value(body["receipt"].clone()).unwrap());
                        }
                        // The server is gone (killed): what was acknowledged is what counts.
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect()
}

/// Stops the clients and answers every receipt they were given, requiring a useful number.
fn stop_and_collect(
    stop: &AtomicBool,
    workers: Vec<std::thread::JoinHandle<Vec<Receipt>>>,
) -> Vec<Receipt> {
    stop.store(true, Ordering::Relaxed);
    let receipts: Vec<Receipt> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(
        receipts.len() >= 100,
        "only {} appends acknowledged",
        receipts.len()
    );
    receipts
}

fn checkpoint_of(receipt: &Receipt, verifier: &LogVerifier) -> SignedCheckpoint {
    let proof = InclusionProof::parse(&receipt.proof).unwrap();
    SignedCheckpoint::open(&proof.checkpoint_note, verifier).unwrap()
}

/// Every acknowledged receipt still verifies, its entry is still at its index, and every
/// checkpoint seen before is consistent with the log's current one.
fn assert_log_kept(node: &Node, receipts: &[Receipt], verifier: &LogVerifier) {
    let latest = node.get_json("/v1/log/proof/consistency?old_size=0&new_size=0");
    assert_eq!(latest["old_size"], 0);
    let current_text = ureq::get(&format!("{}/log/checkpoint", node.base))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let current = SignedCheckpoint::open(&current_text, verifier).unwrap();
    let mut seen: BTreeMap<u64, Hash> = BTreeMap::new();
    for receipt in receipts {
        let verified = verify_receipt(receipt, verifier).expect("an acknowledged receipt verifies");
        let stored = node.get_json(&format!("/v1/log/entries/{}", verified.index));
        assert_eq!(
            stored["entry"].as_str().unwrap(),
            receipt.entry,
            "entry {} changed",
            verified.index
        );
        let cp = checkpoint_of(receipt, verifier).checkpoint;
        seen.insert(cp.size, cp.root);
    }
    for (size, root) in seen {
        let answer = node.get_json(&format!(
            "/v1/log/proof/consistency?old_size={size}&new_size={}",
            current.checkpoint.size
        ));
        let proof: Vec<Hash> = answer["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                Hash(
                    BASE64_STANDARD
                        .decode(h.as_str().unwrap())
                        .unwrap()
                        .try_into()
                        .unwrap(),
                )
            })
            .collect();
        verify_consistency(
            &proof,
            size,
            root,
            current.checkpoint.size,
            current.checkpoint.root,
        )
        .unwrap_or_else(|e| {
            panic!("checkpoint at {size} is not consistent with the current one: {e}")
        });
    }
}

#[test]
fn a_crash_mid_append_loses_nothing_acknowledged_and_forks_nothing() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let key = test_only_key(dir.path());
    let token = create_operator(&db.url, dir.path());
    let node = Node::start(dir.path(), &db.url, &key);
    let verifier = node.verifier();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = hammer(vec![node.base.clone()], &token, 16, stop.clone());
    // Kill while requests are in flight, once a good number have been acknowledged.
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let size = checkpoint_size(&node.base);
        if size >= 300 || started.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    node.kill();
    let receipts = stop_and_collect(&stop, workers);

    let restarted = Node::start(dir.path(), &db.url, &key);
    assert_log_kept(&restarted, &receipts, &verifier);
    // And the log goes on growing from where it was.
    let after = ureq::post(&format!("{}/v1/log/entries", restarted.base))
        .set("Authorization", &format!("Bearer {token}"))
        .send_json(serde_json::json!({"text": "after the crash"}))
        .unwrap();
    let body: serde_json::Value = after.into_json().unwrap();
    let receipt: Receipt = serde_json::from_value(body["receipt"].clone()).unwrap();
    verify_receipt(&receipt, &verifier).unwrap();
    assert!(body["index"].as_u64().unwrap() as usize >= receipts.len());
}

fn checkpoint_size(base: &str) -> u64 {
    ureq::get(&format!("{base}/log/checkpoint"))
        .call()
        .ok()
        .and_then(|r| r.into_string().ok())
        .and_then(|t| t.lines().nth(1).and_then(|l| l.parse().ok()))
        .unwrap_or(0)
}

#[test]
fn two_nodes_on_one_postgres_database_keep_one_consistent_log() {
    let db = TestDb::new();
    if !db.is_postgres() {
        eprintln!("skipped: needs TEST_DATABASE_URL (PostgreSQL); .ci/run sets it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = test_only_key(dir.path());
    let token = create_operator(&db.url, dir.path());
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    let a = Node::start(&dir_a, &db.url, &key);
    let b = Node::start(&dir_b, &db.url, &key);
    let verifier = a.verifier();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = hammer(
        vec![a.base.clone(), b.base.clone()],
        &token,
        16,
        stop.clone(),
    );
    std::thread::sleep(Duration::from_secs(3));
    let receipts = stop_and_collect(&stop, workers);
    let indexes = Mutex::new(std::collections::BTreeSet::new());
    for receipt in &receipts {
        let index = InclusionProof::parse(&receipt.proof).unwrap().index;
        assert!(
            indexes.lock().unwrap().insert(index),
            "index {index} given twice"
        );
    }
    // Every node answers for the same single log of exactly the acknowledged entries, once its
    // cached head has aged out (other nodes' appends show within 250 ms).
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(checkpoint_size(&a.base), receipts.len() as u64);
    assert_eq!(checkpoint_size(&b.base), receipts.len() as u64);
    assert_log_kept(&a, &receipts, &verifier);
    assert_log_kept(&b, &receipts, &verifier);
}

#[test]
fn go_sumdb_verifies_our_checkpoints_proofs_and_tiles() {
    let has_go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_go {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install golang-go for the interop test"
        );
        eprintln!(
            "skipped: Go is not installed (apt-get install golang-go golang-golang-x-mod-dev)"
        );
        return;
    }
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let key = test_only_key(dir.path());
    let token = create_operator(&db.url, dir.path());
    let node = Node::start(dir.path(), &db.url, &key);
    let verifier_file = dir.path().join("log.pub");
    std::fs::write(&verifier_file, format!("{}\n", node.verifier().as_text())).unwrap();
    // A tree with full and partial tiles on two levels, grown over several checkpoints.
    for round in 0..6 {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = hammer(vec![node.base.clone()], &token, 8, stop.clone());
        while checkpoint_size(&node.base) < 100 * (round + 1) {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
    }
    // Consistency is proved from a size the log really signed, somewhere in the middle.
    let signed = node.get_json("/v1/log/checkpoints?limit=1000");
    let signed = signed.as_array().unwrap();
    let old_size = signed[signed.len() / 2]["tree_size"].as_u64().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/verify-with-go.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&node.base)
        .arg(old_size.to_string())
        .env("LEDGER_KEY_FILE", &verifier_file)
        .env("TLOGCHECK_STATE_DIR", dir.path().join("go-state"))
        .output()
        .unwrap();
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "Go's sumdb rejected our log:\n{report}"
    );
}
