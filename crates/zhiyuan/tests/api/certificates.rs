//! Record certificates: issuing, the PDF, public verification, revocation.

use reqwest::StatusCode;
use serde_json::json;
use zhiyuan_testkit::why;

use crate::participation::{World, world};

async fn record(w: &World, number: &str, date: &str, minutes: i64) -> i64 {
    let r = w
        .app
        .post(
            &format!("/api/v1/organisations/{}/records", w.team),
            Some(&w.coordinator),
            json!({"volunteer": number, "activity_name": "社区义诊", "service_date": date,
                   "place": "华工社区", "content": "测量血压", "minutes": minutes,
                   "responsible_person": "陈志愿"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_volunteer_issues_a_certificate_whose_pdf_and_verification_tell_the_same_facts() {
    let w = world().await;
    let (number, token) = w.volunteer(161).await;
    let none = w
        .app
        .post("/api/v1/me/certificates", Some(&token), json!({}))
        .await;
    assert_eq!(
        (none.status, none.field_codes()),
        (StatusCode::CONFLICT, why("records", "nothing_to_certify"))
    );
    let first = record(&w, &number, "2026-10-01", 150).await;
    record(&w, &number, "2026-10-02", 90).await;
    let issued = w
        .app
        .post(
            "/api/v1/me/certificates",
            Some(&token),
            json!({"list_records": true}),
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{:?}", issued.body);
    assert_eq!(
        (
            issued.body["hours"].as_f64(),
            issued.body["records"].as_i64()
        ),
        (Some(4.0), Some(2))
    );
    let cert = issued.body["number"].as_str().unwrap().to_owned();
    assert!(
        issued.body["verify_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/verify/{cert}"))
    );

    // The PDF names the volunteer, shows the document masked, and the certificate number.
    let pdf = w
        .app
        .client
        .get(format!("{}/api/v1/certificates/{cert}/pdf", w.app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    for expected in [
        "志愿服务记录证明",
        "陈测试",
        &number,
        &cert,
        "测量血压",
        "4 小时（2 条记录）",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(text.contains("4401**********"), "the masked document");

    // A volunteer from Hong Kong, a school abroad: the same facts in Hong Kong's Traditional
    // Chinese or in English, chosen by the link or the browser; names as recorded.
    let printed = |query: &'static str, accept_language: &'static str| {
        let url = format!("{}/api/v1/certificates/{cert}/pdf{query}", w.app.base);
        let request = w.app.client.get(url).bearer_auth(&token);
        async move {
            let r = request
                .header("accept-language", accept_language)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let language = r.headers()["content-language"].to_str().unwrap().to_owned();
            let bytes = r.bytes().await.unwrap();
            (
                language,
                pdf_extract::extract_text_from_mem(&bytes).unwrap(),
            )
        }
    };
    for (query, accept_language, tag, expected) in [
        (
            "?lang=zh-HK",
            "en",
            "zh-HK",
            ["志願服務記錄證明", "4 小時（2 條記錄）", "居民身份證"],
        ),
        (
            "",
            "en-GB,en;q=0.9",
            "en",
            [
                "Volunteer Service Record Certificate",
                "4 hours (2 records)",
                "Resident Identity Card",
            ],
        ),
        (
            "",
            "fr-FR",
            "zh-CN",
            ["志愿服务记录证明", "4 小时（2 条记录）", "居民身份证"],
        ),
    ] {
        let (language, text) = printed(query, accept_language).await;
        assert_eq!(language, tag);
        for expected in expected
            .iter()
            .chain(&["陈测试", "测量血压", cert.as_str()])
        {
            assert!(
                text.contains(expected),
                "{tag}: {expected} missing from:\n{text}"
            );
        }
        assert!(
            text.contains(&format!("/verify/{cert}")),
            "{tag}: the same QR address"
        );
    }

    // Anyone verifies it, and learns the certified facts but no identity document.
    let v = w
        .app
        .get(&format!("/api/v1/certificates/{cert}/verification"), None)
        .await;
    assert_eq!(v.body["status"], "valid");
    assert_eq!(
        (v.body["name"].as_str(), v.body["hours"].as_f64()),
        (Some("陈测试"), Some(4.0))
    );
    assert_eq!(v.body["listed"].as_array().unwrap().len(), 2);
    let body = v.body.to_string();
    assert!(
        !body.contains("document") && !body.contains("****"),
        "no identity document: {body}"
    );
    let page = w
        .app
        .client
        .get(format!("{}/verify/{cert}", w.app.base))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("陈测试"));
    // A school in Hong Kong, a partner abroad: the page's own words in their language,
    // from the browser's preference or the link's; the name as recorded, never converted.
    let read = |query: &'static str, accept_language: &'static str| {
        let url = format!("{}/verify/{cert}{query}", w.app.base);
        let client = w.app.client.clone();
        async move { read_page(&client, &url, accept_language).await }
    };
    for (query, accept_language, tag, heading) in [
        (
            "",
            "zh-HK,zh;q=0.9,en;q=0.8",
            "zh-HK",
            "志願服務記錄證明核驗",
        ),
        (
            "",
            "en-GB,en;q=0.9",
            "en",
            "Volunteer service record certificate",
        ),
        ("", "fr-FR", "zh-CN", "志愿服务记录证明核验"),
        (
            "?lang=en",
            "zh-HK",
            "en",
            "Volunteer service record certificate",
        ),
    ] {
        let (status, language, text) = read(query, accept_language).await;
        assert_eq!((status, language.as_str()), (StatusCode::OK, tag));
        assert!(text.contains(&format!("<html lang=\"{tag}\">")), "{text}");
        assert!(text.contains(heading), "{tag}: {text}");
        assert!(text.contains("陈测试"), "{tag}: the name as recorded");
    }
    let (_, _, english) = read("", "en").await;
    assert!(english.contains("4 hours (2 records)"), "{english}");
    assert!(
        english.contains(&format!("/verify/{cert}?lang=zh-HK")),
        "{english}"
    );
    let unknown = w
        .app
        .client
        .get(format!("{}/verify/ZY-0000-0000-0000-0000", w.app.base))
        .header("accept-language", "zh-HK")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let unknown = unknown.text().await.unwrap();
    assert!(unknown.contains("找不到該證明"));
    // The page not found holds the number tried, in a form to correct it.
    assert!(
        unknown.contains("name=\"number\" value=\"ZY-0000-0000-0000-0000\""),
        "{unknown}"
    );

    // A school with the certificate on paper, its QR code unreadable, opens the platform
    // and types the number as it reads it: lower case, without dashes, O for 0. The form
    // takes it to the certificate's page, in the language it was asked in.
    for start in ["/", "/verify"] {
        let url = format!("{}{start}", w.app.base);
        let (status, language, form) = read_page(&w.app.client, &url, "en").await;
        assert_eq!((status, language.as_str()), (StatusCode::OK, "en"));
        assert!(
            form.contains("<form action=\"/verify\" method=\"get\">")
                && form.contains("Type the number printed on the certificate"),
            "{start}: {form}"
        );
    }
    let typed = cert.to_lowercase().replace('-', "").replace('0', "o");
    let not_following = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sent = not_following
        .get(format!("{}/verify?number={typed}&lang=zh-HK", w.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        sent.headers()["location"],
        format!("/verify/{cert}?lang=zh-HK").as_str()
    );
    // Followed, the typed number reaches the certificate; what cannot be a number reaches
    // a page that says it is not found.
    for (number, language, wanted_status, wanted) in [
        (
            typed.as_str(),
            "zh-HK",
            StatusCode::OK,
            ["陈测试", "志願服務記錄證明核驗", "?lang=en\">English</a>"],
        ),
        (
            "%3Cb%3E%20x",
            "en",
            StatusCode::NOT_FOUND,
            [
                "Certificate not found",
                "value=\"&lt;b&gt; x\"",
                "href=\"/verify/%3Cb%3E%20x?lang=zh-HK\"",
            ],
        ),
    ] {
        let url = format!("{}/verify?number={number}", w.app.base);
        let (status, _, text) = read_page(&w.app.client, &url, language).await;
        assert_eq!(status, wanted_status, "{number}");
        assert!(wanted.iter().all(|t| text.contains(t)), "{number}: {text}");
    }
    let by_api = w
        .app
        .get(&format!("/api/v1/certificates/{typed}/verification"), None)
        .await;
    assert_eq!(by_api.body["number"], cert.as_str(), "{:?}", by_api.body);
    let missing = w
        .app
        .get(
            "/api/v1/certificates/ZY-0000-0000-0000-0000/verification",
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The certificate keeps what it certified when the records change later.
    let asked = w
        .app
        .post(
            &format!("/api/v1/records/{first}/corrections"),
            Some(&token),
            json!({"reason": "更正", "changes": {"minutes": 30}}),
        )
        .await;
    w.app
        .post(
            &format!("/api/v1/corrections/{}/decision", asked.body["id"]),
            Some(&w.coordinator),
            json!({"approve": true}),
        )
        .await;
    let v = w
        .app
        .get(&format!("/api/v1/certificates/{cert}/verification"), None)
        .await;
    assert_eq!(v.body["hours"], 4.0);

    // Only the volunteer and their jurisdiction download it.
    let (_, stranger) = w.volunteer(163).await;
    let r = w
        .app
        .get(&format!("/api/v1/certificates/{cert}/pdf"), Some(&stranger))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let gz = w.app.admin("gz-admin", "440100").await;
    let r = w
        .app
        .client
        .get(format!("{}/api/v1/certificates/{cert}/pdf", w.app.base))
        .bearer_auth(&gz)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Revoked, it verifies as revoked.
    let revoke = format!("/api/v1/certificates/{cert}/revoke");
    assert_eq!(
        w.app
            .post(&revoke, Some(&stranger), json!({"reason": "x"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = w
        .app
        .post(
            &revoke,
            Some(&token),
            json!({"reason": "信息有误，重新开具"}),
        )
        .await;
    assert!(r.body["revoked_at"].is_string(), "{:?}", r.body);
    let again = w
        .app
        .post(&revoke, Some(&token), json!({"reason": "again"}))
        .await;
    assert_eq!(
        (again.status, again.field_codes()),
        (StatusCode::CONFLICT, why("status", "already_revoked"))
    );
    let v = w
        .app
        .get(&format!("/api/v1/certificates/{cert}/verification"), None)
        .await;
    assert_eq!(v.body["status"], "revoked");
    // Printed after its revocation, it says so first, in its language.
    for (query, revoked) in [
        ("?lang=zh-CN", "本证明已被撤销，不再有效。"),
        ("?lang=zh-HK", "本證明已被撤銷，不再有效。"),
        ("?lang=en", "This certificate has been revoked"),
    ] {
        let (_, text) = printed(query, "").await;
        assert!(text.contains(revoked), "{query}: {text}");
    }
    let mine = w.app.get("/api/v1/me/certificates", Some(&token)).await;
    assert_eq!(mine.body["items"][0]["number"], cert);
}

#[tokio::test]
async fn a_certificate_can_cover_a_period_and_refuses_an_inverted_one() {
    let w = world().await;
    let (number, token) = w.volunteer(165).await;
    record(&w, &number, "2026-09-01", 60).await;
    record(&w, &number, "2026-10-01", 120).await;
    let october = w
        .app
        .post(
            "/api/v1/me/certificates",
            Some(&token),
            json!({"from": "2026-10-01", "until": "2026-10-31"}),
        )
        .await;
    assert_eq!(october.body["hours"], 2.0);
    let inverted = w
        .app
        .post(
            "/api/v1/me/certificates",
            Some(&token),
            json!({"from": "2026-10-31", "until": "2026-10-01"}),
        )
        .await;
    assert_eq!(inverted.field_codes(), why("until", "before_start"));
    let bad = w
        .app
        .post(
            "/api/v1/me/certificates",
            Some(&token),
            json!({"from": "2026-13-01"}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["from"]);
}

/// A page as a browser reading `accept_language` gets it, after any redirect: its status,
/// its language and its text.
async fn read_page(
    client: &reqwest::Client,
    url: &str,
    accept_language: &str,
) -> (StatusCode, String, String) {
    let r = client
        .get(url)
        .header("accept-language", accept_language)
        .send()
        .await
        .unwrap();
    let language = r.headers()["content-language"].to_str().unwrap().to_owned();
    (r.status(), language, r.text().await.unwrap())
}
