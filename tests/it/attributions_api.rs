//! Attributions over HTTP: recording (from an upload or from fingerprints), licence refusals,
//! matching rules, revocation and disputes, the rights holder's and the "was this attributed?"
//! views, signed requests and their replay, and the publisher's privacy.

use actix_web::test;
use provenance_ledger::accounts::Role;
use provenance_ledger::fingerprint::{self, DecodeLimits};
use provenance_ledger::ledger::{verify_receipt, LogKey, Receipt};
use provenance_ledger::works::owner_commitment;
use serde_json::Value;

use crate::support::{Reply, TestApp};
use crate::works_api::{fixture, resized_jpeg_copy};

const CHELSEA: &[(&str, &str)] = &[
    ("title", "Chelsea the cat"),
    ("creator", "Stefan van der Walt"),
    ("license", "CC-BY-4.0"),
    ("source_url", "https://example.org/chelsea"),
];

pub const USE: &[(&str, &str)] = &[
    ("commercial", "false"),
    ("adaptation", "verbatim"),
    ("medium", "web"),
    ("published_url", "https://news.example/story-1"),
];

/// A registry with one CC BY work, a rights holder and a publisher.
pub struct Scene {
    pub app: TestApp,
    pub owner: String,
    pub publisher: String,
    pub work_id: i64,
}

impl Scene {
    pub async fn new() -> Self {
        let app = TestApp::new().await;
        let owner = app.token("studio", Role::RightsHolder);
        let publisher = app.token("newsroom", Role::Publisher);
        let reply = app.register(&owner, CHELSEA, &fixture("chelsea.png")).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let work_id = reply.json()["work"]["id"].as_i64().unwrap();
        Scene {
            app,
            owner,
            publisher,
            work_id,
        }
    }

    pub async fn record(&self, fields: &[(&str, &str)], image: Option<&[u8]>) -> Reply {
        self.app
            .post_form("/v1/attributions", Some(&self.publisher), fields, image)
            .await
    }

    async fn post_json(&self, uri: &str, token: &str, body: Value) -> Reply {
        self.app
            .call(
                test::TestRequest::post()
                    .uri(uri)
                    .insert_header(("Authorization", format!("Bearer {token}")))
                    .set_json(body),
            )
            .await
    }
}

fn receipt_of(body: &Value) -> Receipt {
    serde_json::from_value(body["receipt"].clone()).expect("receipt")
}

#[actix_web::test]
async fn a_copy_is_attributed_with_its_match_verdict_and_credit_in_one_signed_entry() {
    let scene = Scene::new().await;
    let copy = resized_jpeg_copy("chelsea.png");
    let reply = scene.record(USE, Some(&copy)).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let body = reply.json();
    let attribution = &body["attribution"];
    let id = attribution["id"].as_i64().unwrap();
    assert_eq!(
        body["index"].as_i64().unwrap(),
        id,
        "the id is the entry's index"
    );
    assert_eq!(reply.header("location"), format!("/v1/attributions/{id}"));
    assert_eq!(attribution["work_id"].as_i64().unwrap(), scene.work_id);
    assert_eq!(attribution["state"], "active");
    assert_eq!(attribution["match"]["decision"], "match");
    assert_eq!(attribution["match"]["evidence"], "pdq");
    let credit = attribution["attribution"]["text"].as_str().unwrap();
    assert!(
        credit.contains("Chelsea the cat") && credit.contains("CC BY 4.0"),
        "{credit}"
    );
    assert!(attribution["attribution"]["html"]
        .as_str()
        .unwrap()
        .contains("rel=\"license\""));

    // The receipt verifies offline, and the entry holds the whole record.
    let verified = verify_receipt(&receipt_of(&body), &scene.app.verifier()).unwrap();
    assert_eq!(verified.entry.body.kind.as_str(), "attribution_recorded");
    let data = &verified.entry.body.data;
    assert_eq!(data["work_id"].as_i64().unwrap(), scene.work_id);
    assert_eq!(data["license"], "CC-BY-4.0");
    assert_eq!(
        data["license_contracts"],
        scene.app.service.licenses().content_hash()
    );
    assert_eq!(data["match"]["decision"], "match");
    assert!(data["match"]["distance"].as_u64().unwrap() <= 40);
    assert_eq!(data["use"]["commercial"], false);
    assert_eq!(data["use"]["adaptation"]["kind"], "verbatim");
    assert_eq!(data["attribution"], credit);
    assert_eq!(data["media"]["source"], "upload");
    let expected_sha = fingerprint::fingerprint(&copy, &DecodeLimits::default())
        .unwrap()
        .sha256
        .to_string();
    assert_eq!(data["media"]["sha256"], expected_sha.as_str());
    assert_eq!(data["published_url"], "https://news.example/story-1");
    let obligations: Vec<&str> = data["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert!(obligations.contains(&"attribution"), "{obligations:?}");
    // The publisher is named only by commitment.
    assert_eq!(data["publisher"].as_str().unwrap().len(), 64);
    assert!(!verified.entry.bytes.windows(8).any(|w| w == b"newsroom"));

    // The rights holder sees it, and so does anyone asking about the image or the URL.
    let of_work = scene
        .app
        .get(&format!("/v1/works/{}/attributions", scene.work_id))
        .await
        .json();
    assert_eq!(of_work["attributions"][0]["id"].as_i64().unwrap(), id);
    let by_url = scene
        .app
        .get("/v1/attributions?published_url=https://news.example/story-1")
        .await
        .json();
    assert_eq!(by_url["attributions"].as_array().unwrap().len(), 1);
    let by_sha = scene
        .app
        .get(&format!("/v1/attributions?sha256={expected_sha}"))
        .await
        .json();
    assert_eq!(by_sha["attributions"][0]["id"].as_i64().unwrap(), id);
    // A further copy of the published media is found by image, an unrelated image is not.
    let lookup = scene
        .app
        .post_form("/v1/attributions/lookup", None, &[], Some(&copy))
        .await;
    assert_eq!(lookup.status, 200, "{}", lookup.text());
    assert_eq!(lookup.json()["attributions"][0]["id"].as_i64().unwrap(), id);
    let unrelated = scene
        .app
        .post_form(
            "/v1/attributions/lookup",
            None,
            &[],
            Some(&fixture("coins.png")),
        )
        .await;
    assert_eq!(
        unrelated.json()["attributions"].as_array().unwrap().len(),
        0
    );
}

#[actix_web::test]
async fn a_use_the_licence_forbids_is_refused_with_reasons_and_nothing_is_recorded() {
    let app = TestApp::new().await;
    let owner = app.token("studio", Role::RightsHolder);
    let publisher = app.token("shop", Role::Publisher);
    let fields = [
        ("title", "Coins"),
        ("creator", "A. Numismatist"),
        ("license", "CC-BY-NC-ND-4.0"),
    ];
    assert_eq!(
        app.register(&owner, &fields, &fixture("coins.png"))
            .await
            .status,
        201
    );
    let size = app.log_size().await;
    let reply = app
        .post_form(
            "/v1/attributions",
            Some(&publisher),
            &[("commercial", "true"), ("adaptation", "adapted")],
            Some(&fixture("coins.png")),
        )
        .await;
    let message = reply.assert_error(422, "use_not_allowed");
    assert!(message.contains("commercial"), "{message}");
    let codes: Vec<String> = reply.json()["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        codes.contains(&"commercial_use_prohibited".to_owned()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&"derivatives_prohibited".to_owned()),
        "{codes:?}"
    );
    assert_eq!(app.log_size().await, size);
    assert_eq!(
        app.get("/v1/attributions").await.json()["attributions"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[actix_web::test]
async fn unmatched_media_needs_the_explicit_flag_and_the_entry_says_so() {
    let scene = Scene::new().await;
    let size = scene.app.log_size().await;
    let grass = fixture("grass.png");
    scene
        .record(USE, Some(&grass))
        .await
        .assert_error(422, "no_match");
    let work = scene.work_id.to_string();
    let named = [("work_id", work.as_str())];
    let reply = scene.record(&named, Some(&grass)).await;
    reply.assert_error(422, "not_matching");
    assert_eq!(reply.json()["work_id"].as_i64().unwrap(), scene.work_id);
    scene
        .record(
            &[("work_id", "999"), ("allow_unmatched", "true")],
            Some(&grass),
        )
        .await
        .assert_error(404, "not_found");
    assert_eq!(scene.app.log_size().await, size, "nothing was recorded");

    let reply = scene
        .record(
            &[("work_id", work.as_str()), ("allow_unmatched", "true")],
            Some(&grass),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let entry = verify_receipt(&receipt_of(&reply.json()), &scene.app.verifier()).unwrap();
    assert_eq!(
        entry.entry.body.data["match"]["declared_without_match"],
        true
    );
    assert_eq!(entry.entry.body.data["match"]["decision"], "none");
}

#[actix_web::test]
async fn fingerprints_alone_can_stand_for_a_private_file_and_the_entry_says_so() {
    let scene = Scene::new().await;
    let copy = resized_jpeg_copy("chelsea.png");
    let fp = fingerprint::fingerprint(&copy, &DecodeLimits::default()).unwrap();
    let json = serde_json::to_string(&fp).unwrap();
    let reply = scene.record(&[("fingerprints", json.as_str())], None).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let entry = verify_receipt(&receipt_of(&reply.json()), &scene.app.verifier()).unwrap();
    assert_eq!(entry.entry.body.data["media"]["source"], "fingerprints");
    assert_eq!(
        entry.entry.body.data["media"]["sha256"],
        fp.sha256.to_string().as_str()
    );

    let size = scene.app.log_size().await;
    let mut old = fp.clone();
    old.algorithm = "pl-fp/1".into();
    let old = serde_json::to_string(&old).unwrap();
    scene
        .record(&[("fingerprints", old.as_str())], None)
        .await
        .assert_error(422, "fingerprint_version_mismatch");
    scene
        .record(&[("fingerprints", "{\"pdq\": 1}")], None)
        .await
        .assert_error(400, "invalid_fingerprints");
    scene
        .record(&[("fingerprints", json.as_str())], Some(&copy))
        .await
        .assert_error(400, "ambiguous_media");
    scene
        .record(USE, None)
        .await
        .assert_error(400, "missing_image");
    scene
        .record(&[("commercial", "maybe")], Some(&copy))
        .await
        .assert_error(400, "invalid_field");
    scene
        .record(&[("published_url", "javascript:alert(1)")], Some(&copy))
        .await
        .assert_error(400, "invalid_published_url");
    // Only publishers record attributions.
    scene
        .app
        .post_form("/v1/attributions", Some(&scene.owner), USE, Some(&copy))
        .await
        .assert_error(403, "wrong_role");
    scene
        .app
        .post_form("/v1/attributions", None, USE, Some(&copy))
        .await
        .assert_error(401, "missing_token");
    assert_eq!(scene.app.log_size().await, size);
}

#[actix_web::test]
async fn disputes_and_revocations_are_new_entries_and_change_the_state() {
    let scene = Scene::new().await;
    let reply = scene.record(USE, Some(&fixture("chelsea.png"))).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.json()["attribution"]["id"].as_i64().unwrap();
    let app = &scene.app;
    let other_owner = app.token("someone-else", Role::RightsHolder);
    let other_publisher = app.token("other-paper", Role::Publisher);
    let dispute = format!("/v1/attributions/{id}/dispute");
    let revoke = format!("/v1/attributions/{id}/revoke");

    let size = app.log_size().await;
    scene
        .post_json(
            &dispute,
            &other_owner,
            serde_json::json!({"reason": "mine"}),
        )
        .await
        .assert_error(403, "not_owner");
    scene
        .post_json(&dispute, &scene.owner, serde_json::json!({}))
        .await
        .assert_error(400, "missing_field");
    scene
        .post_json(&revoke, &other_publisher, serde_json::json!({}))
        .await
        .assert_error(403, "not_publisher");
    scene
        .post_json(
            &dispute,
            &scene.publisher,
            serde_json::json!({"reason": "x"}),
        )
        .await
        .assert_error(403, "wrong_role");
    assert_eq!(app.log_size().await, size);

    let disputed = scene
        .post_json(
            &dispute,
            &scene.owner,
            serde_json::json!({"reason": "the credit omits the licence link"}),
        )
        .await;
    assert_eq!(disputed.status, 201, "{}", disputed.text());
    let body = disputed.json();
    assert_eq!(body["attribution"]["state"], "disputed");
    let entry = verify_receipt(&receipt_of(&body), &app.verifier()).unwrap();
    assert_eq!(entry.entry.body.kind.as_str(), "attribution_disputed");
    assert_eq!(
        entry.entry.body.data["attribution_id"].as_i64().unwrap(),
        id
    );
    assert_eq!(
        entry.entry.body.data["reason"],
        "the credit omits the licence link"
    );
    scene
        .post_json(
            &dispute,
            &scene.owner,
            serde_json::json!({"reason": "again"}),
        )
        .await
        .assert_error(409, "already_disputed");

    let revoked = scene
        .post_json(
            &revoke,
            &scene.publisher,
            serde_json::json!({"reason": "story pulled"}),
        )
        .await;
    assert_eq!(revoked.status, 201, "{}", revoked.text());
    let body = revoked.json();
    let entry = verify_receipt(&receipt_of(&body), &app.verifier()).unwrap();
    assert_eq!(entry.entry.body.kind.as_str(), "attribution_revoked");
    // The revocation names the same publisher commitment as the attribution.
    assert_eq!(
        entry.entry.body.data["publisher"],
        body["attribution"]["publisher"]
    );
    let size = app.log_size().await;
    scene
        .post_json(&revoke, &scene.publisher, serde_json::json!({}))
        .await
        .assert_error(409, "already_revoked");
    scene
        .post_json(
            &dispute,
            &scene.owner,
            serde_json::json!({"reason": "late"}),
        )
        .await
        .assert_error(409, "already_revoked");
    assert_eq!(app.log_size().await, size);

    let view = app.get(&format!("/v1/attributions/{id}")).await.json();
    assert_eq!(view["state"], "revoked");
    let kinds: Vec<&str> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "attribution_recorded",
            "attribution_disputed",
            "attribution_revoked"
        ]
    );
    assert_eq!(view["history"][2]["reason"], "story pulled");
    app.get("/v1/attributions/12345")
        .await
        .assert_error(404, "not_found");
    app.get("/v1/works/12345/attributions")
        .await
        .assert_error(404, "not_found");
}

/// The signature-line base64 `key` makes over `text`.
pub fn sign_text(key: &LogKey, text: &str) -> String {
    let note = key.sign_note(text.as_bytes(), &[]).unwrap();
    let note = String::from_utf8(note).unwrap();
    let line = note.lines().last().unwrap();
    line.rsplit(' ').next().unwrap().to_owned()
}

async fn set_key(app: &TestApp, token: &str, key: &LogKey) -> Reply {
    app.call(
        test::TestRequest::put()
            .uri("/v1/accounts/me/key")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(serde_json::json!({"verifier_key": key.verifier().as_text()})),
    )
    .await
}

async fn signed_form(
    app: &TestApp,
    uri: &str,
    token: &str,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
    image: &[u8],
) -> Reply {
    let (content_type, body) = crate::works_api::form(fields, Some(image));
    let mut req = test::TestRequest::post()
        .uri(uri)
        .insert_header(("Content-Type", content_type))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_payload(body);
    for header in headers {
        req = req.insert_header(*header);
    }
    app.call(req).await
}

#[actix_web::test]
async fn a_signed_request_puts_the_accounts_signature_on_the_entry_once() {
    let scene = Scene::new().await;
    let app = &scene.app;
    let key = LogKey::generate("newsroom.example").unwrap();
    let image = fixture("chelsea.png");
    let uri = "/v1/attributions";

    // Preparing needs a registered key.
    signed_form(
        app,
        uri,
        &scene.publisher,
        &[("Provenance-Prepare", "true")],
        USE,
        &image,
    )
    .await
    .assert_error(409, "no_key_registered");
    let me = set_key(app, &scene.publisher, &key).await;
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json()["verifier_key"], key.verifier().as_text());
    let me = app
        .call(
            test::TestRequest::get()
                .uri("/v1/accounts/me")
                .insert_header(("Authorization", format!("Bearer {}", scene.publisher))),
        )
        .await
        .json();
    assert_eq!(me["name"], "newsroom");
    assert_eq!(me["role"], "publisher");

    let size = app.log_size().await;
    let prepared = signed_form(
        app,
        uri,
        &scene.publisher,
        &[("Provenance-Prepare", "true")],
        USE,
        &image,
    )
    .await;
    assert_eq!(prepared.status, 200, "{}", prepared.text());
    assert_eq!(app.log_size().await, size, "preparing appends nothing");
    let prepared = prepared.json();
    let note = prepared["note"].as_str().unwrap();
    assert!(note.contains("\"actor_key\""), "{note}");
    let issued_at = prepared["issued_at"].as_str().unwrap();
    let salt = prepared["salt"].as_str().unwrap();

    // A signature by another key, or over other text, is refused and changes nothing.
    let stranger = LogKey::generate("newsroom.example").unwrap();
    for bad in [
        sign_text(&stranger, note),
        sign_text(&key, &note.replace("web", "print")),
    ] {
        signed_form(
            app,
            uri,
            &scene.publisher,
            &[
                ("Provenance-Issued-At", issued_at),
                ("Provenance-Salt", salt),
                ("Provenance-Signature", bad.as_str()),
            ],
            USE,
            &image,
        )
        .await
        .assert_error(401, "bad_signature");
    }
    assert_eq!(app.log_size().await, size);

    let signature = sign_text(&key, note);
    let headers = [
        ("Provenance-Issued-At", issued_at),
        ("Provenance-Salt", salt),
        ("Provenance-Signature", signature.as_str()),
    ];
    let reply = signed_form(app, uri, &scene.publisher, &headers, USE, &image).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let verified = verify_receipt(&receipt_of(&reply.json()), &app.verifier()).unwrap();
    assert!(
        verified.entry.bytes.starts_with(note.as_bytes()),
        "the signed text is the entry's"
    );
    let actor = verified.entry.check_actor_signature().unwrap().unwrap();
    assert_eq!(actor.as_text(), key.verifier().as_text());
    // Any changed byte of the receipt, the actor's signature included, fails verification.
    let receipt = receipt_of(&reply.json());
    let check = |r: &Receipt| {
        verify_receipt(r, &app.verifier())
            .map_err(|e| e.to_string())
            .and_then(|v| v.entry.check_actor_signature().map_err(|e| e.to_string()))
    };
    for field in 0..2 {
        let text = if field == 0 {
            &receipt.entry
        } else {
            &receipt.proof
        };
        for i in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[i] ^= 0x01;
            let Ok(changed) = String::from_utf8(bytes) else {
                continue;
            };
            let mut tampered = receipt.clone();
            if field == 0 {
                tampered.entry = changed;
            } else {
                tampered.proof = changed;
            }
            assert!(
                check(&tampered).is_err(),
                "byte {i} of field {field} changed unnoticed"
            );
        }
    }

    // The same signed request again is a replay.
    let size = app.log_size().await;
    signed_form(app, uri, &scene.publisher, &headers, USE, &image)
        .await
        .assert_error(409, "replayed_request");
    // An old time is refused before anything is signed.
    signed_form(
        app,
        uri,
        &scene.publisher,
        &[
            ("Provenance-Issued-At", "2020-01-01T00:00:00Z"),
            ("Provenance-Salt", salt),
            ("Provenance-Signature", signature.as_str()),
        ],
        USE,
        &image,
    )
    .await
    .assert_error(401, "stale_signed_request");
    assert_eq!(app.log_size().await, size);
}

#[actix_web::test]
async fn a_rights_holder_can_sign_a_registration_too() {
    let app = TestApp::new().await;
    let owner = app.token("studio", Role::RightsHolder);
    let key = LogKey::generate("studio.example").unwrap();
    assert_eq!(set_key(&app, &owner, &key).await.status, 200);
    let image = fixture("camera.png");
    let fields = [
        ("title", "Cameraman"),
        ("creator", "Unknown"),
        ("license", "CC-BY-SA-4.0"),
    ];
    let prepared = signed_form(
        &app,
        "/v1/works",
        &owner,
        &[("Provenance-Prepare", "true")],
        &fields,
        &image,
    )
    .await
    .json();
    let note = prepared["note"].as_str().unwrap();
    let signature = sign_text(&key, note);
    let reply = signed_form(
        &app,
        "/v1/works",
        &owner,
        &[
            (
                "Provenance-Issued-At",
                prepared["issued_at"].as_str().unwrap(),
            ),
            ("Provenance-Salt", prepared["salt"].as_str().unwrap()),
            ("Provenance-Signature", signature.as_str()),
        ],
        &fields,
        &image,
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let verified = verify_receipt(&receipt_of(&reply.json()), &app.verifier()).unwrap();
    assert_eq!(verified.entry.body.kind.as_str(), "work_registered");
    assert!(verified.entry.check_actor_signature().unwrap().is_some());
    let bad_key = app
        .call(
            test::TestRequest::put()
                .uri("/v1/accounts/me/key")
                .insert_header(("Authorization", format!("Bearer {owner}")))
                .set_json(serde_json::json!({"verifier_key": "not a key"})),
        )
        .await;
    bad_key.assert_error(400, "invalid_key");
}

#[actix_web::test]
async fn an_operator_can_open_a_commitment_until_the_publisher_is_erased() {
    let scene = Scene::new().await;
    let app = &scene.app;
    let operator = app.token("ops", Role::Operator);
    let reply = scene.record(USE, Some(&fixture("chelsea.png"))).await;
    let body = reply.json();
    let id = body["attribution"]["id"].as_i64().unwrap();
    let receipt = receipt_of(&body);
    let disclosure_uri = format!("/v1/attributions/{id}/disclosure");

    scene
        .post_json(&disclosure_uri, &scene.owner, serde_json::json!({}))
        .await
        .assert_error(403, "wrong_role");
    let opened = scene
        .post_json(&disclosure_uri, &operator, serde_json::json!({}))
        .await;
    assert_eq!(opened.status, 200, "{}", opened.text());
    let opened = opened.json();
    assert_eq!(opened["publisher"], "newsroom");
    let salt = hex::decode(opened["salt"].as_str().unwrap()).unwrap();
    assert_eq!(
        owner_commitment(&salt, "newsroom"),
        opened["commitment"].as_str().unwrap(),
        "the disclosure opens the commitment in the log"
    );
    assert_eq!(opened["commitment"], body["attribution"]["publisher"]);

    let erase = app
        .call(
            test::TestRequest::delete()
                .uri("/v1/accounts/newsroom/personal-data")
                .insert_header(("Authorization", format!("Bearer {operator}"))),
        )
        .await;
    assert_eq!(erase.status, 200, "{}", erase.text());
    assert_eq!(erase.json()["commitments_erased"], 1);
    scene
        .post_json(&disclosure_uri, &operator, serde_json::json!({}))
        .await
        .assert_error(410, "erased");
    // The erased publisher's token no longer works; the log and its proofs are untouched.
    tokio::time::sleep(provenance_ledger::service::TOKEN_CACHE_TTL).await;
    scene
        .record(USE, Some(&fixture("chelsea.png")))
        .await
        .assert_error(401, "invalid_token");
    verify_receipt(&receipt, &app.verifier()).expect("the old receipt still verifies");
    let reissued = app.get(&format!("/v1/log/receipts/{id}")).await;
    let reissued: Receipt = serde_json::from_value(reissued.json()).unwrap();
    assert_eq!(reissued.entry, receipt.entry);
    verify_receipt(&reissued, &app.verifier()).unwrap();
    assert_eq!(app.get(&format!("/v1/attributions/{id}")).await.status, 200);
}

#[actix_web::test]
async fn two_nodes_revoking_at_once_log_one_revocation() {
    let scene = Scene::new().await;
    let reply = scene.record(USE, Some(&fixture("chelsea.png"))).await;
    let id = reply.json()["attribution"]["id"].as_i64().unwrap();
    let other_node = scene.app.second_node().await;
    let uri = format!("/v1/attributions/{id}/revoke");
    let request = || {
        test::TestRequest::post()
            .uri(&uri)
            .insert_header(("Authorization", format!("Bearer {}", scene.publisher)))
            .set_json(serde_json::json!({}))
    };
    let (a, b) = tokio::join!(scene.app.call(request()), other_node.call(request()));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text(), b.text());
    // The history is read from the database, which both nodes write: one revocation.
    let view = scene
        .app
        .get(&format!("/v1/attributions/{id}"))
        .await
        .json();
    assert_eq!(view["history"].as_array().unwrap().len(), 2);
}
