//! The served OpenAPI document is the committed contract, and it lists every route we serve.

use crate::support::TestApp;

#[actix_web::test]
async fn the_served_openapi_document_is_the_committed_contract() {
    let app = TestApp::new().await;
    let served = app.get("/openapi.json").await;
    assert_eq!(served.status, 200);
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../../contracts/openapi.json")).unwrap();
    assert_eq!(served.json(), committed);
}

#[actix_web::test]
async fn every_documented_get_path_is_routed() {
    let app = TestApp::new().await;
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../../contracts/openapi.json")).unwrap();
    let paths = committed["paths"].as_object().expect("paths");
    assert!(!paths.is_empty());
    for (path, ops) in paths {
        if ops.get("get").is_none() || path.contains('{') {
            continue;
        }
        let reply = app.get(path).await;
        assert_ne!(
            reply.status,
            404,
            "{path} is documented but not routed: {}",
            reply.text()
        );
    }
}

#[actix_web::test]
async fn every_documented_operation_is_routed_and_other_methods_get_405() {
    let app = TestApp::new().await;
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../../contracts/openapi.json")).unwrap();
    for (path, ops) in committed["paths"].as_object().unwrap() {
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "0" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in ops.as_object().unwrap().keys() {
            let method =
                actix_web::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let reply = app
                .call(
                    actix_web::test::TestRequest::default()
                        .method(method.clone())
                        .uri(&concrete),
                )
                .await;
            assert_ne!(
                reply.status, 405,
                "{method} {path} is documented but not routed"
            );
            if reply.status == 404 {
                let message = reply.json()["message"].as_str().unwrap().to_owned();
                assert!(
                    !message.starts_with("no such endpoint"),
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }
    let reply = app
        .call(
            actix_web::test::TestRequest::default()
                .method(actix_web::http::Method::PATCH)
                .uri("/v1/works/3"),
        )
        .await;
    reply.assert_error(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), "GET");
    app.get("/v1/nothing-here")
        .await
        .assert_error(404, "not_found");
}
