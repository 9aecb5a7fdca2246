//! Self-registration, and every way it can be refused without writing anything.

use reqwest::StatusCode;
use serde_json::json;
use zhiyuan_store::{AuditQuery, PageRequest};
use zhiyuan_testkit::{Response, TestApp, VolunteerBuilder, resident_id, why};

const VILLAGE: &str = "440106001001";

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.region(VILLAGE).await;
    app
}

async fn audit_entries(app: &TestApp) -> usize {
    app.zhiyuan
        .store()
        .list_audit(&AuditQuery::default(), &PageRequest::first(200))
        .await
        .expect("audit")
        .items
        .len()
}

/// January 1st, `years` years before this year: someone `years` old today.
fn born_years_ago(years: i32) -> String {
    let year = time::OffsetDateTime::now_utc().year() - years;
    format!("{year}-01-01")
}

async fn register(app: &TestApp, b: &VolunteerBuilder) -> Response {
    app.post("/api/v1/volunteers", None, b.body.clone()).await
}

#[tokio::test]
async fn a_valid_registration_returns_the_volunteer_with_the_document_masked() {
    let app = app().await;
    let b = VolunteerBuilder::new(VILLAGE, 123);
    let full = b.body["id_document"]["number"].as_str().unwrap().to_owned();
    let r = register(&app, &b).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let number = r.body["number"].as_str().unwrap();
    assert_eq!(number.len(), 13);
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("/api/v1/volunteers/{number}")
    );
    assert_eq!(
        r.body["id_document"]["number_masked"],
        "4401**********123".to_owned() + &full[17..]
    );
    assert!(
        !r.body.to_string().contains(&full[6..14]),
        "birth digits leaked"
    );
    assert_eq!(r.body["privacy_consent"]["version"], "2026-01");
    // The audit entry records the registration with the masked number only.
    let audit = app
        .zhiyuan
        .store()
        .list_audit(&AuditQuery::default(), &PageRequest::first(10))
        .await
        .unwrap();
    let entry = audit
        .items
        .iter()
        .find(|a| a.action == "volunteer.register")
        .unwrap();
    assert_eq!(entry.subject_id, number);
    assert!(!entry.details.to_string().contains(&full));
    // At rest the number is ciphertext.
    let v = app
        .zhiyuan
        .store()
        .get_volunteer_by_number(
            zhiyuan_domain::volunteer_number::VolunteerNumber::parse(number).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let sealed = app
        .zhiyuan
        .store()
        .document_ciphertext(v.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!sealed.windows(8).any(|w| w == &full.as_bytes()[6..14]));
    assert_eq!(
        app.zhiyuan
            .vault()
            .open(&sealed, "mainland_id")
            .unwrap()
            .as_str(),
        full
    );
}

#[tokio::test]
async fn a_minor_with_a_guardian_registers_and_the_guardian_is_recorded() {
    let app = app().await;
    let b = VolunteerBuilder::new(VILLAGE, 5).born(&born_years_ago(16), 5).with(
        "guardian",
        json!({"name": "陈家长", "phone": "13900139000", "consented_at": "2026-11-01T09:00:00+08:00"}),
    );
    let r = register(&app, &b).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["guardian"]["name"], "陈家长");
}

/// A refused field carries why as a stable code for clients to word: what a volunteer
/// registering on a phone gets wrong has one (a wrong check digit in an identity number
/// or in a volunteer number is `check_digit`, however the number reached the server); a
/// refusal without a more precise code is `invalid`.
#[tokio::test]
async fn a_refused_field_says_why_as_a_stable_code() {
    let app = app().await;
    let code_of = |r: &Response, field: &str| {
        r.field_codes()
            .into_iter()
            .find_map(|(f, code)| (f == field).then_some(code))
    };
    let mut wrong_check = VolunteerBuilder::new(VILLAGE, 2);
    let n = wrong_check.body["id_document"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = if n.ends_with('0') { "1" } else { "0" };
    wrong_check.body["id_document"]["number"] = json!(format!("{}{last}", &n[..17]));
    let base = VolunteerBuilder::new(VILLAGE, 3);
    let cases = [
        (wrong_check, "id_document.number", "check_digit"),
        (
            base.clone().with(
                "id_document",
                json!({"type": "hk_id", "number": "A12345(6)"}),
            ),
            "id_document.number",
            "document_shape",
        ),
        (
            base.clone().with(
                "id_document",
                json!({"type": "passport", "number": "X1234567"}),
            ),
            "id_document.country",
            "passport_country",
        ),
        (
            base.clone().with("residence_region", json!("440199")),
            "residence_region",
            "unknown_region",
        ),
        (
            base.clone().with("residence_region", json!("44A1")),
            "residence_region",
            "not_a_region_code",
        ),
        (base.clone().with("name", json!(" ")), "name", "required"),
        (
            base.clone().with("name", json!("名".repeat(51))),
            "name",
            "too_long",
        ),
        (
            base.clone().with("phone", json!("1380013800")),
            "phone",
            "not_a_phone",
        ),
        (
            base.clone().with("password", json!("short")),
            "password",
            "password_length",
        ),
        (
            base.clone().with("birth_date", json!("1990-01-02")),
            "birth_date",
            "birth_date_not_documents",
        ),
        (
            base.clone().born(&born_years_ago(12), 3),
            "birth_date",
            "too_young",
        ),
        (
            base.clone().born(&born_years_ago(16), 3),
            "guardian",
            "guardian_needed",
        ),
        (
            base.clone().with("privacy_consent_version", json!("")),
            "privacy_consent_version",
            "required",
        ),
        (
            base.clone()
                .with("privacy_consent_version", json!("v".repeat(33))),
            "privacy_consent_version",
            "too_long",
        ),
        (
            base.clone()
                .with("privacy_consent_version", json!("1999-01")),
            "privacy_consent_version",
            "consent_outdated",
        ),
    ];
    for (builder, field, code) in cases {
        let r = register(&app, &builder).await;
        assert_eq!(code_of(&r, field).as_deref(), Some(code), "{:?}", r.body);
    }
    let builder = VolunteerBuilder::new(VILLAGE, 4);
    let password = builder.body["password"].as_str().unwrap().to_owned();
    let (number, _) = app.volunteer(builder).await;
    let token = app.login(&number, &password).await;
    let last = (number.as_bytes()[12] - b'0' + 1) % 10;
    let typo = format!("{}{last}", &number[..12]);
    let r = app
        .get(&format!("/api/v1/volunteers/{typo}"), Some(&token))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(
        code_of(&r, "number").as_deref(),
        Some("check_digit"),
        "{:?}",
        r.body
    );
}

/// Every refused registration: status, the field named, and nothing written.
#[tokio::test]
async fn bad_registrations_name_the_field_and_write_nothing() {
    let app = app().await;
    let base = VolunteerBuilder::new(VILLAGE, 1);
    let mut wrong_check = base.clone();
    let n = wrong_check.body["id_document"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = if n.ends_with('0') { "1" } else { "0" };
    wrong_check.body["id_document"]["number"] = json!(format!("{}{last}", &n[..17]));
    let mut impossible_date = base.clone();
    impossible_date.body["id_document"]["number"] = json!(resident_id("440106", "19900230", 1));
    impossible_date.body["birth_date"] = json!("1990-02-30");
    let mut bad_hk = base.clone();
    bad_hk.body["id_document"] = json!({"type": "hk_id", "number": "A123456(4)"});
    let cases: Vec<(&str, VolunteerBuilder, StatusCode, &str)> = vec![
        (
            "wrong check digit",
            wrong_check,
            StatusCode::UNPROCESSABLE_ENTITY,
            "id_document.number",
        ),
        (
            "impossible birth date",
            impossible_date,
            StatusCode::UNPROCESSABLE_ENTITY,
            "id_document.number",
        ),
        (
            "wrong HK check digit",
            bad_hk,
            StatusCode::UNPROCESSABLE_ENTITY,
            "id_document.number",
        ),
        (
            "unknown region",
            base.clone().with("residence_region", json!("440199")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "residence_region",
        ),
        (
            "malformed region",
            base.clone().with("residence_region", json!("44A1")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "residence_region",
        ),
        (
            "minor without guardian",
            base.clone().born(&born_years_ago(16), 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "guardian",
        ),
        (
            "under fourteen",
            base.clone().born(&born_years_ago(12), 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "birth_date",
        ),
        (
            "birth date not the document's",
            base.clone().with("birth_date", json!("1990-01-02")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "birth_date",
        ),
        (
            "unknown field",
            base.clone().with("nickname", json!("x")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "nickname",
        ),
        (
            "unknown nested field",
            base.clone().with(
                "id_document",
                json!({"type": "mainland_id", "number": "x", "issuer": "y"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "id_document.issuer",
        ),
        (
            "missing field",
            base.clone().without("name"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            "wrong type",
            base.clone().with("skills", json!("急救")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "skills",
        ),
        (
            "unknown category",
            base.clone()
                .with("service_categories", json!(["astrology"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "service_categories[0]",
        ),
        (
            "old privacy policy",
            base.clone()
                .with("privacy_consent_version", json!("2020-01")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "privacy_consent_version",
        ),
        (
            "short password",
            base.clone().with("password", json!("short")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
        ),
    ];
    for (what, builder, status, field) in cases {
        let r = register(&app, &builder).await;
        assert_eq!(r.status, status, "{what}: {:?}", r.body);
        assert!(
            r.error_fields().contains(&field.to_owned()),
            "{what}: {:?}",
            r.body
        );
    }
    let url = format!("{}/api/v1/volunteers", app.base);
    let raw = |body: String, ct: &'static str| {
        app.client
            .post(&url)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let malformed = raw("{\"name\": ".into(), "application/json").await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "malformed");
    let oversized = raw(
        format!("{{\"name\": \"{}\"}}", "x".repeat(70_000)),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = oversized.json().await.unwrap();
    assert_eq!(body["error"]["code"], "body_too_large");
    let not_json = raw(base.body.to_string(), "text/plain").await.unwrap();
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(app.zhiyuan.store().count_volunteers().await.unwrap(), 0);
    // Only the region fixtures are in the trail.
    assert!(
        app.zhiyuan
            .store()
            .list_audit(&AuditQuery::default(), &PageRequest::first(200))
            .await
            .unwrap()
            .items
            .iter()
            .all(|a| a.action == "region.create")
    );
}

#[tokio::test]
async fn the_same_document_registers_once() {
    let app = app().await;
    let b = VolunteerBuilder::new(VILLAGE, 7);
    assert_eq!(register(&app, &b).await.status, StatusCode::CREATED);
    let before = audit_entries(&app).await;
    let again = register(&app, &b.clone().with("phone", json!("13700137000"))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.field_codes(),
        why("id_document.number", "already_registered")
    );
    assert_eq!(app.zhiyuan.store().count_volunteers().await.unwrap(), 1);
    assert_eq!(audit_entries(&app).await, before);
}

#[tokio::test]
async fn a_renewed_travel_permit_is_the_same_person() {
    let app = app().await;
    let permit = |n: &str| {
        VolunteerBuilder::new(VILLAGE, 9)
            .with("id_document", json!({"type": "travel_permit", "number": n}))
    };
    assert_eq!(
        register(&app, &permit("H1234567800")).await.status,
        StatusCode::CREATED
    );
    let renewed = register(&app, &permit("H1234567801")).await;
    assert_eq!(renewed.status, StatusCode::CONFLICT, "{:?}", renewed.body);
}
