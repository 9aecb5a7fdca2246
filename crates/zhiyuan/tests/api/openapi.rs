//! The OpenAPI document: generated from the code, served, and committed as
//! `docs/openapi.json` (run with `UPDATE_OPENAPI=1` to rewrite it after an API change).

use reqwest::StatusCode;
use zhiyuan_testkit::TestApp;

#[tokio::test]
async fn the_served_document_is_openapi_3_1_and_matches_docs_openapi_json() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/volunteers",
        "/api/v1/volunteers/{number}",
        "/api/v1/auth/login",
    ] {
        assert!(r.body["paths"][path].is_object(), "{path} missing");
    }
    let generated = zhiyuan_http::openapi::json();
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path, format!("{generated}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    assert_eq!(
        committed.trim_end(),
        generated,
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p zhiyuan openapi`"
    );
}
