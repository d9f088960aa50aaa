//! The log over HTTP: appends, receipts, proofs, tiles, and every kind of bad request.

use actix_web::test::TestRequest;
use base64::prelude::{Engine, BASE64_STANDARD};
use provenance_ledger::accounts::Role;
use provenance_ledger::ledger::{
    leaf_hash, verify_consistency, verify_inclusion, verify_receipt, Hash, Receipt,
    SignedCheckpoint,
};
use serde_json::Value;

use crate::support::TestApp;

fn hash(v: &Value) -> Hash {
    let bytes = BASE64_STANDARD.decode(v.as_str().unwrap()).unwrap();
    Hash(bytes.try_into().unwrap())
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

/// Appends `n` notes with distinct texts (identical notes in the same second would be
/// identical entries, which the log allows but which make lookups by leaf hash ambiguous).
async fn append_many(app: &TestApp, token: &str, n: usize) -> Vec<Value> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut out = Vec::new();
    // Batches of concurrent requests, so rounds really group several entries.
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let replies = futures_util::future::join_all(chunk.iter().map(|_| {
            let i = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            app.append_note(token, format!("note {i}"))
        }))
        .await;
        for reply in replies {
            assert_eq!(reply.status, 201, "{}", reply.text());
            out.push(reply.json());
        }
    }
    out
}

/// Every appended entry is found by its leaf hash, at its index.
async fn assert_found_by_leaf_hash(app: &TestApp, appended: &[Value]) {
    for reply in appended {
        let entry = reply["receipt"]["entry"].as_str().unwrap();
        let leaf = BASE64_STANDARD.encode(leaf_hash(entry.as_bytes()).0);
        let proof = app
            .get(&format!(
                "/v1/log/proof/inclusion?leaf_hash={}",
                urlencode(&leaf)
            ))
            .await;
        assert_eq!(proof.status, 200, "{}", proof.text());
        assert_eq!(proof.json()["index"], reply["index"]);
    }
}

#[actix_web::test]
async fn entries_are_found_by_leaf_hash_before_and_after_the_leaf_index_takes_them() {
    let app = TestApp::new().await;
    let token = app.token("ops", Role::Operator);
    let appended = append_many(&app, &token, 30).await;
    assert_found_by_leaf_hash(&app, &appended).await;
    // Part of the log in the index, the rest found by scanning; then all of it indexed.
    assert!(app.store.index_leaves(10).unwrap() <= 10);
    assert_found_by_leaf_hash(&app, &appended).await;
    app.store.index_leaves(1_000).unwrap();
    assert_eq!(
        app.store.index_leaves(1_000).unwrap(),
        0,
        "nothing left to index"
    );
    assert_found_by_leaf_hash(&app, &appended).await;
    let more = append_many(&app, &token, 5).await;
    assert_found_by_leaf_hash(&app, &more).await;
    // The sequencer may have indexed some of them between its rounds.
    assert!(app.store.index_leaves(1_000).unwrap() <= 5);
    assert_eq!(app.store.index_leaves(1_000).unwrap(), 0);
    assert_found_by_leaf_hash(&app, &more).await;
}

#[actix_web::test]
async fn an_appended_entry_comes_back_with_a_receipt_that_verifies_offline() {
    let app = TestApp::new().await;
    let token = app.token("ops", Role::Operator);
    let reply = app.append_note(&token, "first note").await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.header("location"), "/v1/log/receipts/0");
    let body = reply.json();
    assert_eq!(body["index"], 0);
    let receipt: Receipt = serde_json::from_value(body["receipt"].clone()).unwrap();
    let verified = verify_receipt(&receipt, &app.verifier()).unwrap();
    assert_eq!(verified.index, 0);
    assert_eq!(verified.entry.body.data["text"], "first note");
    assert_eq!(verified.entry.body.data["operator"], "ops");

    // Later entries do not invalidate it, and a re-issued receipt proves it in the bigger tree.
    append_many(&app, &token, 10).await;
    verify_receipt(&receipt, &app.verifier()).unwrap();
    let reissued: Receipt =
        serde_json::from_value(app.get("/v1/log/receipts/0").await.json()).unwrap();
    let verified = verify_receipt(&reissued, &app.verifier()).unwrap();
    assert_eq!(verified.checkpoint.checkpoint.size, 11);
    assert_eq!(reissued.entry, receipt.entry);
}

#[actix_web::test]
async fn concurrent_appends_share_rounds_and_get_distinct_indexes() {
    let app = TestApp::with_batch(4096).await;
    let token = app.token("ops", Role::Operator);
    let receipts = append_many(&app, &token, 200).await;
    let mut indexes: Vec<u64> = receipts
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..200).collect::<Vec<_>>());
    let metrics = app.get("/metrics").await.text();
    let rounds: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("provenance_sequencing_rounds_total "))
        .expect("rounds metric")
        .parse()
        .unwrap();
    assert!(rounds < 200.0, "200 appends took {rounds} rounds");
    assert!(metrics.contains("provenance_log_size 200"));
}

#[actix_web::test]
async fn inclusion_and_consistency_proofs_verify_between_every_pair_of_checkpoints() {
    let app = TestApp::new().await;
    let token = app.token("ops", Role::Operator);
    let mut sizes = vec![0u64];
    for round in 0..6 {
        append_many(&app, &token, 1 + round * 3).await;
        let (head, _) = app.service.checkpoint().await.unwrap();
        sizes.push(head.size);
    }
    let verifier = app.verifier();
    let checkpoints: Vec<Value> = app
        .get("/v1/log/checkpoints?limit=1000")
        .await
        .json()
        .as_array()
        .unwrap()
        .clone();
    let signed: Vec<u64> = checkpoints
        .iter()
        .map(|c| c["tree_size"].as_u64().unwrap())
        .collect();
    for size in &sizes {
        assert!(signed.contains(size), "no checkpoint at {size}");
    }
    for &new in &signed {
        let latest = &signed[0];
        assert!(new <= *latest);
        for index in 0..new {
            let proof = app
                .get(&format!(
                    "/v1/log/proof/inclusion?index={index}&tree_size={new}"
                ))
                .await
                .json();
            let cp =
                SignedCheckpoint::open(proof["checkpoint"].as_str().unwrap(), &verifier).unwrap();
            assert_eq!(cp.checkpoint.size, new);
            verify_inclusion(
                &hashes(&proof["audit_path"]),
                new,
                cp.checkpoint.root,
                index,
                hash(&proof["leaf_hash"]),
            )
            .unwrap();
            let entry = app.get(&format!("/v1/log/entries/{index}")).await.json();
            assert_eq!(
                leaf_hash(entry["entry"].as_str().unwrap().as_bytes()),
                hash(&entry["leaf_hash"])
            );
            let by_leaf = app
                .get(&format!(
                    "/v1/log/proof/inclusion?leaf_hash={}&tree_size={new}",
                    urlencode(entry["leaf_hash"].as_str().unwrap())
                ))
                .await
                .json();
            assert_eq!(by_leaf["index"], index);
        }
        for &old in &signed {
            if old > new {
                continue;
            }
            let proof = app
                .get(&format!(
                    "/v1/log/proof/consistency?old_size={old}&new_size={new}"
                ))
                .await
                .json();
            let old_cp =
                SignedCheckpoint::open(proof["old_checkpoint"].as_str().unwrap(), &verifier)
                    .unwrap();
            let new_cp =
                SignedCheckpoint::open(proof["checkpoint"].as_str().unwrap(), &verifier).unwrap();
            verify_consistency(
                &hashes(&proof["proof"]),
                old,
                old_cp.checkpoint.root,
                new,
                new_cp.checkpoint.root,
            )
            .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
        }
    }
}

fn urlencode(b64: &str) -> String {
    b64.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[actix_web::test]
async fn tiles_and_entry_bundles_rebuild_the_checkpointed_root() {
    let app = TestApp::with_batch(4096).await;
    let token = app.token("ops", Role::Operator);
    append_many(&app, &token, 300).await;
    let checkpoint_text = app.get("/log/checkpoint").await;
    assert_eq!(
        checkpoint_text.header("content-type"),
        "text/plain; charset=utf-8"
    );
    let cp = SignedCheckpoint::open(&checkpoint_text.text(), &app.verifier()).unwrap();
    assert_eq!(cp.checkpoint.size, 300);

    let full = app.get("/log/tile/0/000").await;
    assert_eq!(full.status, 200);
    assert_eq!(full.body.len(), 256 * 32);
    assert!(full.header("cache-control").contains("immutable"));
    let partial = app.get("/log/tile/0/001.p/44").await;
    assert_eq!(partial.body.len(), 44 * 32);
    assert!(!partial.header("cache-control").contains("immutable"));
    let level1 = app.get("/log/tile/1/000.p/1").await;
    assert_eq!(level1.body, tlog_subtree(&full.body).0.to_vec());

    // The root from the tiles: the full level-0 tile's subtree, then the partial tile's leaves.
    let mut leaves: Vec<Hash> = full
        .body
        .chunks(32)
        .chain(partial.body.chunks(32))
        .map(|c| Hash(c.try_into().unwrap()))
        .collect();
    assert_eq!(merkle_root(&mut leaves), cp.checkpoint.root);

    let bundle = app.get("/log/tile/entries/000").await;
    let entries = split_bundle(&bundle.body);
    assert_eq!(entries.len(), 256);
    for (entry, tile_hash) in entries.iter().zip(full.body.chunks(32)) {
        assert_eq!(leaf_hash(entry).0.as_slice(), tile_hash);
    }
    assert_eq!(
        split_bundle(&app.get("/log/tile/entries/001.p/44").await.body).len(),
        44
    );

    // Beyond the tree: not found; malformed: not found with a JSON error.
    app.get("/log/tile/0/001")
        .await
        .assert_error(404, "not_found");
    app.get("/log/tile/0/001.p/45")
        .await
        .assert_error(404, "not_found");
    app.get("/log/tile/entries/002.p/1")
        .await
        .assert_error(404, "not_found");
    for bad in [
        "/log/tile/0/1",
        "/log/tile/0/000.p/0",
        "/log/tile/0/000.p/256",
        "/log/tile/x/000",
        "/log/tile/0/x000/001",
        "/log/tile/64/000",
        "/log/tile/0/999999999999999999999999",
    ] {
        app.get(bad).await.assert_error(404, "invalid_tile_path");
    }
}

fn tlog_subtree(data: &[u8]) -> Hash {
    let mut leaves: Vec<Hash> = data
        .chunks(32)
        .map(|c| Hash(c.try_into().unwrap()))
        .collect();
    merkle_root(&mut leaves)
}

/// RFC 9162 MTH over already-hashed leaves.
fn merkle_root(nodes: &mut [Hash]) -> Hash {
    use sha2::{Digest, Sha256};
    if nodes.len() == 1 {
        return nodes[0];
    }
    let mut k = 1;
    while k * 2 < nodes.len() {
        k *= 2;
    }
    let (left, right) = nodes.split_at_mut(k);
    let (l, r) = (merkle_root(left), merkle_root(right));
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l.0);
    h.update(r.0);
    Hash(h.finalize().into())
}

fn split_bundle(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
        out.push(bytes[2..2 + len].to_vec());
        bytes = &bytes[2 + len..];
    }
    out
}

#[actix_web::test]
async fn bad_requests_get_a_json_4xx_naming_the_problem() {
    let app = TestApp::new().await;
    let token = app.token("ops", Role::Operator);
    // One at a time, then two together: sizes 1 and 3 are signed, 2 may not be.
    append_many(&app, &token, 1).await;
    append_many(&app, &token, 2).await;
    let cases: &[(&str, u16, &str)] = &[
        ("/v1/log/entries/3", 404, "not_found"),
        ("/v1/log/entries/abc", 400, "invalid_path"),
        ("/v1/log/entries/-1", 400, "invalid_path"),
        (
            "/v1/log/entries/99999999999999999999999",
            400,
            "invalid_path",
        ),
        ("/v1/log/receipts/7", 404, "not_found"),
        (
            "/v1/log/proof/inclusion?index=0&tree_size=9",
            400,
            "tree_size_beyond_log",
        ),
        ("/v1/log/proof/inclusion?index=5", 400, "index_beyond_tree"),
        ("/v1/log/proof/inclusion?index=x", 400, "invalid_query"),
        (
            "/v1/log/proof/inclusion?index=184467440737095516160",
            400,
            "invalid_query",
        ),
        ("/v1/log/proof/inclusion", 400, "invalid_query"),
        (
            "/v1/log/proof/inclusion?index=0&leaf_hash=AAAA",
            400,
            "invalid_query",
        ),
        ("/v1/log/proof/inclusion?leaf_hash=%%%", 400, "invalid_hash"),
        (
            "/v1/log/proof/inclusion?leaf_hash=not*base64",
            400,
            "invalid_hash",
        ),
        (
            "/v1/log/proof/inclusion?leaf_hash=AAAA",
            400,
            "invalid_hash",
        ),
        (
            "/v1/log/proof/inclusion?index=0&bogus=1",
            400,
            "invalid_query",
        ),
        (
            "/v1/log/proof/consistency?old_size=3&new_size=1",
            400,
            "sizes_out_of_order",
        ),
        (
            "/v1/log/proof/consistency?old_size=1&new_size=99",
            400,
            "tree_size_beyond_log",
        ),
        ("/v1/log/proof/consistency?old_size=1", 400, "invalid_query"),
        ("/v1/log/checkpoints?limit=999999", 400, "invalid_query"),
        ("/v1/nothing/here", 404, "not_found"),
    ];
    for (uri, status, code) in cases {
        let reply = app.get(uri).await;
        assert_eq!(reply.status, *status, "{uri}: {}", reply.text());
        assert_eq!(reply.json()["error"], *code, "{uri}: {}", reply.text());
    }
    // A size inside the tree at which no round ended has no checkpoint to prove against.
    let signed: Vec<u64> = app
        .get("/v1/log/checkpoints")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tree_size"].as_u64().unwrap())
        .collect();
    if let Some(unsigned) = (1..3).find(|s| !signed.contains(s)) {
        app.get(&format!(
            "/v1/log/proof/inclusion?index=0&tree_size={unsigned}"
        ))
        .await
        .assert_error(400, "no_checkpoint_at_size");
    }
    let leaf = BASE64_STANDARD.encode([0u8; 32]);
    app.get(&format!(
        "/v1/log/proof/inclusion?leaf_hash={}",
        urlencode(&leaf)
    ))
    .await
    .assert_error(404, "not_found");

    let post = |body: &'static [u8], content_type: &'static str| {
        TestRequest::post()
            .uri("/v1/log/entries")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("Content-Type", content_type))
            .set_payload(body)
    };
    app.call(post(b"{\"text\": \"trunc", "application/json"))
        .await
        .assert_error(400, "invalid_json");
    app.call(post(b"[]", "application/json"))
        .await
        .assert_error(400, "invalid_json");
    app.call(post(b"{\"txt\": \"x\"}", "application/json"))
        .await
        .assert_error(400, "invalid_json");
    app.call(post(b"{\"text\": \"x\"}", "text/plain"))
        .await
        .assert_error(400, "invalid_json");
    let huge = serde_json::json!({"text": "x".repeat(70_000)});
    app.call(
        TestRequest::post()
            .uri("/v1/log/entries")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(huge),
    )
    .await
    .assert_error(413, "entry_too_large");

    // Nothing above reached the log.
    let (head, _) = app.service.checkpoint().await.unwrap();
    assert_eq!(head.size, 3);
}

#[actix_web::test]
async fn appending_needs_an_operator_token() {
    let app = TestApp::new().await;
    let publisher = app.token("pub", Role::Publisher);
    let anonymous = TestRequest::post()
        .uri("/v1/log/entries")
        .set_json(serde_json::json!({"text": "x"}));
    app.call(anonymous).await.assert_error(401, "missing_token");
    app.append_note("plt_not-a-real-token", "x")
        .await
        .assert_error(401, "invalid_token");
    app.append_note(&publisher, "x")
        .await
        .assert_error(403, "wrong_role");
    let operator = app.token("ops", Role::Operator);
    assert!(
        app.service.create_account("ops", Role::Operator).is_err(),
        "names are unique"
    );
    app.store.revoke_account("ops").unwrap();
    app.append_note(&operator, "x")
        .await
        .assert_error(401, "invalid_token");
    let (head, _) = app.service.checkpoint().await.unwrap();
    assert_eq!(head.size, 0);
}

#[actix_web::test]
async fn the_key_and_checkpoint_endpoints_serve_the_c2sp_texts() {
    let app = TestApp::new().await;
    let key = app.get("/log/key").await.text();
    assert_eq!(key.trim(), app.verifier().as_text());
    assert!(key.starts_with("test.example/provenance+"));
    let checkpoint = app.get("/log/checkpoint").await;
    assert_eq!(checkpoint.header("cache-control"), "no-cache");
    let text = checkpoint.text();
    assert!(text.starts_with("test.example/provenance\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— test.example/provenance "), "{text}");
    assert_eq!(app.get("/healthz").await.json()["status"], "ok");
}

#[actix_web::test]
async fn a_database_bound_to_one_key_refuses_another() {
    let app = TestApp::new().await;
    let other = provenance_ledger::ledger::LogKey::generate("test.example/provenance").unwrap();
    let err = app.store.init_log(&other).unwrap_err().to_string();
    assert!(err.contains("belongs to log"), "{err}");
}

#[actix_web::test]
async fn a_tampered_store_stops_the_log_instead_of_signing_a_fork() {
    let app = TestApp::new().await;
    let token = app.token("ops", Role::Operator);
    append_many(&app, &token, 5).await;
    let before = app.get("/log/checkpoint").await.text();
    // Rewrite history under the service: the head's root no longer matches the stored tree.
    app.db.execute(
        "UPDATE log_head SET root_hash = (SELECT hash FROM log_hashes WHERE hash_index = 0)",
    );
    app.append_note(&token, "after tampering")
        .await
        .assert_error(500, "internal_error");
    // Nothing new was signed: the published checkpoint is still the last honest one.
    let after = app.get("/v1/log/checkpoints").await.json();
    assert_eq!(after[0]["tree_size"], 5);
    let cp = app.service.checkpoint().await.unwrap().1;
    assert_eq!(&*cp, before.as_str());
}

#[actix_web::test]
async fn a_revoked_token_stops_working_within_the_token_cache_time() {
    let app = TestApp::new().await;
    let operator = app.token("ops", Role::Operator);
    assert_eq!(app.append_note(&operator, "before").await.status, 201);
    app.store.revoke_account("ops").unwrap();
    tokio::time::sleep(
        provenance_ledger::service::TOKEN_CACHE_TTL + std::time::Duration::from_millis(100),
    )
    .await;
    app.append_note(&operator, "after")
        .await
        .assert_error(401, "invalid_token");
}
