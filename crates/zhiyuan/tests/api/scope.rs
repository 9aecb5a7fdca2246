//! The access table: who may read and change what. One fixture province (Guangzhou and
//! Shenzhen, a site in each, three teams, volunteers) and one table of requests, each with
//! the status it must get. Refused writes must leave the data as it was.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use zhiyuan_domain::access::GrantedRole;
use zhiyuan_testkit::{TestApp, VolunteerBuilder};

const GZ_VILLAGE: &str = "440106001001";
const SZ_VILLAGE: &str = "440304001001";

struct World {
    app: TestApp,
    tokens: std::collections::HashMap<&'static str, String>,
    gz_vol: String,
    sz_vol: String,
    b_only_vol: String,
    gz_site: i64,
    sz_site: i64,
    team_a: i64,
    team_b: i64,
    sz_team: i64,
    b_membership: i64,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let gz_site = app.site(GZ_VILLAGE, "practice_station").await;
    let sz_site = app.site(SZ_VILLAGE, "practice_station").await;
    let (a_admin, a_admin_tok) = app.volunteer(VolunteerBuilder::new(GZ_VILLAGE, 1)).await;
    let (b_admin, b_admin_tok) = app.volunteer(VolunteerBuilder::new(GZ_VILLAGE, 3)).await;
    let (gz_vol, gz_vol_tok) = app.volunteer(VolunteerBuilder::new(GZ_VILLAGE, 5)).await;
    let (b_only_vol, b_only_tok) = app.volunteer(VolunteerBuilder::new(SZ_VILLAGE, 9)).await;
    let (sz_vol, sz_vol_tok) = app.volunteer(VolunteerBuilder::new(SZ_VILLAGE, 7)).await;
    let team_a = app.team(GZ_VILLAGE, Some(gz_site), Some(&a_admin)).await;
    let team_b = app.team("440106", None, Some(&b_admin)).await;
    let sz_team = app.team(SZ_VILLAGE, Some(sz_site), None).await;
    // gz_vol joins team A; b_only_vol (who lives in Shenzhen) applies to team B.
    let r = app
        .post(
            &format!("/api/v1/organisations/{}/memberships", team_a.0),
            Some(&gz_vol_tok),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = app
        .patch(
            &format!("/api/v1/memberships/{}", r.body["id"]),
            Some(&a_admin_tok),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let b = app
        .post(
            &format!("/api/v1/organisations/{}/memberships", team_b.0),
            Some(&b_only_tok),
            json!({}),
        )
        .await;
    assert_eq!(b.status, StatusCode::CREATED);
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("gz_admin", app.admin("gz-admin", "440100").await);
    tokens.insert("sz_admin", app.admin("sz-admin", "440300").await);
    tokens.insert(
        "gz_auditor",
        app.staff("gz-auditor", GrantedRole::Auditor, Some("440100"), None)
            .await,
    );
    tokens.insert(
        "gz_site_staff",
        app.staff("gz-site", GrantedRole::SiteStaff, None, Some(gz_site))
            .await,
    );
    tokens.insert("team_a_admin", a_admin_tok);
    tokens.insert("team_b_admin", b_admin_tok);
    tokens.insert("gz_vol", gz_vol_tok);
    tokens.insert("sz_vol", sz_vol_tok);
    World {
        app,
        tokens,
        gz_vol,
        sz_vol,
        b_only_vol,
        gz_site: gz_site.0,
        sz_site: sz_site.0,
        team_a: team_a.0,
        team_b: team_b.0,
        sz_team: sz_team.0,
        b_membership: b.body["id"].as_i64().expect("membership id"),
    }
}

const OK: StatusCode = StatusCode::OK;
const CREATED: StatusCode = StatusCode::CREATED;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;

#[tokio::test]
async fn every_role_is_held_to_its_scope() {
    let w = world().await;
    let v = |n: &str| format!("/api/v1/volunteers/{n}");
    let members = |t: i64| format!("/api/v1/organisations/{t}/memberships");
    let org = |t: i64| format!("/api/v1/organisations/{t}");
    let site = |s: i64| format!("/api/v1/sites/{s}");
    let reason = json!({"phone": "13700000001", "reason": "更正"});
    let rename = json!({"name": "改名"});
    let disable = json!({"disabled": true, "reason": "越权测试"});
    let to_gz = json!({"roles": [{"role": "jurisdiction_admin", "region": "440100"}], "reason": "越权测试"});
    #[rustfmt::skip]
    let table: Vec<(&str, Method, String, Option<Value>, StatusCode)> = vec![
        // A Guangzhou admin: everything in Guangzhou, nothing in Shenzhen.
        ("gz_admin", Method::GET, v(&w.gz_vol), None, OK),
        ("gz_admin", Method::GET, v(&w.sz_vol), None, FORBIDDEN),
        ("gz_admin", Method::PATCH, v(&w.sz_vol), Some(reason.clone()), FORBIDDEN),
        ("gz_admin", Method::GET, members(w.sz_team), None, FORBIDDEN),
        ("gz_admin", Method::PATCH, org(w.sz_team), Some(rename.clone()), FORBIDDEN),
        ("gz_admin", Method::PATCH, site(w.sz_site), Some(rename.clone()), FORBIDDEN),
        ("gz_admin", Method::PATCH, "/api/v1/regions/440304".into(), Some(rename.clone()), FORBIDDEN),
        ("gz_admin", Method::POST, "/api/v1/regions".into(), Some(json!({"code": "440304002", "name": "x"})), FORBIDDEN),
        ("gz_admin", Method::POST, "/api/v1/sites".into(), Some(json!({"region": "440304", "kind": "practice_center", "name": "x", "address": "y"})), FORBIDDEN),
        ("gz_admin", Method::POST, "/api/v1/organisations".into(), Some(json!({"kind": "grassroots_team", "name": "x", "region": "440304"})), FORBIDDEN),
        ("gz_admin", Method::POST, "/api/v1/staff".into(), Some(json!({"login": "sneaky", "display_name": "x", "password": "password-1", "role": "jurisdiction_admin", "region": "440300"})), FORBIDDEN),
        ("gz_admin", Method::GET, "/api/v1/volunteers?within=440300".into(), None, FORBIDDEN),
        ("gz_admin", Method::GET, "/api/v1/audit?within=440300".into(), None, FORBIDDEN),
        ("gz_admin", Method::GET, "/api/v1/audit?within=440000".into(), None, FORBIDDEN),
        ("gz_admin", Method::GET, "/api/v1/staff?within=440300".into(), None, FORBIDDEN),
        ("gz_admin", Method::PATCH, "/api/v1/staff/sz-admin".into(), Some(disable.clone()), FORBIDDEN),
        ("gz_admin", Method::PUT, "/api/v1/staff/sz-admin/roles".into(), Some(to_gz.clone()), FORBIDDEN),
        ("gz_admin", Method::GET, "/api/v1/staff/sz-admin".into(), None, FORBIDDEN),
        // ... but a Shenzhen resident in a Guangzhou team is visible to Guangzhou.
        ("gz_admin", Method::GET, v(&w.b_only_vol), None, OK),
        ("gz_admin", Method::GET, members(w.team_a), None, OK),
        ("gz_admin", Method::GET, "/api/v1/volunteers".into(), None, OK),
        ("gz_admin", Method::GET, "/api/v1/audit".into(), None, OK),
        ("gz_admin", Method::GET, "/api/v1/staff".into(), None, OK),
        // An auditor reads the jurisdiction and changes nothing.
        ("gz_auditor", Method::GET, v(&w.gz_vol), None, OK),
        ("gz_auditor", Method::GET, v(&w.sz_vol), None, FORBIDDEN),
        ("gz_auditor", Method::PATCH, v(&w.gz_vol), Some(reason.clone()), FORBIDDEN),
        ("gz_auditor", Method::PATCH, site(w.gz_site), Some(rename.clone()), FORBIDDEN),
        ("gz_auditor", Method::GET, "/api/v1/audit".into(), None, OK),
        ("gz_auditor", Method::GET, "/api/v1/staff".into(), None, OK),
        ("gz_auditor", Method::PATCH, "/api/v1/staff/gz-site".into(), Some(disable.clone()), FORBIDDEN),
        ("gz_auditor", Method::PUT, "/api/v1/staff/gz-site/roles".into(), Some(to_gz.clone()), FORBIDDEN),
        ("gz_auditor", Method::GET, "/api/v1/staff/gz-site".into(), None, OK),
        // Site staff: their site and the teams based there.
        ("gz_site_staff", Method::GET, members(w.team_a), None, OK),
        ("gz_site_staff", Method::GET, members(w.team_b), None, FORBIDDEN),
        ("gz_site_staff", Method::PATCH, site(w.sz_site), Some(rename.clone()), FORBIDDEN),
        ("gz_site_staff", Method::GET, v(&w.sz_vol), None, FORBIDDEN),
        ("gz_site_staff", Method::GET, "/api/v1/volunteers".into(), None, FORBIDDEN),
        ("gz_site_staff", Method::GET, "/api/v1/staff".into(), None, FORBIDDEN),
        ("gz_site_staff", Method::PUT, "/api/v1/staff/gz-auditor/roles".into(), Some(to_gz.clone()), FORBIDDEN),
        ("gz_site_staff", Method::GET, "/api/v1/staff/gz-auditor".into(), None, FORBIDDEN),
        // A team admin: their team, nothing of another.
        ("team_a_admin", Method::GET, members(w.team_a), None, OK),
        ("team_a_admin", Method::GET, v(&w.gz_vol), None, OK),
        ("team_a_admin", Method::GET, members(w.team_b), None, FORBIDDEN),
        ("team_a_admin", Method::PATCH, org(w.team_b), Some(rename.clone()), FORBIDDEN),
        ("team_a_admin", Method::PATCH, format!("/api/v1/memberships/{}", w.b_membership), Some(json!({"status": "active"})), FORBIDDEN),
        ("team_a_admin", Method::GET, v(&w.b_only_vol), None, FORBIDDEN),
        ("team_a_admin", Method::PATCH, v(&w.gz_vol), Some(reason.clone()), FORBIDDEN),
        ("team_b_admin", Method::GET, v(&w.b_only_vol), None, OK),
        ("team_a_admin", Method::PATCH, "/api/v1/staff/gz-site".into(), Some(disable.clone()), FORBIDDEN),
        ("team_a_admin", Method::PUT, "/api/v1/staff/gz-site/roles".into(), Some(to_gz.clone()), FORBIDDEN),
        ("team_b_admin", Method::PATCH, org(w.team_a), Some(rename.clone()), FORBIDDEN),
        // A volunteer: themselves, nobody else.
        ("gz_vol", Method::GET, v(&w.gz_vol), None, OK),
        ("gz_vol", Method::GET, v(&w.sz_vol), None, FORBIDDEN),
        ("gz_vol", Method::PATCH, v(&w.sz_vol), Some(json!({"phone": "13700000002"})), FORBIDDEN),
        ("gz_vol", Method::GET, members(w.team_a), None, FORBIDDEN),
        ("gz_vol", Method::GET, format!("{}/memberships", v(&w.sz_vol)), None, FORBIDDEN),
        ("gz_vol", Method::GET, "/api/v1/volunteers".into(), None, FORBIDDEN),
        ("gz_vol", Method::GET, "/api/v1/audit".into(), None, FORBIDDEN),
        ("gz_vol", Method::GET, "/api/v1/staff".into(), None, FORBIDDEN),
        ("sz_vol", Method::GET, v(&w.gz_vol), None, FORBIDDEN),
        ("sz_vol", Method::PATCH, format!("/api/v1/memberships/{}", w.b_membership), Some(json!({"status": "left"})), FORBIDDEN),
        // Anonymous callers read the public directory only.
        ("anonymous", Method::GET, v(&w.gz_vol), None, StatusCode::UNAUTHORIZED),
        ("anonymous", Method::GET, site(w.sz_site), None, OK),
        ("anonymous", Method::GET, org(w.team_a), None, OK),
        ("anonymous", Method::GET, members(w.team_a), None, StatusCode::UNAUTHORIZED),
        ("anonymous", Method::GET, "/api/v1/staff".into(), None, StatusCode::UNAUTHORIZED),
        // The Shenzhen admin mirrors the Guangzhou one.
        ("sz_admin", Method::GET, v(&w.sz_vol), None, OK),
        ("sz_admin", Method::GET, v(&w.gz_vol), None, FORBIDDEN),
        ("sz_admin", Method::POST, "/api/v1/regions".into(), Some(json!({"code": "440304002", "name": "新街道"})), CREATED),
    ];
    for (who, method, path, body, expected) in &table {
        let token = w.tokens.get(who).map(String::as_str);
        let r = w
            .app
            .request(method.clone(), path, token, body.clone())
            .await;
        assert_eq!(r.status, *expected, "{who} {method} {path}: {:?}", r.body);
    }
    // Refused attempts to disable staff left their sessions working.
    for who in ["sz_admin", "gz_site_staff"] {
        let token = w.tokens.get(who).map(String::as_str);
        assert_eq!(w.app.get("/api/v1/me", token).await.status, OK, "{who}");
    }
    // Refused writes left Shenzhen as it was.
    let sz_site = w.app.get(&site(w.sz_site), None).await;
    assert_ne!(sz_site.body["name"], "改名");
    assert_eq!(sz_site.body["version"], 1);
    let sz_vol = w
        .app
        .get(&v(&w.sz_vol), w.tokens.get("sz_admin").map(String::as_str))
        .await;
    assert_eq!(sz_vol.body["phone"], "13800138000");
    assert_eq!(sz_vol.body["version"], 1);
    let pending = w
        .app
        .get(
            &format!("{}?status=pending", members(w.team_b)),
            w.tokens.get("team_b_admin").map(String::as_str),
        )
        .await;
    assert_eq!(pending.body["items"][0]["status"], "pending");
    assert_eq!(
        w.app.get("/api/v1/regions/440304", None).await.body["name"],
        "测试区域440304"
    );
}

#[tokio::test]
async fn contact_details_of_a_team_show_only_to_those_in_scope() {
    let w = world().await;
    let path = format!("/api/v1/organisations/{}", w.team_a);
    let public = w.app.get(&path, None).await;
    assert!(public.body["contact"].is_null());
    let sz = w
        .app
        .get(&path, w.tokens.get("sz_admin").map(String::as_str))
        .await;
    assert!(sz.body["contact"].is_null());
    let gz = w
        .app
        .get(&path, w.tokens.get("gz_admin").map(String::as_str))
        .await;
    assert_eq!(gz.body["contact"]["phone"], "13900139000");
}
