//! The professional talent pool: a volunteer declares a qualification, the jurisdiction
//! of their residence verifies it (and may later reject it, saying why), and only
//! verified, unexpired qualifications appear in the pool of the area.

use reqwest::StatusCode;
use serde_json::json;
use zhiyuan_testkit::{TestApp, VolunteerBuilder, why};

use crate::participation::inbox;

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
    assert_eq!(
        bad.field_codes(),
        [why("kind", "not_one_of"), why("valid_until", "expired")].concat()
    );
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
    // Nobody administers the village or the town: the county is asked to verify it.
    let asked = inbox(&app, &county).await;
    assert_eq!(
        asked,
        [(
            "qualification.add".to_owned(),
            format!("有一份专业资质待核验：执业医师（资质 {id}）")
        )]
    );
    assert!(
        inbox(&app, &elsewhere).await.is_empty(),
        "not another county"
    );

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

/// Declares and verifies a qualification of `kind` for a new volunteer; returns their
/// (number, token).
async fn qualified(
    app: &TestApp,
    admin: &str,
    builder: VolunteerBuilder,
    kind: &str,
    verify: bool,
) -> (String, String) {
    let (number, token) = app.volunteer(builder).await;
    let r = app
        .post(
            "/api/v1/me/qualifications",
            Some(&token),
            json!({"kind": kind, "title": kind, "certificate_number": "CERT-1", "issuer": "卫健委"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    if verify {
        let id = r.body["id"].as_i64().unwrap();
        let d = app
            .post(
                &format!("/api/v1/qualifications/{id}/decision"),
                Some(admin),
                json!({"verified": true}),
            )
            .await;
        assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    }
    (number, token)
}

#[tokio::test]
async fn a_mobilisation_call_notifies_qualified_adults_of_the_area_and_keeps_a_roll_call() {
    let app = TestApp::spawn().await;
    let county = app.admin("county-admin", COUNTY).await;
    let other = app.admin("other-admin", "440111").await;
    let (doctor, doctor_token) = qualified(
        &app,
        &county,
        VolunteerBuilder::new(VILLAGE, 31),
        "doctor",
        true,
    )
    .await;
    let (nurse, nurse_token) = qualified(
        &app,
        &county,
        VolunteerBuilder::new(VILLAGE, 32),
        "nurse",
        true,
    )
    .await;
    // Not called: a doctor not yet verified, a teacher, a doctor of another county, and
    // a verified doctor who is a minor.
    let (_, pending_token) = qualified(
        &app,
        &county,
        VolunteerBuilder::new(VILLAGE, 33),
        "doctor",
        false,
    )
    .await;
    qualified(
        &app,
        &county,
        VolunteerBuilder::new(VILLAGE, 34),
        "teacher",
        true,
    )
    .await;
    qualified(
        &app,
        &other,
        VolunteerBuilder::new("440111001001", 35),
        "doctor",
        true,
    )
    .await;
    let year = time::OffsetDateTime::now_utc().year() - 16;
    let minor = VolunteerBuilder::new(VILLAGE, 36)
        .born(&format!("{year}-01-01"), 36)
        .with(
            "guardian",
            json!({"name": "家长", "phone": "13900139000", "consented_at": "2026-01-01T00:00:00+08:00"}),
        );
    qualified(&app, &county, minor, "doctor", true).await;

    let call = json!({"region": COUNTY, "kinds": ["doctor", "nurse"], "needed": 2,
                      "assembly_point": "天河体育中心东门", "location": {"lat": 23.14, "lng": 113.32},
                      "note": "暴雨转移安置点医疗保障"});
    let r = app
        .post("/api/v1/calls", Some(&doctor_token), call.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a volunteer does not call");
    let mut bad = call.clone();
    bad["kinds"] = json!(["doctor", "wizard", "doctor"]);
    let r = app.post("/api/v1/calls", Some(&county), bad).await;
    assert_eq!(
        r.field_codes(),
        [why("kinds[1]", "not_one_of"), why("kinds[2]", "repeated")].concat()
    );
    let issued = app.post("/api/v1/calls", Some(&county), call).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{:?}", issued.body);
    assert_eq!(issued.body["selected"], 2);
    let id = issued.body["id"].as_i64().unwrap();

    // Those called see it; others were not called.
    let mine = app.get("/api/v1/me/calls", Some(&doctor_token)).await;
    assert_eq!(mine.body[0]["call"]["id"], id);
    assert_eq!(mine.body[0]["status"], "notified");
    assert_eq!(
        app.get("/api/v1/me/calls", Some(&pending_token)).await.body,
        json!([])
    );
    // And it is in their inbox (the notifier's relay, run here by hand).
    app.zhiyuan
        .relay_events(time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let inbox = app
        .get("/api/v1/me/notifications", Some(&doctor_token))
        .await;
    let items = inbox.body["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|n| n["event"] == "call.issue" && n["subject_id"] == json!(id.to_string())),
        "{items:?}"
    );
    let others = app
        .get("/api/v1/me/notifications", Some(&pending_token))
        .await;
    assert!(
        !others.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["event"] == "call.issue")
    );
    let answer = |token: &str, body: serde_json::Value| {
        let (app, path, token) = (
            &app,
            format!("/api/v1/calls/{id}/response"),
            token.to_owned(),
        );
        async move { app.post(&path, Some(&token), body).await }
    };
    let r = answer(&pending_token, json!({"response": "acknowledge"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The doctor comes: acknowledges, then checks in at the assembly point, not from afar.
    let r = answer(
        &doctor_token,
        json!({"response": "check_in", "location": {"lat": 23.14, "lng": 113.32}}),
    )
    .await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("response", "cannot_become")),
        "acknowledge first"
    );
    assert_eq!(
        answer(&doctor_token, json!({"response": "acknowledge"}))
            .await
            .body["status"],
        "acknowledged"
    );
    let far = answer(
        &doctor_token,
        json!({"response": "check_in", "location": {"lat": 23.20, "lng": 113.32}}),
    )
    .await;
    assert_eq!(far.field_codes(), why("location", "outside_geofence"));
    let here = answer(
        &doctor_token,
        json!({"response": "check_in", "location": {"lat": 23.1402, "lng": 113.3201}}),
    )
    .await;
    assert_eq!(here.status, StatusCode::OK, "{:?}", here.body);
    assert_eq!(here.body["status"], "checked_in");
    // The nurse cannot come.
    assert_eq!(
        answer(&nurse_token, json!({"response": "decline"}))
            .await
            .body["status"],
        "declined"
    );
    let again = answer(&nurse_token, json!({"response": "decline"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // The live roll-call, and who stands where.
    let state = app.get(&format!("/api/v1/calls/{id}"), Some(&county)).await;
    assert_eq!(state.status, StatusCode::OK, "{:?}", state.body);
    assert_eq!(
        state.body["roll_call"],
        json!({"notified": 0, "acknowledged": 0, "declined": 1, "checked_in": 1})
    );
    let present = app
        .get(
            &format!("/api/v1/calls/{id}/members?status=checked_in"),
            Some(&county),
        )
        .await;
    let numbers: Vec<&str> = present.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["volunteer"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [doctor.as_str()]);
    let all = app
        .get(&format!("/api/v1/calls/{id}/members"), Some(&county))
        .await;
    let mut called: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["volunteer"].as_str().unwrap())
        .collect();
    called.sort_unstable();
    let mut expected = [doctor.as_str(), nurse.as_str()];
    expected.sort_unstable();
    assert_eq!(called, expected);
    let r = app.get(&format!("/api/v1/calls/{id}"), Some(&other)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another county's call");
}
