//! Regions, sites, organisations and memberships through the API, with their audit trail.

use reqwest::StatusCode;
use serde_json::json;
use zhiyuan_testkit::{TestApp, VolunteerBuilder, why};

#[tokio::test]
async fn an_admin_builds_the_practice_network_below_the_jurisdiction() {
    let app = TestApp::spawn().await;
    let gz = app.admin("gz-admin", "440100").await;
    for (code, name) in [
        ("440106", "天河区"),
        ("440106001", "五山街道"),
        ("440106001001", "华工社区"),
    ] {
        let r = app
            .post(
                "/api/v1/regions",
                Some(&gz),
                json!({"code": code, "name": name}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let town = app.get("/api/v1/regions/440106001", None).await;
    assert_eq!(town.body["level"], "town");
    assert_eq!(town.body["parent"], "440106");
    // A region whose parent does not exist, and a duplicate.
    let orphan = app
        .post(
            "/api/v1/regions",
            Some(&gz),
            json!({"code": "440107001", "name": "x"}),
        )
        .await;
    assert_eq!(
        (orphan.status, orphan.field_codes()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            why("code", "unknown_region")
        )
    );
    // Provinces are reference data.
    let province = app
        .post(
            "/api/v1/regions",
            Some(&gz),
            json!({"code": "450000", "name": "x"}),
        )
        .await;
    assert_eq!(province.field_codes(), why("code", "province_fixed"));
    let dup = app
        .post(
            "/api/v1/regions",
            Some(&gz),
            json!({"code": "440106", "name": "again"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.field_codes()),
        (StatusCode::CONFLICT, why("code", "exists"))
    );

    let station = app
        .post(
            "/api/v1/sites",
            Some(&gz),
            json!({"region": "440106001001", "kind": "practice_station", "name": "华工社区新时代文明实践站",
                   "address": "五山路381号", "location": {"lat": 23.15, "lng": 113.34}}),
        )
        .await;
    assert_eq!(station.status, StatusCode::CREATED, "{:?}", station.body);
    let misplaced = app
        .post(
            "/api/v1/sites",
            Some(&gz),
            json!({"region": "440106", "kind": "practice_station", "name": "x", "address": "y"}),
        )
        .await;
    assert_eq!(misplaced.field_codes(), why("region", "site_level"));
    assert_eq!(
        misplaced.body["error"]["fields"][0]["reason"],
        "a practice station belongs in a village or community"
    );
    let bad_point = app
        .post(
            "/api/v1/sites",
            Some(&gz),
            json!({"region": "440106", "kind": "practice_center", "name": "x", "address": "y",
                   "location": {"lat": 123.0, "lng": 113.0}}),
        )
        .await;
    assert_eq!(bad_point.error_fields(), ["location.lat"]);

    // Registered organisations need a valid credit code; teams must not have one.
    let org = app
        .post(
            "/api/v1/organisations",
            Some(&gz),
            json!({"kind": "registered_organisation", "name": "天河区志愿者协会", "region": "440106",
                   "credit_code": "91350100M000100Y43", "service_categories": ["community"]}),
        )
        .await;
    assert_eq!(org.status, StatusCode::CREATED, "{:?}", org.body);
    let no_code = app
        .post(
            "/api/v1/organisations",
            Some(&gz),
            json!({"kind": "registered_organisation", "name": "x", "region": "440106"}),
        )
        .await;
    assert_eq!(no_code.field_codes(), why("credit_code", "required"));
    let bad_code = app
        .post(
            "/api/v1/organisations",
            Some(&gz),
            json!({"kind": "registered_organisation", "name": "x", "region": "440106",
                   "credit_code": "91350100M000100Y44"}),
        )
        .await;
    assert_eq!(bad_code.field_codes(), why("credit_code", "check_digit"));
    let taken = app
        .post(
            "/api/v1/organisations",
            Some(&gz),
            json!({"kind": "registered_organisation", "name": "y", "region": "440106",
                   "credit_code": "91350100M000100Y43"}),
        )
        .await;
    assert_eq!(
        (taken.status, taken.error_fields()),
        (StatusCode::CONFLICT, vec!["credit_code".to_owned()])
    );
    let team = app
        .post(
            "/api/v1/organisations",
            Some(&gz),
            json!({"kind": "grassroots_team", "name": "华工社区志愿服务队", "region": "440106001001",
                   "parent": org.body["id"], "site": station.body["id"]}),
        )
        .await;
    assert_eq!(team.status, StatusCode::CREATED, "{:?}", team.body);
    let children = app
        .get(
            &format!("/api/v1/organisations?parent={}", org.body["id"]),
            None,
        )
        .await;
    assert_eq!(children.body["items"].as_array().unwrap().len(), 1);

    // Every change is in the jurisdiction's trail, newest first.
    let trail = app.get("/api/v1/audit", Some(&gz)).await;
    let actions: Vec<&str> = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "organisation.create",
            "organisation.create",
            "site.create",
            "region.create",
            "region.create",
            "region.create",
            "account.create"
        ]
    );
}

#[tokio::test]
async fn a_volunteer_applies_is_approved_promoted_and_leaves() {
    let app = TestApp::spawn().await;
    let village = "440106001001";
    let (leader, leader_tok) = app.volunteer(VolunteerBuilder::new(village, 1)).await;
    let (_member, member_tok) = app.volunteer(VolunteerBuilder::new(village, 3)).await;
    let team = app.team(village, None, Some(&leader)).await;
    let apply = format!("/api/v1/organisations/{}/memberships", team.0);
    let m = app.post(&apply, Some(&member_tok), json!({})).await;
    assert_eq!(
        (m.status, m.body["status"].as_str()),
        (StatusCode::CREATED, Some("pending"))
    );
    let again = app.post(&apply, Some(&member_tok), json!({})).await;
    assert_eq!(
        (again.status, again.field_codes()),
        (
            StatusCode::CONFLICT,
            why("organisation", "application_open")
        )
    );
    let path = format!("/api/v1/memberships/{}", m.body["id"]);
    // The applicant cannot approve themselves.
    let own = app
        .patch(&path, Some(&member_tok), json!({"status": "active"}))
        .await;
    assert_eq!(
        (own.status, own.field_codes()),
        (StatusCode::CONFLICT, why("status", "cannot_become"))
    );
    assert_eq!(
        own.body["error"]["fields"][0]["reason"],
        "cannot go from pending to active"
    );
    // Roles go to active members only.
    let early = app
        .patch(&path, Some(&leader_tok), json!({"role": "coordinator"}))
        .await;
    assert_eq!(early.field_codes(), why("role", "not_active_member"));
    let approved = app
        .patch(&path, Some(&leader_tok), json!({"status": "active"}))
        .await;
    assert_eq!(approved.body["status"], "active");
    let promoted = app
        .patch(
            &path,
            Some(&leader_tok),
            json!({"role": "coordinator", "reason": "活动骨干"}),
        )
        .await;
    assert_eq!(promoted.body["role"], "coordinator");
    let member_again = app.post(&apply, Some(&member_tok), json!({})).await;
    assert_eq!(
        (member_again.status, member_again.field_codes()),
        (StatusCode::CONFLICT, why("organisation", "already_member"))
    );
    // As coordinator the member now reads the team's list, but cannot manage it.
    let list = app.get(&apply, Some(&member_tok)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    let manage = app
        .patch(
            &format!("/api/v1/organisations/{}", team.0),
            Some(&member_tok),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(manage.status, StatusCode::FORBIDDEN);
    let left = app
        .patch(&path, Some(&member_tok), json!({"status": "left"}))
        .await;
    assert_eq!(left.body["status"], "left");
    let back = app.post(&apply, Some(&member_tok), json!({})).await;
    assert_eq!(
        (back.status, back.body["status"].as_str()),
        (StatusCode::CREATED, Some("pending"))
    );
    // The team's administrator was asked twice; the member told of the team's decisions
    // (not of leaving, their own doing).
    let asked = crate::participation::inbox(&app, &leader_tok).await;
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|(event, text)| event == "membership.apply" && text.ends_with("」，请审核"))
    );
    let told: Vec<String> = crate::participation::inbox(&app, &member_tok)
        .await
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told[0].ends_with("的角色已改为协调员"), "{told:?}");
    assert!(told[1].ends_with("的申请已通过"), "{told:?}");
}

#[tokio::test]
async fn profile_changes_are_audited_with_reason_and_guarded_by_version() {
    let app = TestApp::spawn().await;
    let (number, token) = app
        .volunteer(VolunteerBuilder::new("440106001001", 1))
        .await;
    let path = format!("/api/v1/volunteers/{number}");
    let mine = app
        .patch(
            &path,
            Some(&token),
            json!({"phone": "13700137000", "version": 1}),
        )
        .await;
    assert_eq!(
        (mine.status, mine.body["version"].as_i64()),
        (StatusCode::OK, Some(2))
    );
    let stale = app
        .patch(
            &path,
            Some(&token),
            json!({"phone": "13600136000", "version": 1}),
        )
        .await;
    assert_eq!(
        (stale.status, stale.error_fields()),
        (StatusCode::CONFLICT, vec!["version".to_owned()])
    );
    let rename = app
        .patch(&path, Some(&token), json!({"name": "改名"}))
        .await;
    assert_eq!(rename.field_codes(), why("name", "name_by_jurisdiction"));
    let admin = app.admin("gz-admin", "440100").await;
    let no_reason = app
        .patch(&path, Some(&admin), json!({"name": "陈正确"}))
        .await;
    assert_eq!(no_reason.field_codes(), why("reason", "required"));
    let fixed = app
        .patch(
            &path,
            Some(&admin),
            json!({"name": "陈正确", "reason": "身份证姓名核对"}),
        )
        .await;
    assert_eq!(fixed.body["name"], "陈正确");
    let trail = app
        .get(
            &format!("/api/v1/audit?subject_type=volunteer&subject_id={number}"),
            Some(&admin),
        )
        .await;
    let items = trail.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["reason"], "身份证姓名核对");
    assert_eq!(items[0]["details"]["name"]["to"], "陈正确");
    // Phones appear masked in the trail.
    assert_eq!(items[1]["details"]["phone"]["to"], "13*******00");
    assert!(!items[1].to_string().contains("13700137000"));
    // A move to Shenzhen is in both cities' trails: Shenzhen learns who moved the
    // volunteer in; Guangzhou keeps the record of the volunteer leaving.
    let moved = app
        .patch(
            &path,
            Some(&token),
            json!({"residence_region": "440300", "version": 3}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    let sz = app.admin("sz-admin", "440300").await;
    for (caller, within, filed_under) in [
        (&admin, "440100", "440106001001"),
        (&sz, "440300", "440300"),
    ] {
        let trail = app
            .get(
                &format!(
                    "/api/v1/audit?within={within}&subject_type=volunteer&subject_id={number}"
                ),
                Some(caller),
            )
            .await;
        let newest = &trail.body["items"][0];
        assert_eq!(
            (
                newest["action"].as_str(),
                newest["region"].as_str(),
                newest["details"]["residence_region"]["to"].as_str()
            ),
            (Some("volunteer.update"), Some(filed_under), Some("440300")),
            "{within}: {:?}",
            trail.body
        );
    }
}

#[tokio::test]
async fn listings_page_with_cursors_and_refuse_bad_ones() {
    let app = TestApp::spawn().await;
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(c) => format!("/api/v1/regions?parent=440000&limit=5&cursor={c}"),
            None => "/api/v1/regions?parent=440000&limit=5".to_owned(),
        };
        let page = app.get(&path, None).await;
        assert_eq!(page.status, StatusCode::OK);
        for r in page.body["items"].as_array().unwrap() {
            seen.push(r["code"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 21);
    assert_eq!(seen.first().map(String::as_str), Some("440100"));
    assert_eq!(seen.last().map(String::as_str), Some("445300"));
    let bad = app.get("/api/v1/regions?cursor=garbage", None).await;
    assert_eq!(bad.field_codes(), why("cursor", "not_a_cursor"));
    let zero = app.get("/api/v1/regions?limit=0", None).await;
    assert_eq!(zero.error_fields(), ["limit"]);
    let unknown = app.get("/api/v1/regions?colour=red", None).await;
    assert_eq!(unknown.error_fields(), ["colour"]);
    let level = app.get("/api/v1/regions?level=galaxy", None).await;
    assert_eq!(level.error_fields(), ["level"]);
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-request-id"));
}
