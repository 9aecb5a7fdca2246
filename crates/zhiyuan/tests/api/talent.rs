//! The professional talent pool: a volunteer declares a qualification, the jurisdiction
//! of their residence verifies it (and may later reject it, saying why), and only
//! verified, unexpired qualifications appear in the pool of the area.

use reqwest::StatusCode;
use serde_json::json;
use zhiyuan_testkit::{TestApp, VolunteerBuilder};

const COUNTY: &str = "440106";
const VILLAGE: &str = "440106001001";

#[tokio::test]
async fn a_qualification_joins_the_pool_only_once_its_jurisdiction_verifies_it() {
    let app = TestApp::spawn().await;
    let (number, token) = app.volunteer(VolunteerBuilder::new(VILLAGE, 21)).await;
    let county = app.admin("county-admin", COUNTY).await;
    let elsewhere = app.admin("other-admin", "440111").await;
    let pool_path = format!("/api/v1/talent-pool?kind=doctor&region={COUNTY}");

    let bad = app
        .post(
            "/api/v1/me/qualifications",
            Some(&token),
            json!({"kind": "wizard", "title": "执业医师", "certificate_number": "110440100000123",
                   "issuer": "广州市卫生健康委员会", "valid_until": "2001-01-01"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), ["kind", "valid_until"]);
    let added = app
        .post(
            "/api/v1/me/qualifications",
            Some(&token),
            json!({"kind": "doctor", "title": "执业医师", "certificate_number": "110440100000123",
                   "issuer": "广州市卫生健康委员会", "valid_until": "2035-12-31"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    assert_eq!(added.body["status"], "pending");
    let id = added.body["id"].as_i64().unwrap();
    let pool = app.get(&pool_path, Some(&county)).await;
    assert_eq!(pool.body["items"], json!([]), "pending does not count");

    let decide = |token: &str, body: serde_json::Value| {
        let (app, path, token) = (
            &app,
            format!("/api/v1/qualifications/{id}/decision"),
            token.to_owned(),
        );
        async move { app.post(&path, Some(&token), body).await }
    };
    // Only the jurisdiction of the volunteer's residence decides; a rejection says why.
    let r = decide(&elsewhere, json!({"verified": true})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = decide(&token, json!({"verified": true})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not by the volunteer");
    let r = decide(&county, json!({"verified": false})).await;
    assert_eq!(r.error_fields(), ["reason"]);
    let r = decide(&county, json!({"verified": true, "version": 1})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "verified");
    let again = decide(&county, json!({"verified": true})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let pool = app.get(&pool_path, Some(&county)).await;
    assert_eq!(pool.status, StatusCode::OK);
    assert_eq!(pool.body["items"][0]["volunteer"], number.as_str());
    assert_eq!(pool.body["items"][0]["kind"], "doctor");
    let other_kind = app
        .get(
            &format!("/api/v1/talent-pool?kind=nurse&region={COUNTY}"),
            Some(&county),
        )
        .await;
    assert_eq!(other_kind.body["items"], json!([]));
    let r = app
        .get(
            &format!("/api/v1/talent-pool?kind=doctor&region={COUNTY}"),
            Some(&elsewhere),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another county's pool");
    let mine = app
        .get(
            &format!("/api/v1/volunteers/{number}/qualifications"),
            Some(&token),
        )
        .await;
    assert_eq!(mine.body[0]["status"], "verified");

    // Found false later: rejected with the reason, and out of the pool.
    let r = decide(
        &county,
        json!({"verified": false, "reason": "证书已被注销"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["reason"], "证书已被注销");
    assert_eq!(
        app.get(&pool_path, Some(&county)).await.body["items"],
        json!([])
    );
    let audit = app
        .get(
            &format!("/api/v1/audit?within={COUNTY}&subject_type=qualification&subject_id={id}"),
            Some(&county),
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "qualification.decide",
            "qualification.decide",
            "qualification.add"
        ]
    );
}
