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
