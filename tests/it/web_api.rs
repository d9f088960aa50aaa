//! What the web pages rely on beyond the rest of the API: the pages themselves, work
//! thumbnails, and who a token belongs to.

use actix_web::test;
use provenance_ledger::accounts::Role;

use crate::support::TestApp;
use crate::works_api::fixture;

const WORK: &[(&str, &str)] = &[
    ("title", "Chelsea the cat"),
    ("creator", "Stefan van der Walt"),
    ("license", "CC-BY-4.0"),
];

#[actix_web::test]
async fn a_registered_work_has_a_small_thumbnail_that_never_changes() {
    let app = TestApp::new().await;
    let alice = app.token("alice", Role::RightsHolder);
    let reply = app.register(&alice, WORK, &fixture("chelsea.png")).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.json()["work"]["id"].as_i64().unwrap();

    let thumb = app.get(&format!("/v1/works/{id}/thumbnail")).await;
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), "image/jpeg");
    let cache = thumb.header("cache-control");
    assert!(
        cache.contains("immutable") && cache.contains("max-age=31536000"),
        "{cache}"
    );
    let image = image::load_from_memory(&thumb.body).expect("the thumbnail decodes");
    let original = image::load_from_memory(&fixture("chelsea.png")).unwrap();
    assert_eq!(image.width().max(image.height()), 256, "longest side");
    let (aspect, thumb_aspect) = (
        original.width() as f64 / original.height() as f64,
        image.width() as f64 / image.height() as f64,
    );
    assert!(
        (aspect - thumb_aspect).abs() < 0.02,
        "{aspect} vs {thumb_aspect}"
    );
}

#[actix_web::test]
async fn a_work_without_a_thumbnail_answers_a_json_404() {
    let app = TestApp::new().await;
    let alice = app.token("alice", Role::RightsHolder);
    let id = app
        .register(&alice, WORK, &fixture("chelsea.png"))
        .await
        .json()["work"]["id"]
        .as_i64()
        .unwrap();
    // A thumbnail is not ledger data: losing it leaves the work and its proofs intact.
    app.db.execute("DELETE FROM work_thumbnails");
    let message = app
        .get(&format!("/v1/works/{id}/thumbnail"))
        .await
        .assert_error(404, "not_found");
    assert!(message.contains(&format!("work {id}")), "{message}");
    assert_eq!(app.get(&format!("/v1/works/{id}")).await.status, 200);
    app.get("/v1/works/999/thumbnail")
        .await
        .assert_error(404, "not_found");
}

#[actix_web::test]
async fn a_token_tells_its_account_name_and_role() {
    let app = TestApp::new().await;
    let alice = app.token("alice", Role::RightsHolder);
    let bob = app.token("bob", Role::Publisher);
    for (token, name, role) in [
        (&alice, "alice", "rights_holder"),
        (&bob, "bob", "publisher"),
    ] {
        let reply = app
            .call(
                test::TestRequest::get()
                    .uri("/v1/accounts/me")
                    .insert_header(("Authorization", format!("Bearer {token}"))),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(
            reply.json(),
            serde_json::json!({"name": name, "role": role})
        );
    }
    app.get("/v1/accounts/me")
        .await
        .assert_error(401, "missing_token");
    let wrong = app
        .call(
            test::TestRequest::get()
                .uri("/v1/accounts/me")
                .insert_header(("Authorization", "Bearer not-a-token")),
        )
        .await;
    wrong.assert_error(401, "invalid_token");
}

#[actix_web::test]
async fn the_pages_are_served_with_their_types_a_strict_policy_and_validators() {
    let app = TestApp::new().await;
    let page = app.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(page.text().contains("Provenance Ledger"));
    let csp = page.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("cache-control"), "no-cache");

    for (path, content_type) in [
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/verify.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/icon.svg", "image/svg+xml"),
    ] {
        let asset = app.get(path).await;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.header("content-type"), content_type, "{path}");
        let etag = asset.header("etag");
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let again = app
            .call(
                test::TestRequest::get()
                    .uri(path)
                    .insert_header(("If-None-Match", etag.clone())),
            )
            .await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
    }
    app.get("/assets/../Cargo.toml")
        .await
        .assert_error(404, "not_found");
    app.get("/assets/secret.key")
        .await
        .assert_error(404, "not_found");
}
