//! Licence contracts over HTTP: listing, evaluating a use, composing the credit.

use serde_json::json;

use crate::support::TestApp;
use actix_web::test::TestRequest;

#[actix_web::test]
async fn the_contracts_are_listed_with_their_hash() {
    let app = TestApp::new().await;
    let list = app.get("/v1/licenses").await.json();
    let hash = list["contract_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    let ids: Vec<&str> = list["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for id in [
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-3.0",
        "CC-BY-NC-ND-2.0",
        "GFDL-1.3-only",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert_eq!(
        app.get("/v1/licenses/cc-by-4.0").await.json()["id"],
        "CC-BY-4.0"
    );
    app.get("/v1/licenses/CC-BY-9.0")
        .await
        .assert_error(404, "unknown_license");
}

#[actix_web::test]
async fn a_use_is_evaluated_with_reasons_obligations_and_the_contract_hash() {
    let app = TestApp::new().await;
    let post = |uri: &str, body: serde_json::Value| TestRequest::post().uri(uri).set_json(body);
    let hash = app.get("/v1/licenses").await.json()["contract_hash"].clone();

    let nc = app
        .call(post(
            "/v1/licenses/CC-BY-NC-4.0/evaluate",
            json!({"commercial": true, "adaptation": {"kind": "verbatim"}}),
        ))
        .await
        .json();
    assert_eq!(nc["allowed"], false);
    assert_eq!(nc["contract_hash"], hash);
    assert!(
        nc["reasons"]
            .to_string()
            .contains("commercial_use_prohibited"),
        "{nc}"
    );

    let sa = app
        .call(post(
            "/v1/licenses/CC-BY-SA-4.0/evaluate",
            json!({"commercial": true, "adaptation": {"kind": "adapted", "license": "CC-BY-4.0"}}),
        ))
        .await
        .json();
    assert_eq!(sa["allowed"], false, "{sa}");

    let by = app
        .call(post("/v1/licenses/CC-BY-4.0/evaluate", json!({"commercial": true, "adaptation": {"kind": "adapted", "license": "CC-BY-SA-4.0"}})))
        .await
        .json();
    assert_eq!(by["allowed"], true, "{by}");
    assert!(
        by["obligations"].to_string().contains("indicate_changes"),
        "{by}"
    );

    let reserved = app
        .call(post("/v1/licenses/CC-BY-4.0/evaluate", json!({"commercial": false, "adaptation": {"kind": "verbatim"}, "machine_use": "train-genai", "content_usage": "train-ai=n"})))
        .await
        .json();
    assert_eq!(reserved["allowed"], false, "{reserved}");
    assert!(
        reserved["reasons"].to_string().contains("ai_use_reserved"),
        "{reserved}"
    );

    app.call(post(
        "/v1/licenses/CC-BY-4.0/evaluate",
        json!({"commercial": "yes"}),
    ))
    .await
    .assert_error(400, "invalid_json");
    app.call(post("/v1/licenses/CC-BY-4.0/evaluate", json!({"commercial": false, "adaptation": {"kind": "verbatim"}, "content_usage": "train-ai=="})))
        .await
        .assert_error(400, "invalid_content_usage");
    app.call(post(
        "/v1/licenses/NOPE/evaluate",
        json!({"commercial": false, "adaptation": {"kind": "verbatim"}}),
    ))
    .await
    .assert_error(404, "unknown_license");
}

#[actix_web::test]
async fn the_credit_line_comes_in_four_markups() {
    let app = TestApp::new().await;
    let credit = app
        .call(
            TestRequest::post()
                .uri("/v1/licenses/CC-BY-4.0/attribution")
                .set_json(json!({
                    "title": "Harbour at dawn", "creator": "A. Photographer",
                    "source_url": "https://example.org/harbour", "changes": "cropped"
                })),
        )
        .await
        .json();
    for format in ["text", "html", "markdown", "wikitext"] {
        let line = credit[format].as_str().unwrap();
        assert!(
            line.contains("Harbour at dawn") && line.contains("A. Photographer"),
            "{format}: {line}"
        );
    }
    assert!(credit["html"].as_str().unwrap().contains("rel=\"license\""));
    app.call(
        TestRequest::post()
            .uri("/v1/licenses/CC-BY-4.0/attribution")
            .set_json(json!({
                "title": "x", "creator": "y", "source_url": "javascript:alert(1)"
            })),
    )
    .await
    .assert_error(400, "invalid_source_url");
}
