//! The works registry and image checks over HTTP: register, fetch, list, conflicts, ownership,
//! licence and preference changes, and every way an upload can be wrong.

use std::io::Cursor;

use actix_web::test;
use provenance_ledger::accounts::Role;
use provenance_ledger::api::upload;
use provenance_ledger::ledger::{verify_receipt, Receipt};
use serde_json::Value;

use crate::support::{TestApp, ORIGIN};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contracts/pdq-fixtures");

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
}

/// A copy as an uploader would make it: shrunk to 60% and saved as a JPEG.
pub fn resized_jpeg_copy(name: &str) -> Vec<u8> {
    let original = image::load_from_memory(&fixture(name)).expect("fixture decodes");
    let copy = original.resize(
        original.width() * 3 / 5,
        original.height() * 3 / 5,
        image::imageops::FilterType::Triangle,
    );
    let mut out = Cursor::new(Vec::new());
    copy.to_rgb8()
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode JPEG");
    out.into_inner()
}

/// A partial copy: the part of the fixture between the fractions `left..right` and
/// `top..bottom` of its sides, enlarged back to the original size and saved as a JPEG.
pub fn cropped_jpeg_copy(name: &str, region: [f32; 4]) -> Vec<u8> {
    let original = image::load_from_memory(&fixture(name)).expect("fixture decodes");
    crop_to_jpeg(&original, region)
}

fn crop_to_jpeg(original: &image::DynamicImage, [left, top, right, bottom]: [f32; 4]) -> Vec<u8> {
    let (w, h) = (original.width() as f32, original.height() as f32);
    let part = original.crop_imm(
        (left * w) as u32,
        (top * h) as u32,
        ((right - left) * w) as u32,
        ((bottom - top) * h) as u32,
    );
    let copy = part.resize_exact(
        original.width(),
        original.height(),
        image::imageops::FilterType::Triangle,
    );
    let mut out = Cursor::new(Vec::new());
    copy.to_rgb8()
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode JPEG");
    out.into_inner()
}

pub fn form(fields: &[(&str, &str)], image: Option<&[u8]>) -> (String, Vec<u8>) {
    match image {
        Some(image) => upload::encode(fields.iter().copied(), "upload.bin", image),
        None => {
            // A form without the image part.
            let (content_type, body) = upload::encode(fields.iter().copied(), "x", b"");
            let boundary = content_type.split("boundary=").nth(1).unwrap().to_owned();
            let text = String::from_utf8_lossy(&body).into_owned();
            let cut = text
                .find("Content-Disposition: form-data; name=\"image\"")
                .unwrap();
            let head = &text[..cut - boundary.len() - 4];
            (
                content_type,
                format!("{head}--{boundary}--\r\n").into_bytes(),
            )
        }
    }
}

const WORK: &[(&str, &str)] = &[
    ("title", "Chelsea the cat"),
    ("creator", "Stefan van der Walt"),
    ("license", "CC-BY-4.0"),
    ("source_url", "https://example.org/chelsea"),
];

impl TestApp {
    pub async fn register(
        &self,
        token: &str,
        fields: &[(&str, &str)],
        image: &[u8],
    ) -> crate::support::Reply {
        self.post_form("/v1/works", Some(token), fields, Some(image))
            .await
    }

    pub async fn post_form(
        &self,
        uri: &str,
        token: Option<&str>,
        fields: &[(&str, &str)],
        image: Option<&[u8]>,
    ) -> crate::support::Reply {
        let (content_type, body) = form(fields, image);
        let mut req = test::TestRequest::post()
            .uri(uri)
            .insert_header(("Content-Type", content_type))
            .set_payload(body);
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        self.call(req).await
    }

    pub async fn log_size(&self) -> u64 {
        let cp = self.service.checkpoint().await.unwrap().0;
        cp.size
    }

    pub async fn work_count(&self) -> usize {
        let list = self.get("/v1/works?limit=500").await.json();
        list["works"].as_array().unwrap().len()
    }
}

fn receipt_of(body: &Value) -> Receipt {
    serde_json::from_value(body["receipt"].clone()).expect("receipt")
}

#[actix_web::test]
async fn a_registered_work_is_logged_fetched_and_listed() {
    let app = TestApp::new().await;
    let alice = app.token("alice", Role::RightsHolder);
    let reply = app.register(&alice, WORK, &fixture("chelsea.png")).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let body = reply.json();
    let id = body["work"]["id"].as_i64().unwrap();
    assert_eq!(
        body["index"].as_i64().unwrap(),
        id,
        "a work's id is its entry's index"
    );
    assert_eq!(reply.header("location"), format!("/v1/works/{id}"));

    // The receipt verifies offline and records the work, naming the owner only by commitment.
    let verified = verify_receipt(&receipt_of(&body), &app.verifier()).expect("receipt verifies");
    assert_eq!(verified.entry.body.kind.as_str(), "work_registered");
    let data = &verified.entry.body.data;
    assert_eq!(data["title"], "Chelsea the cat");
    assert_eq!(data["license"], "CC-BY-4.0");
    assert_eq!(data["fingerprints"]["sha256"], body["work"]["sha256"]);
    assert_eq!(data["owner"].as_str().unwrap().len(), 64);
    assert!(!verified.entry.bytes.windows(5).any(|w| w == b"alice"));
    assert!(
        String::from_utf8_lossy(&verified.entry.bytes).starts_with(&format!("{ORIGIN}/entry/v1\n"))
    );

    let fetched = app.get(&format!("/v1/works/{id}")).await;
    assert_eq!(fetched.status, 200);
    let fetched = fetched.json();
    assert_eq!(fetched["work"]["title"], "Chelsea the cat");
    assert_eq!(fetched["work"]["owner"], "alice");
    assert_eq!(fetched["work"]["source_url"], "https://example.org/chelsea");
    assert_eq!(fetched["history"][0]["index"].as_i64(), Some(id));

    let bob = app.token("bob", Role::RightsHolder);
    let other = [
        ("title", "Coffee"),
        ("creator", "Rachel Michetti"),
        ("license", "CC0-1.0"),
    ];
    assert_eq!(
        app.register(&bob, &other, &fixture("coffee.jpg"))
            .await
            .status,
        201
    );

    let titles = |v: Value| -> Vec<String> {
        v["works"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles(app.get("/v1/works").await.json()).len(), 2);
    assert_eq!(
        titles(app.get("/v1/works?owner=bob").await.json()),
        ["Coffee"]
    );
    assert_eq!(
        titles(app.get("/v1/works?license=CC-BY-4.0").await.json()),
        ["Chelsea the cat"]
    );
    assert_eq!(
        titles(app.get("/v1/works?q=CHELSEA").await.json()),
        ["Chelsea the cat"]
    );
    assert_eq!(
        titles(app.get("/v1/works?q=michetti").await.json()),
        ["Coffee"]
    );
    assert!(titles(app.get("/v1/works?q=100%25").await.json()).is_empty());
    let page = app.get("/v1/works?limit=1").await.json();
    assert_eq!(page["works"].as_array().unwrap().len(), 1);
    let next = page["next_after"].as_i64().unwrap();
    assert_eq!(
        titles(
            app.get(&format!("/v1/works?limit=1&after={next}"))
                .await
                .json()
        ),
        ["Coffee"]
    );
    app.get("/v1/works?limit=0")
        .await
        .assert_error(400, "invalid_query");
    app.get("/v1/works/999")
        .await
        .assert_error(404, "not_found");
    app.get("/v1/works/abc")
        .await
        .assert_error(400, "invalid_path");
}

#[actix_web::test]
async fn an_image_already_registered_is_refused_and_nothing_is_written() {
    let app = TestApp::new().await;
    let alice = app.token("alice", Role::RightsHolder);
    let bob = app.token("bob", Role::RightsHolder);
    let first = app
        .register(&alice, WORK, &fixture("chelsea.png"))
        .await
        .json();
    let id = first["work"]["id"].as_i64().unwrap();
    let size = app.log_size().await;

    // Another owner may not claim a copy of it.
    let copy = resized_jpeg_copy("chelsea.png");
    let reply = app.register(&bob, WORK, &copy).await;
    reply.assert_error(409, "conflicting_work");
    assert_eq!(reply.json()["work_id"].as_i64(), Some(id));
    // The owner registering the same bytes again is told it is already there.
    let again = app.register(&alice, WORK, &fixture("chelsea.png")).await;
    again.assert_error(409, "already_registered");
    assert_eq!(again.json()["work_id"].as_i64(), Some(id));

    assert_eq!(app.log_size().await, size);
    assert_eq!(app.work_count().await, 1);
}

#[actix_web::test]
async fn concurrent_claims_on_one_image_admit_exactly_one() {
    let app = TestApp::new().await;
    let tokens: Vec<String> = (0..6)
        .map(|i| app.token(&format!("claimant{i}"), Role::RightsHolder))
        .collect();
    let image = fixture("astronaut.png");
    let replies =
        futures_util::future::join_all(tokens.iter().map(|t| app.register(t, WORK, &image))).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!((created, refused), (1, 5));
    assert_eq!(app.work_count().await, 1);
}

#[actix_web::test]
async fn bad_registrations_get_clear_errors_and_change_nothing() {
    let app = TestApp::with_settings(64, 200_000).await;
    let alice = app.token("alice", Role::RightsHolder);
    let publisher = app.token("pub", Role::Publisher);
    let image = fixture("coffee.jpg");
    assert_eq!(app.register(&alice, WORK, &image).await.status, 201);
    let size = app.log_size().await;

    app.post_form("/v1/works", None, WORK, Some(&image))
        .await
        .assert_error(401, "missing_token");
    app.register("plt_not-a-token", WORK, &image)
        .await
        .assert_error(401, "invalid_token");
    app.register(&publisher, WORK, &image)
        .await
        .assert_error(403, "wrong_role");
    let chelsea = fixture("chelsea.png");
    let with = |name: &'static str, value: &'static str| -> Vec<(&'static str, &'static str)> {
        WORK.iter()
            .map(|&(k, v)| if k == name { (k, value) } else { (k, v) })
            .collect()
    };
    app.register(&alice, &with("license", "CC-BY-9.9"), &chelsea)
        .await
        .assert_error(400, "unknown_license");
    app.register(&alice, &with("title", "  "), &chelsea)
        .await
        .assert_error(400, "missing_field");
    app.register(&alice, &with("source_url", "javascript:alert(1)"), &chelsea)
        .await
        .assert_error(400, "invalid_source_url");
    app.register(
        &alice,
        &[
            ("title", "x"),
            ("creator", "y"),
            ("license", "CC0-1.0"),
            ("colour", "red"),
        ],
        &chelsea,
    )
    .await
    .assert_error(400, "unknown_field");
    app.post_form("/v1/works", Some(&alice), WORK, None)
        .await
        .assert_error(400, "missing_image");
    app.register(&alice, WORK, b"%PDF-1.4 not an image at all")
        .await
        .assert_error(415, "not_an_image");
    app.register(&alice, WORK, &chelsea[..chelsea.len() / 2])
        .await
        .assert_error(422, "truncated_image");
    let big = vec![0u8; 300_000];
    app.register(&alice, WORK, &big)
        .await
        .assert_error(413, "file_too_large");
    app.call(
        test::TestRequest::post()
            .uri("/v1/works")
            .insert_header(("Authorization", format!("Bearer {alice}")))
            .set_json(serde_json::json!({"title": "json is not a form"})),
    )
    .await
    .assert_error(400, "invalid_multipart");

    assert_eq!(app.log_size().await, size);
    assert_eq!(app.work_count().await, 1);
}

#[actix_web::test]
async fn licence_and_preference_changes_are_new_entries_by_the_owner_only() {
    let app = TestApp::new().await;
    let alice = app.token("alice", Role::RightsHolder);
    let bob = app.token("bob", Role::RightsHolder);
    let registered = app
        .register(&alice, WORK, &fixture("chelsea.png"))
        .await
        .json();
    let id = registered["work"]["id"].as_i64().unwrap();
    let original = app.get(&format!("/v1/log/entries/{id}")).await.json();

    let put = |token: String, path: String, body: Value| {
        test::TestRequest::put()
            .uri(&path)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(body)
    };
    let license_path = format!("/v1/works/{id}/license");
    app.call(put(
        bob.clone(),
        license_path.clone(),
        serde_json::json!({"license": "CC0-1.0"}),
    ))
    .await
    .assert_error(403, "not_owner");
    app.call(put(
        alice.clone(),
        license_path.clone(),
        serde_json::json!({"license": "nope"}),
    ))
    .await
    .assert_error(400, "unknown_license");
    app.call(put(
        alice.clone(),
        "/v1/works/12345/license".into(),
        serde_json::json!({"license": "CC0-1.0"}),
    ))
    .await
    .assert_error(404, "not_found");

    let changed = app
        .call(put(
            alice.clone(),
            license_path,
            serde_json::json!({"license": "CC-BY-SA-4.0"}),
        ))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    let changed = changed.json();
    let verified = verify_receipt(&receipt_of(&changed), &app.verifier()).unwrap();
    assert_eq!(verified.entry.body.kind.as_str(), "work_license_changed");
    assert_eq!(verified.entry.body.data["work_id"].as_i64(), Some(id));
    assert_eq!(verified.entry.body.data["license"], "CC-BY-SA-4.0");

    let prefs_path = format!("/v1/works/{id}/ai-preferences");
    app.call(put(
        alice.clone(),
        prefs_path.clone(),
        serde_json::json!({"ai_preferences": "Train-AI=n"}),
    ))
    .await
    .assert_error(400, "invalid_content_usage");
    let set = app
        .call(put(
            alice.clone(),
            prefs_path.clone(),
            serde_json::json!({"ai_preferences": "train-ai=n"}),
        ))
        .await;
    assert_eq!(set.status, 200, "{}", set.text());
    let work = app.get(&format!("/v1/works/{id}")).await;
    assert_eq!(work.header("content-usage"), "train-ai=n");
    let work = work.json();
    assert_eq!(work["work"]["license"], "CC-BY-SA-4.0");
    let kinds: Vec<&str> = work["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "work_registered",
            "work_license_changed",
            "work_preferences_changed"
        ]
    );

    let withdrawn = app
        .call(
            test::TestRequest::delete()
                .uri(&prefs_path)
                .insert_header(("Authorization", format!("Bearer {alice}"))),
        )
        .await;
    assert_eq!(withdrawn.status, 200);
    let work = app.get(&format!("/v1/works/{id}")).await;
    assert_eq!(work.header("content-usage"), "");
    assert!(work.json()["work"]["ai_preferences"].is_null());

    // The registration entry itself never changed.
    assert_eq!(
        app.get(&format!("/v1/log/entries/{id}")).await.json(),
        original
    );
}

#[actix_web::test]
async fn check_finds_the_registered_work_in_a_copy_and_nothing_in_an_unrelated_image() {
    let app = TestApp::new().await;
    let alice = app.token("alice", Role::RightsHolder);
    let registered = app
        .register(&alice, WORK, &fixture("chelsea.png"))
        .await
        .json();
    let id = registered["work"]["id"].as_i64().unwrap();

    let copy = resized_jpeg_copy("chelsea.png");
    let found = app.post_form("/v1/check", None, &[], Some(&copy)).await;
    assert_eq!(found.status, 200, "{}", found.text());
    let found = found.json();
    assert_eq!(found["decision"], "match");
    assert_eq!(found["candidates"][0]["work_id"].as_i64(), Some(id));
    assert_eq!(found["works"][0]["title"], "Chelsea the cat");
    assert_eq!(found["fingerprints"]["format"], "jpg");

    let exact = app
        .post_form("/v1/check", None, &[], Some(&fixture("chelsea.png")))
        .await
        .json();
    assert_eq!(exact["decided_by"]["kind"], "exact_bytes");

    let unrelated = app
        .post_form("/v1/check", None, &[], Some(&fixture("coins.png")))
        .await
        .json();
    assert_eq!(unrelated["decision"], "none", "{unrelated}");
    assert!(unrelated["works"].as_array().unwrap().is_empty());

    app.post_form("/v1/check", None, &[], Some(b"GIF89a\x01\x00"))
        .await
        .assert_error(422, "truncated_image");
}

#[actix_web::test]
async fn a_partial_copy_is_found_by_local_features_with_its_evidence() {
    let app = TestApp::new().await;
    let alice = app.token("alice", Role::RightsHolder);
    let bob = app.token("bob", Role::RightsHolder);
    let registered = app
        .register(&alice, WORK, &fixture("astronaut.png"))
        .await
        .json();
    let id = registered["work"]["id"].as_i64().unwrap();
    // An asymmetric crop of a fifth on two sides, which no global hash sees.
    let region = [0.2, 0.0, 1.0, 0.8];
    let crop = cropped_jpeg_copy("astronaut.png", region);

    let found = app.post_form("/v1/check", None, &[], Some(&crop)).await;
    assert_eq!(found.status, 200, "{}", found.text());
    let found = found.json();
    assert_eq!(found["decision"], "match", "{found}");
    assert_eq!(found["local_stage"], true);
    assert_eq!(found["candidates"][0]["work_id"].as_i64(), Some(id));
    let evidence = &found["decided_by"];
    assert_eq!(evidence["kind"], "local_features", "{found}");
    assert!(evidence["inliers"].as_u64().unwrap() >= 12, "{evidence}");
    assert!(evidence["rotation_degrees"].as_f64().unwrap().abs() < 1.0);
    for (k, expected) in region.iter().enumerate() {
        let seen = evidence["work_region"][k].as_f64().unwrap();
        assert!((seen - f64::from(*expected)).abs() < 0.03, "{evidence}");
    }
    assert_eq!(found["candidates"][0]["local_inliers"], evidence["inliers"]);
    assert_eq!(found["works"][0]["title"], "Chelsea the cat");

    // A copy the global stage decides does not pay for the second stage.
    let whole = app
        .post_form(
            "/v1/check",
            None,
            &[],
            Some(&resized_jpeg_copy("astronaut.png")),
        )
        .await
        .json();
    assert_eq!(whole["decided_by"]["kind"], "pdq", "{whole}");
    assert_eq!(whole["local_stage"], false);
    // An unrelated photograph is matched by neither.
    let unrelated = app
        .post_form("/v1/check", None, &[], Some(&fixture("coffee.jpg")))
        .await
        .json();
    assert_eq!(unrelated["decision"], "none", "{unrelated}");
    assert_eq!(unrelated["local_stage"], true);

    // Someone else cannot register the crop as their own work, and nothing is written.
    let size = app.log_size().await;
    app.register(&bob, WORK, &crop)
        .await
        .assert_error(409, "conflicting_work");
    assert_eq!(app.log_size().await, size);

    // A node started later loads the features with the work.
    let later = app.second_node().await;
    let again = later
        .post_form("/v1/check", None, &[], Some(&crop))
        .await
        .json();
    assert_eq!(again["decided_by"]["kind"], "local_features", "{again}");
    assert_eq!(again["candidates"][0]["work_id"].as_i64(), Some(id));
}

/// A smooth colour picture, 480 x 360, with a soft bright bump and a soft dark one and no
/// corners; `warm` paints the same shading in other colours.
fn smooth_picture(warm: bool) -> image::DynamicImage {
    let picture = image::RgbImage::from_fn(480, 360, |x, y| {
        let (fx, fy) = (f64::from(x) / 480.0, f64::from(y) / 360.0);
        let bump = (-((fx - 0.3).powi(2) + (fy - 0.65).powi(2)) * 14.0).exp()
            - 0.6 * (-((fx - 0.75).powi(2) + (fy - 0.3).powi(2)) * 18.0).exp();
        let l = 70.0 + 90.0 * fx + 30.0 * fy + 60.0 * bump;
        let c = |gain: f64| (l * gain).clamp(0.0, 255.0) as u8;
        if warm {
            image::Rgb([c(1.25), c(0.9), c(0.5)])
        } else {
            image::Rgb([c(0.6), c(0.9), c(1.3)])
        }
    });
    image::DynamicImage::ImageRgb8(picture)
}

#[actix_web::test]
async fn a_crop_of_a_smooth_picture_is_found_by_aligning_its_appearance() {
    let app = TestApp::new().await;
    let alice = app.token("alice", Role::RightsHolder);
    let mut png = Cursor::new(Vec::new());
    smooth_picture(false)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let registered = app.register(&alice, WORK, png.get_ref()).await.json();
    let id = registered["work"]["id"].as_i64().unwrap();

    let crop = crop_to_jpeg(&smooth_picture(false), [0.15, 0.15, 1.0, 1.0]);
    let found = app
        .post_form("/v1/check", None, &[], Some(&crop))
        .await
        .json();
    assert_eq!(found["decision"], "match", "{found}");
    assert_eq!(found["candidates"][0]["work_id"].as_i64(), Some(id));
    let evidence = &found["decided_by"];
    assert_eq!(evidence["kind"], "local_features", "{found}");
    assert_eq!(evidence["aligned_by_appearance"], true, "{evidence}");
    assert_eq!(evidence["inliers"], 0, "{evidence}");
    assert!(
        evidence["chroma_residual"].as_f64().unwrap() < 6.0,
        "{evidence}"
    );
    for (k, expected) in [0.15, 0.15, 1.0, 1.0].iter().enumerate() {
        let seen = evidence["work_region"][k].as_f64().unwrap();
        assert!((seen - expected).abs() < 0.06, "{evidence}");
    }

    // Attributed, the log records that an alignment decided, not "local features, 0 inliers".
    let publisher = app.token("newsroom", Role::Publisher);
    let recorded = app
        .post_form(
            "/v1/attributions",
            Some(&publisher),
            crate::attributions_api::USE,
            Some(&crop),
        )
        .await;
    assert_eq!(recorded.status, 201, "{}", recorded.text());
    let recorded = recorded.json();
    assert_eq!(recorded["attribution"]["work_id"].as_i64(), Some(id));
    let receipt: Receipt = serde_json::from_value(recorded["receipt"].clone()).unwrap();
    let entry = verify_receipt(&receipt, &app.verifier()).unwrap().entry;
    let summary = &entry.body.data["match"];
    assert_eq!(summary["evidence"], "local_appearance", "{summary}");
    assert!(summary.get("inliers").is_none(), "{summary}");

    // The same shading in other colours is another picture.
    let recoloured = crop_to_jpeg(&smooth_picture(true), [0.15, 0.15, 1.0, 1.0]);
    let other = app
        .post_form("/v1/check", None, &[], Some(&recoloured))
        .await
        .json();
    assert_ne!(other["decision"], "match", "{other}");
}

#[actix_web::test]
async fn a_second_node_on_the_same_database_sees_and_respects_registrations() {
    let first = TestApp::new().await;
    let second = first.second_node().await;
    let alice = first.token("alice", Role::RightsHolder);
    let bob = first.token("bob", Role::RightsHolder);
    let registered = first
        .register(&alice, WORK, &fixture("chelsea.png"))
        .await
        .json();
    let id = registered["work"]["id"].as_i64().unwrap();

    // At once: the second node's round reads the registration before admitting another.
    second
        .register(&bob, WORK, &resized_jpeg_copy("chelsea.png"))
        .await
        .assert_error(409, "conflicting_work");
    // Within a second: its match index has the work too.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let found = second
        .post_form(
            "/v1/check",
            None,
            &[],
            Some(&resized_jpeg_copy("chelsea.png")),
        )
        .await
        .json();
    assert_eq!(found["candidates"][0]["work_id"].as_i64(), Some(id));
    // Local features too: a partial copy is found on the node that did not register it.
    let crop = cropped_jpeg_copy("chelsea.png", [0.0, 0.15, 0.8, 1.0]);
    let found = second
        .post_form("/v1/check", None, &[], Some(&crop))
        .await
        .json();
    assert_eq!(found["decided_by"]["kind"], "local_features", "{found}");
    assert_eq!(found["candidates"][0]["work_id"].as_i64(), Some(id));
}
