//! Signing in and out, throttling, and what a token opens.

use reqwest::StatusCode;
use serde_json::json;
use zhiyuan_domain::access::GrantedRole;
use zhiyuan_testkit::{PASSWORD, TestApp, VolunteerBuilder, why};

#[tokio::test]
async fn a_login_opens_me_and_a_logout_closes_it() {
    let app = TestApp::spawn().await;
    let token = app.admin("gz-admin", "440100").await;
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["grants"][0]["role"], "jurisdiction_admin");
    assert_eq!(me.body["grants"][0]["region"], "440100");
    assert_eq!(me.body["account"]["login"], "gz-admin");
    assert_eq!(me.body["account"]["id"], me.body["account_id"]);
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
    // What an app greets the volunteer with when it starts again from a token it kept.
    let profile = app
        .get(&format!("/api/v1/volunteers/{number}"), Some(&token))
        .await;
    assert_eq!(me.body["account"]["login"], number);
    assert_eq!(me.body["account"]["display_name"], profile.body["name"]);
    assert!(
        me.body["account"]["display_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
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
            let failed = app
                .post(
                    "/api/v1/auth/login",
                    None,
                    json!({"login": "gz-admin", "password": "nope-nope"}),
                )
                .await;
            assert_eq!(failed.status, StatusCode::UNAUTHORIZED, "{:?}", failed.body);
        }
        // Panics unless the login succeeds: four failures in a row, three times over
        // (twelve in all, past the limit of five), never lock.
        app.login("gz-admin", PASSWORD).await;
    }
}

#[tokio::test]
async fn an_administrator_takes_a_staff_accounts_access_away_with_a_reason_and_gives_it_back() {
    let app = TestApp::spawn().await;
    let province = app.admin("gd-admin", "440000").await;
    let gz = app.admin("gz-admin", "440100").await;
    let sz = app.admin("sz-admin", "440300").await;
    let (number, volunteer) = app
        .volunteer(VolunteerBuilder::new("440106001001", 3))
        .await;
    let take = json!({"disabled": true, "reason": "调离岗位"});
    // Only an administrator covering all the account's roles; a volunteer learns nothing,
    // not even whether the login exists.
    let by_sz = app
        .patch("/api/v1/staff/gz-admin", Some(&sz), take.clone())
        .await;
    assert_eq!(by_sz.status, StatusCode::FORBIDDEN);
    for login in ["gz-admin", "nobody"] {
        let path = format!("/api/v1/staff/{login}");
        let r = app.patch(&path, Some(&volunteer), take.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{login}");
    }
    // Not one's own account; not a volunteer's; not a login that does not exist.
    let own = app
        .patch("/api/v1/staff/gz-admin", Some(&gz), take.clone())
        .await;
    assert_eq!(
        (own.status, own.field_codes()),
        (StatusCode::CONFLICT, why("disabled", "own_account"))
    );
    for login in [number.as_str(), "nobody"] {
        let path = format!("/api/v1/staff/{login}");
        let r = app.patch(&path, Some(&province), take.clone()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{login}");
    }
    // Taking access away needs a reason.
    let bare = app
        .patch(
            "/api/v1/staff/gz-admin",
            Some(&province),
            json!({"disabled": true, "reason": " "}),
        )
        .await;
    assert_eq!(bare.error_fields(), ["reason"]);
    assert_eq!(
        app.get("/api/v1/me", Some(&gz)).await.status,
        StatusCode::OK
    );
    let taken = app
        .patch("/api/v1/staff/gz-admin", Some(&province), take)
        .await;
    assert_eq!(taken.status, StatusCode::OK, "{:?}", taken.body);
    assert_eq!(taken.body["disabled"], true);
    // The session it had is over, and no new one opens.
    assert_eq!(
        app.get("/api/v1/me", Some(&gz)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Trying anyway, with the right password, counts toward the login's lock as any
    // failed sign-in does (nobody learns that the account is disabled).
    let login = json!({"login": "gz-admin", "password": PASSWORD});
    for _ in 0..5 {
        let refused = app.post("/api/v1/auth/login", None, login.clone()).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    }
    let locked = app.post("/api/v1/auth/login", None, login.clone()).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let trail = app
        .get(
            &format!(
                "/api/v1/audit?subject_type=account&subject_id={}",
                taken.body["id"]
            ),
            Some(&province),
        )
        .await;
    let entry = &trail.body["items"][0];
    assert_eq!(
        (entry["action"].as_str(), entry["reason"].as_str()),
        (Some("account.disable"), Some("调离岗位"))
    );
    // Given back: signing in works again at once, the lock the attempts set lifted.
    let given = app
        .patch(
            "/api/v1/staff/gz-admin",
            Some(&province),
            json!({"disabled": false}),
        )
        .await;
    assert_eq!(given.body["disabled"], false);
    let back = app.post("/api/v1/auth/login", None, login).await;
    assert_eq!(back.status, StatusCode::OK);
}

#[tokio::test]
async fn an_administrator_moves_a_staff_account_and_its_session_carries_the_new_roles() {
    let app = TestApp::spawn().await;
    let province = app.admin("gd-admin", "440000").await;
    let gz = app.admin("gz-admin", "440100").await;
    let sz = app.admin("sz-admin", "440300").await;
    let mover = app.admin("mover", "440100").await;
    let site = app.site("440106001", "practice_institute").await;
    let (number, volunteer) = app
        .volunteer(VolunteerBuilder::new("440106001001", 3))
        .await;
    let path = "/api/v1/staff/mover/roles";
    let to_shenzhen = json!({
        "roles": [
            {"role": "jurisdiction_admin", "region": "440300"},
            {"role": "auditor", "region": "440100"},
        ],
        "reason": "调往深圳",
    });
    // The administrator must cover the roles held (Shenzhen does not cover Guangzhou's)
    // and the roles given (Guangzhou cannot give Shenzhen's); a volunteer learns nothing.
    for (caller, login) in [
        (&sz, "mover"),
        (&gz, "mover"),
        (&volunteer, "mover"),
        (&volunteer, "nobody"),
    ] {
        let r = app
            .put(
                &format!("/api/v1/staff/{login}/roles"),
                Some(caller),
                to_shenzhen.clone(),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{login}: {:?}", r.body);
    }
    for login in [number.as_str(), "nobody"] {
        let r = app
            .put(
                &format!("/api/v1/staff/{login}/roles"),
                Some(&province),
                to_shenzhen.clone(),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{login}");
        let read = app
            .get(&format!("/api/v1/staff/{login}"), Some(&province))
            .await;
        assert_eq!(read.status, StatusCode::NOT_FOUND, "{login}");
    }
    // What is read before a change: the account and every role it holds, for those whose
    // jurisdiction covers them all (Shenzhen's does not; a volunteer learns nothing).
    for caller in [&sz, &volunteer] {
        let r = app.get("/api/v1/staff/mover", Some(caller)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    }
    let read = app.get("/api/v1/staff/mover", Some(&gz)).await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    assert_eq!(
        (&read.body["account"]["login"], &read.body["roles"]),
        (
            &json!("mover"),
            &json!([{"role": "jurisdiction_admin", "region": "440100", "site": null}])
        )
    );
    let own = app
        .put(
            "/api/v1/staff/gd-admin/roles",
            Some(&province),
            to_shenzhen.clone(),
        )
        .await;
    assert_eq!(
        (own.status, own.field_codes()),
        (StatusCode::CONFLICT, why("roles", "own_account"))
    );
    // Each malformed request is named by its field; nothing changes.
    for (body, field, code) in [
        (json!({"roles": [], "reason": "x"}), "roles", "required"),
        (
            json!({"roles": [{"role": "site_staff", "site": 999_999}], "reason": "x"}),
            "roles[0].site",
            "not_found",
        ),
        (
            json!({"roles": [{"role": "auditor", "region": "440100"}, {"role": "auditor"}], "reason": "x"}),
            "roles[1].region",
            "required",
        ),
        (
            json!({"roles": [{"role": "auditor", "region": "449900"}], "reason": "x"}),
            "roles[0].region",
            "unknown_region",
        ),
        (
            json!({"roles": [{"role": "auditor", "region": "440100"}]}),
            "reason",
            "required",
        ),
    ] {
        let r = app.put(path, Some(&province), body).await;
        assert_eq!(
            (r.status, r.field_codes()),
            (StatusCode::UNPROCESSABLE_ENTITY, why(field, code)),
            "{:?}",
            r.body
        );
    }
    let shouting = json!({"login": "GZ Admin", "display_name": "陈主任",
        "password": "password-1", "role": "auditor", "region": "440100"});
    let r = app.post("/api/v1/staff", Some(&province), shouting).await;
    assert_eq!(r.field_codes(), why("login", "login_shape"));
    let me = app.get("/api/v1/me", Some(&mover)).await;
    assert_eq!(me.body["grants"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/api/v1/staff?within=440300", Some(&mover))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let moved = app.put(path, Some(&province), to_shenzhen.clone()).await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    assert_eq!(
        moved.body["roles"],
        json!([
            {"role": "jurisdiction_admin", "region": "440300", "site": null},
            {"role": "auditor", "region": "440100", "site": null},
        ])
    );
    let read = app.get("/api/v1/staff/mover", Some(&province)).await;
    assert_eq!(read.body, moved.body, "read back as replaced");
    // The session it had goes on, with the new roles at once (not after the cache of
    // verified tokens expires): Shenzhen's staff are its to list now.
    assert_eq!(
        app.get("/api/v1/staff?within=440300", Some(&mover))
            .await
            .status,
        StatusCode::OK
    );
    let grants = app.get("/api/v1/me", Some(&mover)).await.body["grants"].clone();
    assert_eq!(grants.as_array().unwrap().len(), 2, "{grants}");
    assert!(
        !grants
            .to_string()
            .contains("\"jurisdiction_admin\",\"region\":\"440100"),
        "{grants}"
    );
    // Guangzhou's administrator covered only the roles held before; now Shenzhen's part
    // is beyond it, and Shenzhen's admin does not cover the Guangzhou auditor.
    let station = json!({"roles": [{"role": "site_staff", "site": site.0}], "reason": "调往站点"});
    for caller in [&gz, &sz] {
        let r = app.put(path, Some(caller), station.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    }
    // The province can; the same roles again change nothing and write no entry.
    let to_station = app.put(path, Some(&province), station.clone()).await;
    assert_eq!(to_station.body["roles"][0]["site"], site.0);
    assert_eq!(to_station.body["roles"][0]["region"], "440106001");
    let again = app.put(path, Some(&province), station).await;
    assert_eq!(again.status, StatusCode::OK);
    // Each city's trail shows each change its roles took part in: the move between the
    // two cities in both, the move to the station (in Guangzhou) in both too, as the
    // Shenzhen role was taken away; the province's shows every entry.
    let account = &moved.body["account"]["id"];
    let trail = |caller, within| {
        let path =
            format!("/api/v1/audit?within={within}&subject_type=account&subject_id={account}");
        let app = &app;
        async move {
            let r = app.get(&path, Some(caller)).await;
            assert_eq!(r.status, StatusCode::OK, "{within}: {:?}", r.body);
            r.body["items"].as_array().unwrap().clone()
        }
    };
    let summary = |entries: &[serde_json::Value]| {
        entries
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["region"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let roles = |region: &str| ("account.roles".to_owned(), region.to_owned());
    let gz_trail = trail(&gz, "440100").await;
    assert_eq!(
        summary(&gz_trail),
        [
            roles("440100"),
            roles("440100"),
            ("account.create".to_owned(), "440100".to_owned())
        ]
    );
    let sz_trail = trail(&sz, "440300").await;
    assert_eq!(summary(&sz_trail), [roles("440300"), roles("440300")]);
    let all = trail(&province, "440000").await;
    let actions: Vec<_> = summary(&all)
        .into_iter()
        .map(|(action, _)| action)
        .collect();
    assert_eq!(
        actions,
        ["account.roles", "account.roles", "account.create"],
        "the province sees each change once"
    );
    for (gz_entry, sz_entry) in [(&gz_trail[1], &sz_trail[1]), (&gz_trail[0], &sz_trail[0])] {
        assert_eq!(gz_entry["request_id"], sz_entry["request_id"]);
        assert_eq!(gz_entry["details"], sz_entry["details"]);
    }
    let first = &gz_trail[1];
    assert_eq!(first["reason"], "调往深圳");
    assert_eq!(
        first["details"]["before"],
        json!([{"role": "jurisdiction_admin", "region": "440100", "site": null}])
    );
}

fn new_password(current: &str, new: &str) -> serde_json::Value {
    json!({"current_password": current, "new_password": new})
}

#[tokio::test]
async fn a_volunteer_changes_their_password_and_their_other_sessions_end() {
    let app = TestApp::spawn().await;
    let builder = VolunteerBuilder::new("440106001001", 3);
    let password = builder.body["password"].as_str().unwrap().to_owned();
    let (number, phone) = app.volunteer(builder).await;
    let laptop = app.login(&number, &password).await;
    let path = "/api/v1/me/password";
    let refused = [
        (
            new_password("wrong-password", "a-new-password"),
            why("current_password", "wrong_password"),
        ),
        (
            new_password(&password, "short"),
            why("new_password", "password_length"),
        ),
        (
            new_password(&password, &password),
            why("new_password", "same_password"),
        ),
    ];
    for (body, expected) in refused {
        let r = app.post(path, Some(&phone), body).await;
        assert_eq!(
            (r.status, r.field_codes()),
            (StatusCode::UNPROCESSABLE_ENTITY, expected)
        );
    }
    let anonymous = app
        .post(path, None, new_password(&password, "a-new-password"))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let changed = app
        .post(
            path,
            Some(&phone),
            new_password(&password, "a-new-password"),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{:?}", changed.body);
    // The session it was changed from stays; the other one ends.
    assert_eq!(
        app.get("/api/v1/me", Some(&phone)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&laptop)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let old = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": number, "password": password}),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    app.login(&number, "a-new-password").await;
}

#[tokio::test]
async fn wrong_current_passwords_lock_the_login_as_failed_logins_do() {
    let app = TestApp::spawn().await;
    let token = app.admin("gz-admin", "440100").await;
    let path = "/api/v1/me/password";
    for attempt in 1..=5 {
        let r = app
            .post(
                path,
                Some(&token),
                new_password("guess-number", "a-new-password"),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "attempt {attempt}"
        );
    }
    // Locked now: the right password is not even checked, here or at login.
    let right = app
        .post(path, Some(&token), new_password(PASSWORD, "a-new-password"))
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "gz-admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_jurisdiction_lists_its_staff_page_by_page_with_disabled_accounts_marked() {
    let app = TestApp::spawn().await;
    let province = app.admin("gd-admin", "440000").await;
    let gz = app.admin("gz-admin", "440100").await;
    let sz = app.admin("sz-admin", "440300").await;
    let site = app.site("440106001", "practice_institute").await;
    app.staff("th-staff", GrantedRole::SiteStaff, None, Some(site))
        .await;
    app.staff("gz-auditor", GrantedRole::Auditor, Some("440100"), None)
        .await;
    let (_, volunteer) = app
        .volunteer(VolunteerBuilder::new("440106001001", 3))
        .await;
    let taken = app
        .patch(
            "/api/v1/staff/th-staff",
            Some(&gz),
            json!({"disabled": true, "reason": "离职"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::OK);
    // Page by page, one role a page, within Guangzhou (the admin's only jurisdiction).
    let mut seen = Vec::new();
    let mut path = "/api/v1/staff?limit=1".to_owned();
    loop {
        let r = app.get(&path, Some(&gz)).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        for item in r.body["items"].as_array().unwrap() {
            seen.push((
                item["account"]["login"].as_str().unwrap().to_owned(),
                item["role"].as_str().unwrap().to_owned(),
                item["account"]["disabled"].as_bool().unwrap(),
            ));
            assert!(item["region"].as_str().unwrap().starts_with("4401"));
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/staff?limit=1&cursor={c}"),
            None => break,
        }
    }
    seen.sort();
    let want = [
        ("gz-admin", "jurisdiction_admin", false),
        ("gz-auditor", "auditor", false),
        ("th-staff", "site_staff", true),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(l, r, d)| ((*l).to_owned(), (*r).to_owned(), *d))
        .collect();
    assert_eq!(seen, want);
    // The province sees Shenzhen's too; Shenzhen does not see Guangzhou's; a volunteer
    // sees none.
    let all = app
        .get("/api/v1/staff?within=440000", Some(&province))
        .await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 5);
    let other = app.get("/api/v1/staff?within=440100", Some(&sz)).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let nobody = app.get("/api/v1/staff", Some(&volunteer)).await;
    assert_eq!(nobody.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_burst_of_concurrent_guesses_has_no_more_passwords_checked_than_one_at_a_time() {
    let app = TestApp::spawn().await;
    app.admin("gz-admin", "440100").await;
    let guess = |n: usize| {
        let body = json!({"login": "gz-admin", "password": format!("guess-{n:04}")});
        app.post("/api/v1/auth/login", None, body)
    };
    let answers = futures::future::join_all((0..40).map(guess)).await;
    let checked = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // Five passwords checked, as five guesses in a row would have; the rest refused
    // unchecked; and the login is locked against the right password too.
    assert_eq!((checked, refused), (5, 35));
    let right = json!({"login": "gz-admin", "password": PASSWORD});
    let locked = app.post("/api/v1/auth/login", None, right).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
}
