//! Signing in and out, throttling, and what a token opens.

use reqwest::StatusCode;
use serde_json::json;
use zhiyuan_testkit::{PASSWORD, TestApp, VolunteerBuilder};

#[tokio::test]
async fn a_login_opens_me_and_a_logout_closes_it() {
    let app = TestApp::spawn().await;
    let token = app.admin("gz-admin", "440100").await;
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["grants"][0]["role"], "jurisdiction_admin");
    assert_eq!(me.body["grants"][0]["region"], "440100");
    let out = app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/logout",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.error_code(), "unauthenticated");
}

#[tokio::test]
async fn a_volunteer_signs_in_with_the_volunteer_number() {
    let app = TestApp::spawn().await;
    let (number, token) = app
        .volunteer(VolunteerBuilder::new("440106001001", 3))
        .await;
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.body["volunteer_number"], number);
}

#[tokio::test]
async fn wrong_passwords_unknown_logins_and_bad_tokens_are_401() {
    let app = TestApp::spawn().await;
    app.admin("gz-admin", "440100").await;
    for (login, password) in [("gz-admin", "wrong-password"), ("nobody", PASSWORD)] {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"login": login, "password": password}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{login}");
    }
    assert_eq!(
        app.get("/api/v1/me", Some("zy1_not-a-token")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let basic = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_login_even_against_the_right_password() {
    let app = TestApp::spawn().await;
    app.admin("gz-admin", "440100").await;
    for _ in 0..5 {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"login": "gz-admin", "password": "guess-123"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let locked = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "gz-admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait));
    // Other logins are not affected.
    app.admin("sz-admin", "440300").await;
}

#[tokio::test]
async fn a_successful_login_clears_earlier_failures() {
    let app = TestApp::spawn().await;
    app.admin("gz-admin", "440100").await;
    for _round in 0..3 {
        for _ in 0..4 {
            app.post(
                "/api/v1/auth/login",
                None,
                json!({"login": "gz-admin", "password": "nope-nope"}),
            )
            .await;
        }
        // Panics unless the login succeeds: four failures never lock.
        app.login("gz-admin", PASSWORD).await;
    }
}
