//! Several app servers on one database: what one server keeps in memory for a while, a
//! change made through another must not keep alive.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use zhiyuan_service::Listener;
use zhiyuan_testkit::{Response, TestApp, VolunteerBuilder};

/// Two servers on one database, each trusting a verified token for an hour unless told
/// otherwise, and reading the other's announcements every 50 ms.
async fn two_servers() -> (TestApp, TestApp) {
    let a = TestApp::spawn_with(|c| {
        c.security.principal_cache_secs = 3600;
        c.server.announcements_every_ms = 50;
    })
    .await;
    let b = a.spawn_beside().await;
    (a, b)
}

/// Asks `ask` until its status is `want`, for up to five seconds; the last answer.
async fn eventually<F, Fut>(want: StatusCode, ask: F) -> Response
where
    F: Fn() -> Fut,
    Fut: Future<Output = Response>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = ask().await;
        if r.status == want || tokio::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_logout_on_one_app_server_ends_the_session_on_the_others() {
    let (a, b) = two_servers().await;
    let token = a.admin("gz-admin", "440100").await;
    // Server B verifies the token and keeps its principal (for an hour, as configured).
    assert_eq!(
        b.get("/api/v1/me", Some(&token)).await.status,
        StatusCode::OK
    );
    let out = a
        .request(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = eventually(StatusCode::UNAUTHORIZED, || {
        b.get("/api/v1/me", Some(&token))
    })
    .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{:?}", after.body);
}

#[tokio::test]
async fn a_staff_account_disabled_on_one_app_server_is_refused_on_the_others() {
    let (a, b) = two_servers().await;
    let province = a.admin("gd-admin", "440000").await;
    let gz = a.admin("gz-admin", "440100").await;
    assert_eq!(b.get("/api/v1/me", Some(&gz)).await.status, StatusCode::OK);
    let taken = a
        .patch(
            "/api/v1/staff/gz-admin",
            Some(&province),
            json!({"disabled": true, "reason": "调离岗位"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::OK, "{:?}", taken.body);
    let after = eventually(StatusCode::UNAUTHORIZED, || b.get("/api/v1/me", Some(&gz))).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{:?}", after.body);
}

#[tokio::test]
async fn a_staff_account_moved_on_one_app_server_acts_with_its_new_roles_on_the_others() {
    let (a, b) = two_servers().await;
    let province = a.admin("gd-admin", "440000").await;
    let mover = a.admin("mover", "440100").await;
    let shenzhen = "/api/v1/staff?within=440300";
    assert_eq!(
        b.get(shenzhen, Some(&mover)).await.status,
        StatusCode::FORBIDDEN
    );
    let moved = a
        .put(
            "/api/v1/staff/mover/roles",
            Some(&province),
            json!({"roles": [{"role": "jurisdiction_admin", "region": "440300"}],
                   "reason": "调往深圳"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    let after = eventually(StatusCode::OK, || b.get(shenzhen, Some(&mover))).await;
    assert_eq!(after.status, StatusCode::OK, "{:?}", after.body);
    let guangzhou = b.get("/api/v1/staff?within=440100", Some(&mover)).await;
    assert_eq!(guangzhou.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_role_taken_away_on_one_app_server_is_refused_on_the_others() {
    let (a, b) = two_servers().await;
    let village = "440106001001";
    let (leader, leader_tok) = a.volunteer(VolunteerBuilder::new(village, 1)).await;
    let (_member, member_tok) = a.volunteer(VolunteerBuilder::new(village, 3)).await;
    let team = a.team(village, None, Some(&leader)).await;
    let members = format!("/api/v1/organisations/{}/memberships", team.0);
    let m = a.post(&members, Some(&member_tok), json!({})).await;
    let path = format!("/api/v1/memberships/{}", m.body["id"]);
    let approved = a
        .patch(&path, Some(&leader_tok), json!({"status": "active"}))
        .await;
    assert_eq!(approved.body["status"], "active");
    let promoted = a
        .patch(&path, Some(&leader_tok), json!({"role": "coordinator"}))
        .await;
    assert_eq!(promoted.body["role"], "coordinator");
    // As coordinator, through server B, the member reads the team's list.
    let list = eventually(StatusCode::OK, || b.get(&members, Some(&member_tok))).await;
    assert_eq!(list.status, StatusCode::OK);
    let demoted = a
        .patch(
            &path,
            Some(&leader_tok),
            json!({"role": "member", "reason": "换届"}),
        )
        .await;
    assert_eq!(demoted.body["role"], "member");
    let refused = eventually(StatusCode::FORBIDDEN, || b.get(&members, Some(&member_tok))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
}

#[tokio::test]
async fn each_change_to_shared_data_is_announced_once_to_the_other_servers_and_not_to_itself() {
    let (a, b) = two_servers().await;
    let admin = a.admin("gz-admin", "440100").await;
    let site = a.site("440106001", "practice_institute").await;
    let team = a.team("440106001001", Some(site), None).await;
    let mut on_a = Listener::new();
    let mut on_b = Listener::new();
    // The first reading notes where to start: nothing announced before it is applied.
    assert_eq!(on_a.listen(&a.zhiyuan).await.unwrap(), 0);
    assert_eq!(on_b.listen(&b.zhiyuan).await.unwrap(), 0);
    let renamed = a
        .patch(
            &format!("/api/v1/sites/{}", site.0),
            Some(&admin),
            json!({"name": "天河街道新时代文明实践所"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{:?}", renamed.body);
    let team_renamed = a
        .patch(
            &format!("/api/v1/organisations/{}", team.0),
            Some(&admin),
            json!({"name": "天河社区志愿服务队"}),
        )
        .await;
    assert_eq!(
        team_renamed.status,
        StatusCode::OK,
        "{:?}",
        team_renamed.body
    );
    let out = a
        .request(Method::POST, "/api/v1/auth/logout", Some(&admin), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    // The site, the county's teams, the session: three, each read once.
    assert_eq!(on_b.listen(&b.zhiyuan).await.unwrap(), 3);
    assert_eq!(on_b.listen(&b.zhiyuan).await.unwrap(), 0);
    // Server A forgot its own copies as it made the changes.
    assert_eq!(on_a.listen(&a.zhiyuan).await.unwrap(), 0);
}
