//! Known-answer tests against vectors we did not compute ourselves (see `contracts/rfc6962/`
//! and `contracts/signed-note/` for their sources).

use std::path::PathBuf;

use base64::prelude::{Engine, BASE64_STANDARD};
use serde_json::Value;
use signed_note::Signer;

use super::receipt::audit_path_holds;
use super::*;

fn load(path: &str) -> Value {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_str(&text).unwrap()
}

fn hash_hex(v: &Value) -> Hash {
    Hash(
        hex::decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    )
}

fn hashes_hex(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash_hex).collect()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

fn check_merkle_vectors(path: &str) {
    let vectors = load(path);
    let leaves: Vec<Vec<u8>> = vectors["leaves_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex::decode(l.as_str().unwrap()).unwrap())
        .collect();
    if let Some(expected) = vectors.get("leaf_hashes_hex") {
        for (leaf, want) in leaves.iter().zip(hashes_hex(expected)) {
            assert_eq!(leaf_hash(leaf), want);
        }
    }
    let store = MemoryHashes::build(&leaves);
    for root in vectors["roots"].as_array().unwrap() {
        let size = u(&root["size"]);
        assert_eq!(
            tree_root(size, &store).unwrap(),
            hash_hex(&root["root_hex"]),
            "{path}: root at {size}"
        );
    }
    for case in vectors["inclusion"].as_array().unwrap() {
        let (size, index) = (u(&case["size"]), u(&case["index"]));
        let want = hashes_hex(&case["path_hex"]);
        assert_eq!(
            prove_inclusion(index, size, &store).unwrap(),
            want,
            "{path}: inclusion {index} in {size}"
        );
        let root = tree_root(size, &store).unwrap();
        let leaf = leaf_hash(&leaves[index as usize]);
        assert!(
            audit_path_holds(&want, index, size, leaf, root),
            "{path}: rs_merkle rejects {index}/{size}"
        );
    }
    for case in vectors["consistency"].as_array().unwrap() {
        let (old, new) = (u(&case["old"]), u(&case["new"]));
        let want = hashes_hex(&case["proof_hex"]);
        assert_eq!(
            prove_consistency(old, new, &store).unwrap(),
            want,
            "{path}: consistency {old} -> {new}"
        );
        let (old_root, new_root) = (
            tree_root(old, &store).unwrap(),
            tree_root(new, &store).unwrap(),
        );
        verify_consistency(&want, old, old_root, new, new_root).unwrap();
    }
}

#[test]
fn merkle_trees_match_the_published_transparency_dev_vectors() {
    check_merkle_vectors("contracts/rfc6962/published-transparency-dev-merkle.json");
}

#[test]
fn merkle_trees_match_go_sumdb_tlog_on_the_8_leaf_test_data() {
    check_merkle_vectors("contracts/rfc6962/rfc6962-8leaf.json");
}

#[test]
fn merkle_trees_match_go_sumdb_tlog_up_to_1025_leaves() {
    check_merkle_vectors("contracts/rfc6962/rfc6962-decimal-leaves.json");
}

fn signature_b64(key: &LogKey, text: &[u8]) -> String {
    let mut bytes = key.key_id().to_be_bytes().to_vec();
    bytes.extend(key.sign(text).unwrap());
    BASE64_STANDARD.encode(bytes)
}

#[test]
fn keys_and_signatures_match_go_sumdb_note_byte_for_byte() {
    for file in [
        "contracts/signed-note/published-go-sumdb-note.json",
        "contracts/signed-note/generated-ledger-notes.json",
    ] {
        let vectors = load(file);
        let mut keys = Vec::new();
        for k in vectors["keys"].as_array().unwrap() {
            let verifier = LogVerifier::from_text(k["verifier_key"].as_str().unwrap()).unwrap();
            assert_eq!(verifier.name(), k["name"]);
            if let Some(private) = k["private_key_text"].as_str() {
                let key = LogKey::from_private_text(private).unwrap();
                assert_eq!(key.verifier().as_text(), verifier.as_text(), "{file}");
                assert_eq!(
                    format!("{:08x}", key.key_id()),
                    k["key_id_hex"].as_str().unwrap()
                );
                keys.push(key);
            }
        }
        for note in vectors["notes"].as_array().unwrap() {
            let text = note["text"].as_str().unwrap().as_bytes();
            for sig in note["signatures"].as_array().unwrap() {
                let Some(key) = keys
                    .iter()
                    .find(|k| format!("{:08x}", k.key_id()) == sig["key_id_hex"].as_str().unwrap())
                else {
                    continue;
                };
                assert_eq!(
                    signature_b64(key, text),
                    sig["base64"].as_str().unwrap(),
                    "{file}"
                );
            }
            if let (Some(signed), [only]) = (
                note["signed_note"].as_str(),
                note["signatures"].as_array().unwrap().as_slice(),
            ) {
                if let Some(key) = keys
                    .iter()
                    .find(|k| format!("{:08x}", k.key_id()) == only["key_id_hex"].as_str().unwrap())
                {
                    assert_eq!(
                        key.sign_note(text, &[]).unwrap(),
                        signed.as_bytes(),
                        "{file}"
                    );
                }
            }
        }
        for case in vectors
            .get("open")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let verifier =
                LogVerifier::from_text(case["verifier_keys"][0].as_str().unwrap()).unwrap();
            let opened = verifier.open(case["message"].as_str().unwrap().as_bytes());
            assert_eq!(
                opened.is_ok(),
                case["valid"].as_bool().unwrap(),
                "{file}: {}",
                case["description"]
            );
        }
        for bad in vectors
            .get("invalid_verifier_keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(
                LogVerifier::from_text(bad["verifier_key"].as_str().unwrap()).is_err(),
                "{}",
                bad["why"]
            );
        }
    }
}
