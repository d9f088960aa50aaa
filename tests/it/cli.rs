//! The `provenance` command line: keys, verification exit codes, refusals.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use provenance_ledger::accounts::Role;
use provenance_ledger::ledger::Receipt;

use crate::process::{test_only_key, BIN};
use crate::support::TestApp;

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run provenance")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn keygen_writes_a_private_key_prints_its_verifier_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    let out = run(&[
        "keygen",
        "--origin",
        "ledger.example.org/provenance",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let verifier = String::from_utf8(out.stdout).unwrap();
    assert!(
        verifier.starts_with("ledger.example.org/provenance+"),
        "{verifier}"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = run(&[
        "keygen",
        "--origin",
        "ledger.example.org/provenance",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    let bad_name = run(&[
        "keygen",
        "--origin",
        "has space",
        "--out",
        dir.path().join("j").to_str().unwrap(),
    ]);
    assert_eq!(bad_name.status.code(), Some(2));
}

#[test]
fn serve_refuses_a_key_that_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let key = test_only_key(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&[
        "serve",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("readable by its owner only"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_database_scheme_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgress://localhost/x",
        "mysql://localhost/x",
        "provenance.db",
        "sqlite://",
    ] {
        let out = run(&[
            "migrate",
            "--database-url",
            url,
            "--data-dir",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{url}");
        assert!(
            stderr(&out).contains("unsupported database URL"),
            "{url}: {}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[actix_web::test]
async fn verify_exits_0_for_a_valid_receipt_1_for_a_tampered_one_and_2_for_garbage() {
    let app = TestApp::new().await;
    let token = app.token("ops", Role::Operator);
    let reply = app.append_note(&token, "verify me").await;
    let receipt: Receipt = serde_json::from_value(reply.json()["receipt"].clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("log.pub");
    std::fs::write(&key, app.verifier().as_text()).unwrap();
    let write = |name: &str, r: &Receipt| {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_string(r).unwrap()).unwrap();
        path
    };
    let verify = |path: &std::path::Path| {
        run(&[
            "verify",
            path.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ])
    };

    let good = verify(&write("good.json", &receipt));
    assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
    assert!(String::from_utf8_lossy(&good.stdout).starts_with("OK: entry 0"));

    // Any changed byte in the entry, the audit path or the checkpoint fails, naming the check.
    let mut entry = receipt.clone();
    entry.entry = entry.entry.replace("verify me", "verify mE");
    let mut path = receipt.clone();
    path.proof = path.proof.replace("index 0", "index 1");
    let mut checkpoint = receipt.clone();
    checkpoint.proof = checkpoint.proof.replacen("\n1\n", "\n2\n", 1);
    for (name, tampered, check) in [
        ("entry.json", &entry, "entry_signature"),
        ("index.json", &path, "inclusion_proof"),
        ("checkpoint.json", &checkpoint, "checkpoint_signature"),
    ] {
        let out = verify(&write(name, tampered));
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(check), "{name}: {}", stderr(&out));
    }
    // Another log's key: the checkpoint is not signed by it.
    let other = dir.path().join("other.pub");
    std::fs::write(
        &other,
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/keys/test-only/log.pub"
        ))
        .unwrap(),
    )
    .unwrap();
    let out = run(&[
        "verify",
        dir.path().join("good.json").to_str().unwrap(),
        "--key",
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "this is not a receipt").unwrap();
    assert_eq!(verify(&garbage).status.code(), Some(2));
    assert_eq!(
        verify(&dir.path().join("missing.json")).status.code(),
        Some(2)
    );
    let out = run(&[
        "verify",
        dir.path().join("good.json").to_str().unwrap(),
        "--key",
        "not-a-key",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_pure_modules_never_import_http_sql_or_the_runtime() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    // Submodules too (`fingerprint/local/`); data beside the code (`testdata/`) is not code.
    let mut dirs: Vec<_> = ["fingerprint", "licenses", "ledger"]
        .iter()
        .map(|module| root.join(module))
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files
        .iter()
        .any(|p| p.ends_with("fingerprint/local/geometry.rs")));
    for file in ["accounts.rs", "works.rs", "attributions.rs"] {
        files.push(root.join(file));
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Paths, not bare words: a module may name the crates it must not use in its own checks.
        for forbidden in [
            "actix_web",
            "actix_rt",
            "diesel::",
            "tokio::",
            "use actix",
            "use diesel",
            "use tokio",
        ] {
            assert!(
                !text.contains(forbidden),
                "{} uses {forbidden}",
                file.display()
            );
        }
    }
}

#[actix_web::test]
async fn verify_with_media_accepts_the_recorded_file_and_names_any_other() {
    let scene = crate::attributions_api::Scene::new().await;
    let copy = crate::works_api::resized_jpeg_copy("chelsea.png");
    let reply = scene
        .record(crate::attributions_api::USE, Some(&copy))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let dir = tempfile::tempdir().unwrap();
    let receipt = dir.path().join("receipt.json");
    std::fs::write(&receipt, reply.json()["receipt"].to_string()).unwrap();
    let key = dir.path().join("log.pub");
    std::fs::write(&key, scene.app.verifier().as_text()).unwrap();
    let media = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        run(&[
            "verify",
            receipt.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--media",
            path.to_str().unwrap(),
        ])
    };

    let same = media("copy.jpg", &copy);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(String::from_utf8_lossy(&same.stdout).contains("is the media the entry recorded"));
    // The original is the same picture but not the recorded file.
    let original = media("original.png", &crate::works_api::fixture("chelsea.png"));
    assert_eq!(original.status.code(), Some(1), "{}", stderr(&original));
    assert!(
        stderr(&original).contains("SHA-256"),
        "{}",
        stderr(&original)
    );
    // A file that is no image at all cannot be compared: unusable input.
    let garbage = media("notes.txt", b"not an image");
    assert_eq!(garbage.status.code(), Some(2), "{}", stderr(&garbage));
}
