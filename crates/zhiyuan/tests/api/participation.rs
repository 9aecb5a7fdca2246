//! Projects, shifts, sign-ups, attendance, records and totals.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use zhiyuan_domain::Reason;
use zhiyuan_domain::access::Principal;
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::project::SignupStatus;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_service::{Actor, Ctx, Presence, ServiceError};
use zhiyuan_store::{AuditEntry, NewVolunteer, ShiftId, SignupId};
use zhiyuan_testkit::{TestApp, VolunteerBuilder, volunteer_row, why};

const VILLAGE: &str = "440106001001";
const SITE: GeoPoint = GeoPoint {
    lat: 23.1500,
    lng: 113.3400,
};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// A team with a coordinator (its admin), and a published project near `SITE`.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) coordinator: String,
    pub(crate) team: i64,
    pub(crate) project: i64,
}

pub(crate) async fn world_with(project: Value) -> World {
    let app = TestApp::spawn().await;
    let (leader, coordinator) = app.volunteer(VolunteerBuilder::new(VILLAGE, 1)).await;
    let team = app.team(VILLAGE, None, Some(&leader)).await.0;
    let today = zhiyuan_domain::clock::china_date(OffsetDateTime::now_utc());
    let mut body = json!({
        "organisation": team, "name": "社区环境清洁", "category": "environment",
        "description": "清扫社区公共区域", "region": VILLAGE, "address": "华工社区中心广场",
        "location": {"lat": SITE.lat, "lng": SITE.lng}, "geofence_m": 300,
        "starts_on": (today - Duration::days(1)).to_string(),
        "ends_on": (today + Duration::days(30)).to_string(),
        "signup_mode": "automatic", "responsible_person": "陈志愿",
    });
    for (k, v) in project.as_object().expect("object") {
        body[k] = v.clone();
    }
    let r = app.post("/api/v1/projects", Some(&coordinator), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let project = r.body["id"].as_i64().expect("id");
    World {
        app,
        coordinator,
        team,
        project,
    }
}

pub(crate) async fn world() -> World {
    let w = world_with(json!({})).await;
    w.publish().await;
    w
}

impl World {
    pub(crate) async fn publish(&self) {
        let r = self
            .app
            .post(
                &format!("/api/v1/projects/{}/status", self.project),
                Some(&self.coordinator),
                json!({"status": "published"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }

    /// A shift starting `starts_in` from now, lasting three hours.
    pub(crate) async fn shift(&self, starts_in: Duration, capacity: i64) -> i64 {
        let start = OffsetDateTime::now_utc() + starts_in;
        let r = self
            .app
            .post(
                &format!("/api/v1/projects/{}/shifts", self.project),
                Some(&self.coordinator),
                json!({"position": "清洁员", "starts_at": rfc3339(start),
                       "ends_at": rfc3339(start + Duration::hours(3)), "capacity": capacity}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_i64().expect("id")
    }

    pub(crate) async fn decide(&self, signup: &Value, accept: bool) -> zhiyuan_testkit::Response {
        self.app
            .post(
                &format!("/api/v1/signups/{signup}/decision"),
                Some(&self.coordinator),
                json!({"accept": accept}),
            )
            .await
    }

    pub(crate) async fn volunteer(&self, seq: u16) -> (String, String) {
        self.app
            .volunteer(VolunteerBuilder::new(VILLAGE, seq))
            .await
    }

    /// The site's current attendance code of `shift`, as its coordinator shows it, and the
    /// body of a check-in with it at the site.
    async fn at_site(&self, shift: i64) -> (String, Value) {
        let path = format!("/api/v1/shifts/{shift}/code");
        let code = self.app.get(&path, Some(&self.coordinator)).await.body["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let body = json!({"code": code, "location": {"lat": 23.1510, "lng": 113.3405}});
        (code, body)
    }

    pub(crate) async fn sign_up(&self, shift: i64, token: &str) -> zhiyuan_testkit::Response {
        self.app
            .post(
                &format!("/api/v1/shifts/{shift}/signups"),
                Some(token),
                json!({}),
            )
            .await
    }

    /// The service context of a signed-in token, at instant `now`.
    pub(crate) async fn ctx(&self, token: &str, now: OffsetDateTime) -> Ctx {
        let principal = self.app.zhiyuan.authenticate(token).await.expect("token");
        Ctx {
            actor: Actor::User(principal),
            request_id: "test".into(),
            now,
        }
    }

    pub(crate) async fn totals(&self, number: &str, token: &str) -> Value {
        self.app
            .get(&format!("/api/v1/volunteers/{number}/totals"), Some(token))
            .await
            .body
    }
}

#[tokio::test]
async fn a_volunteers_own_sign_ups_name_the_project_the_shift_and_the_place_once_cancelled_too() {
    let w = world().await;
    let (early, late) = (
        w.shift(Duration::hours(2), 5).await,
        w.shift(Duration::hours(26), 5).await,
    );
    let (_, token) = w.volunteer(31).await;
    let first = w.sign_up(early, &token).await.body["signup"]["id"].clone();
    w.sign_up(late, &token).await;
    let cancel = w
        .app
        .post(
            &format!("/api/v1/signups/{first}/cancel"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{:?}", cancel.body);

    let mine = w.app.get("/api/v1/me/signups", Some(&token)).await;
    assert_eq!(mine.status, StatusCode::OK, "{:?}", mine.body);
    let seen: Vec<_> = mine.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["signup"]["status"].clone(),
                i["shift"]["id"].clone(),
                i["shift"]["position"].clone(),
                i["project_name"].clone(),
                i["address"].clone(),
            )
        })
        .collect();
    let named = |status: &str, shift: i64| {
        (
            json!(status),
            json!(shift),
            json!("清洁员"),
            json!("社区环境清洁"),
            json!("华工社区中心广场"),
        )
    };
    assert_eq!(seen, [named("cancelled", early), named("accepted", late)]);
    // Each item carries the shift's window, so a phone can show when without asking again.
    assert!(
        mine.body["items"][1]["shift"]["starts_at"].is_string(),
        "{:?}",
        mine.body
    );
    // The schedule lists only the live one.
    let schedule = w.app.get("/api/v1/me/schedule", Some(&token)).await;
    let live: Vec<_> = schedule
        .body
        .as_array()
        .expect("schedule")
        .iter()
        .map(|i| i["shift"]["id"].clone())
        .collect();
    assert_eq!(live, [json!(late)]);
    // With where the project is on a map, so that a phone can find the way.
    assert_eq!(
        schedule.body[0]["location"],
        json!({"lat": SITE.lat, "lng": SITE.lng}),
        "{:?}",
        schedule.body
    );
}

#[tokio::test]
async fn places_fill_then_the_waitlist_a_cancellation_promotes_the_first_waiting_shown_to_the_team_only()
 {
    let w = world().await;
    let shift = w.shift(Duration::hours(2), 2).await;
    let mut tokens = Vec::new();
    for seq in [11, 13, 15, 17, 19] {
        tokens.push(w.volunteer(seq).await.1);
    }
    let mut statuses = Vec::new();
    let mut ids = Vec::new();
    for t in &tokens {
        let r = w.sign_up(shift, t).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        statuses.push(r.body["signup"]["status"].as_str().unwrap().to_owned());
        ids.push(r.body["signup"]["id"].as_i64().unwrap());
    }
    assert_eq!(
        statuses,
        [
            "accepted",
            "accepted",
            "waitlisted",
            "waitlisted",
            "waitlisted"
        ]
    );
    let again = w.sign_up(shift, &tokens[0]).await;
    assert_eq!(
        (again.status, again.field_codes()),
        (StatusCode::CONFLICT, why("shift", "already_signed_up"))
    );
    let cancel = w
        .app
        .post(
            &format!("/api/v1/signups/{}/cancel", ids[1]),
            Some(&tokens[1]),
            json!({}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{:?}", cancel.body);
    assert_eq!(cancel.body["cancelled"]["status"], "cancelled");
    // Who took her place is not hers to see.
    assert_eq!(cancel.body.get("promoted"), None, "{:?}", cancel.body);
    let shifts = w
        .app
        .get(&format!("/api/v1/projects/{}/shifts", w.project), None)
        .await;
    assert_eq!(shifts.body[0]["accepted"], 2);
    // Cancelling a cancelled sign-up is refused.
    let twice = w
        .app
        .post(
            &format!("/api/v1/signups/{}/cancel", ids[1]),
            Some(&tokens[1]),
            json!({}),
        )
        .await;
    assert_eq!(
        (twice.status, twice.field_codes()),
        (StatusCode::CONFLICT, why("status", "already_cancelled"))
    );
    // The volunteer's schedule lists the promoted sign-up.
    let schedule = w.app.get("/api/v1/me/schedule", Some(&tokens[2])).await;
    assert_eq!(schedule.body[0]["signup"]["status"], "accepted");

    // A larger capacity is a freed place too: the last one waiting is promoted.
    let r = w
        .app
        .patch(
            &format!("/api/v1/shifts/{shift}"),
            Some(&w.coordinator),
            json!({"capacity": 3}),
        )
        .await;
    assert_eq!((r.status, &r.body["accepted"]), (StatusCode::OK, &json!(3)));
    assert_eq!(status_after(&w, shift, ids[3]).await, json!("accepted"));
    assert_eq!(status_after(&w, shift, ids[4]).await, json!("waitlisted"));

    // Both promoted volunteers are told; the one who cancelled is not (she did it).
    w.app
        .zhiyuan
        .relay_events(OffsetDateTime::now_utc())
        .await
        .unwrap();
    for (i, expected) in [(1, 0), (2, 1), (3, 1)] {
        let inbox = w
            .app
            .get("/api/v1/me/notifications", Some(&tokens[i]))
            .await;
        let items = inbox.body["items"].as_array().expect("items");
        assert_eq!(items.len(), expected, "volunteer {i}: {items:?}");
        if let Some(note) = items.first() {
            assert_eq!(note["event"], "signup.promote");
            assert_eq!(note["subject_id"], ids[i].to_string());
            let text = note["text"].as_str().unwrap();
            assert!(
                text.contains("候补成功") && text.contains("社区环境清洁"),
                "{text}"
            );
        }
    }

    // The team removing someone is told who took the place.
    let cancel = w
        .app
        .post(
            &format!("/api/v1/signups/{}/cancel", ids[0]),
            Some(&w.coordinator),
            json!({"reason": "家中有事"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{:?}", cancel.body);
    let promoted = cancel.body["promoted"].as_array().expect("promoted");
    assert_eq!(promoted.len(), 1, "{promoted:?}");
    assert_eq!(promoted[0]["id"], ids[4]);
    assert_eq!(promoted[0]["status"], "accepted");
    assert_eq!(status_after(&w, shift, ids[0]).await, json!("cancelled"));
}

/// The status of sign-up `id` as the team lists `shift`'s sign-ups.
async fn status_after(w: &World, shift: i64, id: i64) -> Value {
    let r = w
        .app
        .get(
            &format!("/api/v1/shifts/{shift}/signups"),
            Some(&w.coordinator),
        )
        .await;
    r.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|s| s["id"] == id))
        .map_or(Value::Null, |s| s["status"].clone())
}

/// Cancelling a shift tells everyone holding a sign-up for it (a place or the waitlist);
/// cancelling the project then tells those of its other shifts, with the reason, and not
/// again those of the shift cancelled before.
#[tokio::test]
async fn those_signed_up_are_told_when_their_shift_or_project_is_cancelled() {
    let w = world().await;
    let (small, other) = (
        w.shift(Duration::hours(2), 1).await,
        w.shift(Duration::hours(30), 5).await,
    );
    let (mut tokens, mut signups) = (Vec::new(), Vec::new());
    for (seq, shift) in [(171, small), (173, small), (175, other)] {
        let token = w.volunteer(seq).await.1;
        let r = w.sign_up(shift, &token).await;
        assert_eq!(r.status, StatusCode::CREATED);
        signups.push(r.body["signup"]["id"].as_i64().expect("sign-up id"));
        tokens.push(token);
    }

    let r = w
        .app
        .patch(
            &format!("/api/v1/shifts/{small}"),
            Some(&w.coordinator),
            json!({"cancelled": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for token in &tokens[..2] {
        let told = inbox(&w.app, token).await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "shift.cancel");
        assert!(told[0].1.contains("「社区环境清洁」") && told[0].1.ends_with("的班次已取消"));
    }
    assert!(inbox(&w.app, &tokens[2]).await.is_empty());
    // A place given up on the cancelled shift goes to nobody on its waitlist.
    let r = w
        .app
        .post(
            &format!("/api/v1/signups/{}/cancel", signups[0]),
            Some(&w.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["promoted"]),
        (StatusCode::OK, &json!([]))
    );
    assert_eq!(
        inbox(&w.app, &tokens[1]).await.len(),
        1,
        "only the cancellation"
    );

    let r = w
        .app
        .post(
            &format!("/api/v1/projects/{}/status", w.project),
            Some(&w.coordinator),
            json!({"status": "cancelled", "reason": "台风预警"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let reopened = w
        .app
        .post(
            &format!("/api/v1/projects/{}/status", w.project),
            Some(&w.coordinator),
            json!({"status": "published"}),
        )
        .await;
    assert_eq!(
        (reopened.status, reopened.field_codes()),
        (StatusCode::CONFLICT, why("status", "cannot_become")),
        "a cancelled project stays cancelled"
    );
    let told = inbox(&w.app, &tokens[2]).await;
    assert_eq!(
        told,
        why(
            "project.status",
            "项目「社区环境清洁」已取消。原因：台风预警"
        )
    );
    assert_eq!(inbox(&w.app, &tokens[1]).await.len(), 1, "told once");

    // The project's cancellation cancelled its other shift: no record is owed for it ten
    // working days on, and the volunteer's calendar shows it cancelled, with no reminder.
    let shifts = w
        .app
        .get(
            &format!("/api/v1/projects/{}/shifts", w.project),
            Some(&w.coordinator),
        )
        .await;
    let cancelled: Vec<&Value> = shifts
        .body
        .as_array()
        .expect("the shifts")
        .iter()
        .map(|s| &s["cancelled"])
        .collect();
    assert_eq!(cancelled, [&json!(true), &json!(true)]);
    let late = w
        .ctx(
            &w.coordinator,
            OffsetDateTime::now_utc() + Duration::days(30),
        )
        .await;
    let owed = w
        .app
        .zhiyuan
        .org_overdue(&late, zhiyuan_domain::ids::OrgId(w.team))
        .await
        .unwrap();
    assert!(owed.is_empty(), "{owed:?}");
    let ics = w
        .app
        .client
        .get(format!("{}/api/v1/me/schedule.ics", w.app.base))
        .bearer_auth(&tokens[2])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ics.contains("STATUS:CANCELLED") && ics.contains("[已取消]"),
        "{ics}"
    );
    assert!(!ics.contains("VALARM"), "{ics}");
}

/// The events relayed so far to `token`'s inbox, newest first: (event, text).
pub(crate) async fn inbox(app: &TestApp, token: &str) -> Vec<(String, String)> {
    app.zhiyuan
        .relay_events(OffsetDateTime::now_utc())
        .await
        .unwrap();
    let r = app.get("/api/v1/me/notifications", Some(token)).await;
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| {
            let (event, text) = (n["event"].as_str(), n["text"].as_str());
            (event.unwrap().to_owned(), text.unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn sign_ups_are_refused_with_a_reason_when_they_cannot_be_taken() {
    let w = world_with(json!({"conditions": {"skills": ["急救"], "minors_allowed": false}})).await;
    let unpublished = w.shift(Duration::hours(2), 5).await;
    let (_, volunteer) = w.volunteer(21).await;
    let r = w.sign_up(unpublished, &volunteer).await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("shift", "project_not_open"))
    );
    w.publish().await;
    // The fixture volunteer has the first-aid skill; one without it is refused.
    let (_, unskilled) = w
        .app
        .volunteer(VolunteerBuilder::new(VILLAGE, 23).with("skills", json!(["摄影"])))
        .await;
    let r = w.sign_up(unpublished, &unskilled).await;
    assert_eq!(r.field_codes(), why("conditions", "missing_skills"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("急救")
    );
    let year = OffsetDateTime::now_utc().year() - 16;
    let (_, minor) = w
        .app
        .volunteer(VolunteerBuilder::new(VILLAGE, 25).born(&format!("{year}-01-01"), 25).with(
            "guardian",
            json!({"name": "家长", "phone": "13900139000", "consented_at": "2026-01-01T00:00:00+08:00"}),
        ))
        .await;
    assert_eq!(
        w.sign_up(unpublished, &minor).await.field_codes(),
        why("conditions", "minors_not_allowed")
    );
    // A cancelled shift and a shift already under way.
    let cancelled = w.shift(Duration::hours(2), 5).await;
    w.app
        .patch(
            &format!("/api/v1/shifts/{cancelled}"),
            Some(&w.coordinator),
            json!({"cancelled": true}),
        )
        .await;
    let r = w.sign_up(cancelled, &volunteer).await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("shift", "shift_cancelled"))
    );
    let started = w.shift(-Duration::minutes(30), 5).await;
    let r = w.sign_up(started, &volunteer).await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("shift", "shift_started"))
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("started")
    );
    // Staff accounts are not volunteers.
    assert_eq!(
        w.sign_up(unpublished, &w.app.admin("gz-admin", "440100").await)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn overlapping_shifts_are_warned_about_and_approval_mode_waits_for_the_team() {
    let w = world_with(json!({"signup_mode": "approval"})).await;
    w.publish().await;
    let first = w.shift(Duration::hours(2), 1).await;
    let overlapping = w.shift(Duration::hours(3), 1).await;
    let (_, a) = w.volunteer(31).await;
    let (_, b) = w.volunteer(33).await;
    let one = w.sign_up(first, &a).await;
    assert_eq!(one.body["signup"]["status"], "pending");
    let two = w.sign_up(overlapping, &a).await;
    assert_eq!(two.body["warnings"].as_array().unwrap().len(), 1);
    let other = w.sign_up(first, &b).await;
    // The volunteer cannot approve themselves.
    let own = w
        .app
        .post(
            &format!("/api/v1/signups/{}/decision", one.body["signup"]["id"]),
            Some(&a),
            json!({"accept": true}),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert_eq!(
        w.decide(&one.body["signup"]["id"], true).await.body["status"],
        "accepted"
    );
    // The only place is taken, so accepting the next one waitlists it.
    assert_eq!(
        w.decide(&other.body["signup"]["id"], true).await.body["status"],
        "waitlisted"
    );
    assert_eq!(
        w.decide(&other.body["signup"]["id"], true).await.status,
        StatusCode::CONFLICT
    );
    // Nobody is accepted into a cancelled shift (the pending sign-up can still be refused).
    w.app
        .patch(
            &format!("/api/v1/shifts/{overlapping}"),
            Some(&w.coordinator),
            json!({"cancelled": true}),
        )
        .await;
    let late = w.decide(&two.body["signup"]["id"], true).await;
    assert_eq!(
        (late.status, late.field_codes()),
        (StatusCode::CONFLICT, why("shift", "shift_cancelled"))
    );
    let refused = w.decide(&two.body["signup"]["id"], false).await;
    assert_eq!(refused.body["status"], "rejected");
}

/// What a coordinator gets wrong in a project's or a shift's form is named, field by
/// field, with a code the web interface words in its reader's language.
#[tokio::test]
async fn a_project_or_shift_form_names_each_mistake_with_its_code() {
    let w = world().await;
    let today = zhiyuan_domain::clock::china_date(OffsetDateTime::now_utc());
    let project = |change: Value| {
        let mut body = json!({
            "organisation": w.team, "name": "河涌巡查", "category": "environment",
            "description": "沿河巡查", "region": VILLAGE, "address": "华工社区",
            "starts_on": today.to_string(), "ends_on": (today + Duration::days(9)).to_string(),
            "signup_mode": "automatic", "responsible_person": "陈志愿",
        });
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            json!({"ends_on": (today - Duration::days(1)).to_string()}),
            why("ends_on", "before_start"),
        ),
        (
            json!({"geofence_m": 300}),
            why("geofence_m", "geofence_needs_location"),
        ),
        (
            json!({"geofence_m": 5, "location": {"lat": SITE.lat, "lng": SITE.lng}}),
            why("geofence_m", "out_of_range"),
        ),
        (
            json!({"conditions": {"min_age": 30, "max_age": 20}}),
            why("conditions.min_age", "above_maximum"),
        ),
        (
            json!({"conditions": {"min_age": 16}}),
            why("conditions.min_age", "age_needs_minors"),
        ),
        (
            json!({"conditions": {"max_age": 17, "minors_allowed": false}}),
            why("conditions.max_age", "age_needs_minors"),
        ),
        (json!({"site": 999_999}), why("site", "not_found")),
        (json!({"colour": "red"}), why("colour", "unknown_field")),
        (
            json!({"geofence_m": "300"}),
            why("geofence_m", "wrong_type"),
        ),
        (json!({"risky": "yes"}), why("risky", "wrong_type")),
        (json!({"name": null}), why("name", "required")),
        (
            json!({"signup_mode": "lottery"}),
            why("signup_mode", "not_one_of"),
        ),
        (json!({"category": 3}), why("category", "wrong_type")),
        (
            json!({"starts_on": "2026/11/05"}),
            why("starts_on", "not_iso_date"),
        ),
    ];
    for (change, expected) in cases {
        let r = w
            .app
            .post(
                "/api/v1/projects",
                Some(&w.coordinator),
                project(change.clone()),
            )
            .await;
        assert_eq!(r.field_codes(), expected, "{change}");
    }
    let mut nameless = project(json!({}));
    nameless.as_object_mut().unwrap().remove("name");
    let r = w
        .app
        .post("/api/v1/projects", Some(&w.coordinator), nameless)
        .await;
    assert_eq!(r.field_codes(), why("name", "required"));

    let start = OffsetDateTime::now_utc() + Duration::hours(2);
    let shifts = format!("/api/v1/projects/{}/shifts", w.project);
    let shift = |from: OffsetDateTime, hours: i64, capacity: i64| {
        json!({"position": "巡查员", "starts_at": rfc3339(from),
               "ends_at": rfc3339(from + Duration::hours(hours)), "capacity": capacity})
    };
    let cases = [
        (shift(start, -1, 5), why("ends_at", "before_start")),
        (shift(start, 25, 5), why("ends_at", "shift_too_long")),
        (shift(start, 3, 0), why("capacity", "out_of_range")),
        (
            json!({"position": "巡查员", "starts_at": "tomorrow at nine",
                   "ends_at": rfc3339(start), "capacity": 5}),
            why("starts_at", "not_a_time"),
        ),
        (
            shift(start + Duration::days(60), 3, 5),
            why("starts_at", "outside_project_period"),
        ),
    ];
    for (body, expected) in cases {
        let r = w
            .app
            .post(&shifts, Some(&w.coordinator), body.clone())
            .await;
        assert_eq!(r.field_codes(), expected, "{body}");
    }

    // A shift's places cannot drop below those taken; an edit of a stale copy is refused.
    let id = w.shift(Duration::hours(30), 3).await;
    for seq in [301, 302] {
        let (_, token) = w.volunteer(seq).await;
        assert_eq!(w.sign_up(id, &token).await.status, StatusCode::CREATED);
    }
    let path = format!("/api/v1/shifts/{id}");
    let r = w
        .app
        .patch(&path, Some(&w.coordinator), json!({"capacity": 1}))
        .await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("capacity", "places_taken"))
    );
    assert_eq!(
        r.body["error"]["fields"][0]["reason"],
        "2 places are already taken"
    );
    let r = w
        .app
        .patch(
            &path,
            Some(&w.coordinator),
            json!({"capacity": 4, "version": 99}),
        )
        .await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("version", "changed_meanwhile"))
    );
}

/// A project whose conditions were stored before a rule refusing them was made stays
/// editable in its other fields; changing the conditions themselves is checked as ever.
#[tokio::test]
async fn a_project_kept_from_before_a_rule_can_still_be_edited_in_other_fields() {
    let w = world().await;
    let store = w.app.zhiyuan.store();
    let id = zhiyuan_store::ProjectId(w.project);
    let mut kept = store.get_project(id).await.unwrap().unwrap();
    kept.project.conditions.min_age = Some(16);
    kept.project.conditions.minors_allowed = false;
    store.update_project(&kept, &audit()).await.unwrap();
    let path = format!("/api/v1/projects/{}", w.project);
    let renamed = w
        .app
        .patch(
            &path,
            Some(&w.coordinator),
            json!({"name": "社区环境清洁（二期）"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{:?}", renamed.body);
    assert_eq!(renamed.body["name"], "社区环境清洁（二期）");
    assert_eq!(renamed.body["conditions"]["min_age"], 16);
    let same_again = w
        .app
        .patch(
            &path,
            Some(&w.coordinator),
            json!({"conditions": {"min_age": 16}}),
        )
        .await;
    assert_eq!(
        same_again.field_codes(),
        why("conditions.min_age", "age_needs_minors")
    );
    let fixed = w
        .app
        .patch(
            &path,
            Some(&w.coordinator),
            json!({"conditions": {"min_age": 16, "minors_allowed": true}}),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK, "{:?}", fixed.body);
    assert_eq!(fixed.body["conditions"]["minors_allowed"], true);
}

#[tokio::test]
async fn a_risky_project_opens_only_with_insurance_and_a_reviewed_one_only_after_review() {
    let w = world_with(json!({"risky": true, "risk_disclosure": "水边作业，注意安全"})).await;
    let path = format!("/api/v1/projects/{}/status", w.project);
    let r = w
        .app
        .post(&path, Some(&w.coordinator), json!({"status": "published"}))
        .await;
    assert_eq!(
        (r.status, r.field_codes()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            why("insurance", "insurance_needed")
        )
    );
    let today = zhiyuan_domain::clock::china_date(OffsetDateTime::now_utc());
    let insurance = json!({"policy_number": "PICC-2026-001", "insurer": "中国人保",
        "valid_from": (today - Duration::days(5)).to_string(),
        "valid_until": (today + Duration::days(60)).to_string()});
    let r = w
        .app
        .patch(
            &format!("/api/v1/projects/{}", w.project),
            Some(&w.coordinator),
            json!({"insurance": insurance, "review_required": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let direct = w
        .app
        .post(&path, Some(&w.coordinator), json!({"status": "published"}))
        .await;
    assert_eq!(
        (direct.status, direct.field_codes()),
        (StatusCode::CONFLICT, why("status", "review_needed"))
    );
    let submitted = w
        .app
        .post(
            &path,
            Some(&w.coordinator),
            json!({"status": "pending_review"}),
        )
        .await;
    assert_eq!(submitted.body["status"], "pending_review");
    // The team cannot approve its own review; the jurisdiction can.
    let own = w
        .app
        .post(&path, Some(&w.coordinator), json!({"status": "published"}))
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let admin = w.app.admin("gz-admin", "440100").await;
    let reviewed = w
        .app
        .post(
            &path,
            Some(&admin),
            json!({"status": "published", "reason": "审核通过"}),
        )
        .await;
    assert_eq!(reviewed.body["status"], "published", "{:?}", reviewed.body);
}

/// Check-in opens the configured time before a shift (an hour here): earlier, a
/// volunteer with a place is refused and told when it opens, in minutes.
#[tokio::test]
async fn checking_in_before_check_in_opens_is_refused_saying_when_it_opens() {
    let w = world().await;
    let shift = w.shift(Duration::hours(2), 5).await;
    let (_, volunteer) = w.volunteer(43).await;
    w.sign_up(shift, &volunteer).await;
    let (_, at_site) = w.at_site(shift).await;
    let path = format!("/api/v1/shifts/{shift}/check-in");
    let r = w.app.post(&path, Some(&volunteer), at_site).await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("shift", "check_in_closed"))
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("60 minutes before"),
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn checking_in_with_the_site_code_then_out_records_the_time_once() {
    let w = world().await;
    let shift = w.shift(Duration::minutes(30), 5).await;
    let (number, volunteer) = w.volunteer(41).await;
    // No sign-up yet: refused.
    let (code, at_site) = w.at_site(shift).await;
    let path = format!("/api/v1/shifts/{shift}/check-in");
    let r = w.app.post(&path, Some(&volunteer), at_site.clone()).await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("shift", "no_signup"))
    );
    // Check-out before check-in: refused.
    w.sign_up(shift, &volunteer).await;
    let early_out = w
        .app
        .post(
            &format!("/api/v1/shifts/{shift}/check-out"),
            Some(&volunteer),
            at_site.clone(),
        )
        .await;
    assert_eq!(
        (early_out.status, early_out.field_codes()),
        (StatusCode::CONFLICT, why("shift", "not_checked_in"))
    );
    // Far from the site, without a location, with a code cut short or signed for another
    // shift's: refused, each saying why.
    let far = w
        .app
        .post(
            &path,
            Some(&volunteer),
            json!({"code": code, "location": {"lat": 23.2, "lng": 113.4}}),
        )
        .await;
    assert_eq!(far.field_codes(), why("location", "outside_geofence"));
    let nowhere = w
        .app
        .post(&path, Some(&volunteer), json!({"code": code}))
        .await;
    assert_eq!(nowhere.field_codes(), why("location", "location_needed"));
    let neither = w.app.post(&path, Some(&volunteer), json!({})).await;
    assert_eq!(neither.field_codes(), why("code", "exactly_one_of"));
    let with_code =
        |code: String| json!({"code": code, "location": {"lat": 23.1510, "lng": 113.3405}});
    let cut = w
        .app
        .post(
            &path,
            Some(&volunteer),
            with_code(code[..code.len() - 1].to_owned()),
        )
        .await;
    assert_eq!(cut.field_codes(), why("code", "code_malformed"));
    // `zyc1.s.{shift}.{window}.{signature}`: another subject under this signature.
    let parts: Vec<&str> = code.split('.').collect();
    let other = (parts[2].parse::<i64>().unwrap() + 1).to_string();
    let forged = [parts[0], parts[1], &other, parts[3], parts[4]].join(".");
    let forged = w.app.post(&path, Some(&volunteer), with_code(forged)).await;
    assert_eq!(forged.field_codes(), why("code", "code_forged"));
    let first = w.app.post(&path, Some(&volunteer), at_site.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert!(first.body["distance_m"].as_i64().unwrap() < 300);
    let repeat = w.app.post(&path, Some(&volunteer), at_site.clone()).await;
    assert_eq!(
        (repeat.status, &repeat.body["id"]),
        (StatusCode::OK, &first.body["id"])
    );
    let out_path = format!("/api/v1/shifts/{shift}/check-out");
    let out = w
        .app
        .post(&out_path, Some(&volunteer), at_site.clone())
        .await;
    assert_eq!(out.status, StatusCode::OK, "{:?}", out.body);
    let record = out.body["record"].as_i64().unwrap();
    let again = w.app.post(&out_path, Some(&volunteer), at_site).await;
    assert_eq!(again.body["record"], record);
    let records = w
        .app
        .get(
            &format!("/api/v1/volunteers/{number}/records"),
            Some(&volunteer),
        )
        .await;
    let items = records.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["activity_name"], "社区环境清洁（清洁员）");
    assert_eq!(items[0]["responsible_person"], "陈志愿");
    assert_eq!(items[0]["organisation"], w.team);
    assert_eq!(w.totals(&number, &volunteer).await["records"], 1);
}

#[tokio::test]
async fn time_given_is_rounded_capped_and_counted_in_the_totals() {
    let w = world().await;
    let shift = w.shift(Duration::minutes(30), 5).await;
    let (number, token) = w.volunteer(51).await;
    w.sign_up(shift, &token).await;
    let coordinator = w.ctx(&w.coordinator, OffsetDateTime::now_utc()).await;
    let vn = VolunteerNumber::parse(&number).unwrap();
    let by_number = || Presence::Coordinator { volunteer: vn };
    let start = OffsetDateTime::now_utc();
    w.app
        .zhiyuan
        .check_in(&coordinator, ShiftId(shift), by_number())
        .await
        .unwrap();
    let later = Ctx {
        now: start + Duration::minutes(125) + Duration::seconds(20),
        ..coordinator.clone()
    };
    let out = w
        .app
        .zhiyuan
        .check_out(&later, ShiftId(shift), by_number())
        .await
        .unwrap();
    let record = w
        .app
        .zhiyuan
        .store()
        .get_record(out.attendance.record.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.record.minutes, 125);
    let totals = w.totals(&number, &token).await;
    assert_eq!(
        (totals["minutes"].as_i64(), totals["hours"].as_f64()),
        (Some(125), Some(2.08))
    );
    assert_eq!(totals["year_minutes"], 125);
    // Entered time may not push the day past the 12-hour cap.
    let entry = |minutes: i64, key: &str| {
        json!({"volunteer": number, "activity_name": "补录活动", "service_date": record.record.service_date.to_string(),
               "place": "社区", "content": "清扫", "minutes": minutes, "responsible_person": "陈志愿",
               "dedupe_key": key})
    };
    let path = format!("/api/v1/organisations/{}/records", w.team);
    let over = w
        .app
        .post(&path, Some(&w.coordinator), entry(600, "a"))
        .await;
    assert_eq!(over.error_fields(), ["minutes"]);
    let over_single = w
        .app
        .post(&path, Some(&w.coordinator), entry(721, "b"))
        .await;
    assert_eq!(over_single.field_codes(), why("minutes", "over_daily_cap"));
    let fits = w
        .app
        .post(&path, Some(&w.coordinator), entry(595, "c"))
        .await;
    assert_eq!(fits.status, StatusCode::CREATED, "{:?}", fits.body);
    let duplicate = w.app.post(&path, Some(&w.coordinator), entry(5, "c")).await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    // On a full day, a repeated entry is still reported as the duplicate it is.
    assert_eq!(
        duplicate.field_codes(),
        why("dedupe_key", "already_recorded")
    );
    assert_eq!(w.totals(&number, &token).await["minutes"], 720);
}

#[tokio::test]
async fn codes_expire_and_a_coordinator_can_scan_the_volunteers_code() {
    let w = world().await;
    let shift = w.shift(Duration::minutes(30), 5).await;
    let (_, token) = w.volunteer(61).await;
    w.sign_up(shift, &token).await;
    let now = OffsetDateTime::now_utc();
    let me = w.ctx(&token, now).await;
    let (site_code, _) = w
        .app
        .zhiyuan
        .shift_code(&w.ctx(&w.coordinator, now).await, ShiftId(shift))
        .await
        .unwrap();
    let stale = Ctx {
        now: now + Duration::minutes(3),
        ..me.clone()
    };
    let err = w
        .app
        .zhiyuan
        .check_in(
            &stale,
            ShiftId(shift),
            Presence::SiteCode {
                code: site_code,
                location: Some(SITE),
            },
        )
        .await
        .unwrap_err();
    match &err {
        ServiceError::Invalid(invalid) => {
            assert_eq!(invalid.0[0].why, Some(Reason::CodeExpired), "{err:?}")
        }
        other => panic!("{other:?}"),
    }
    let (mine, _) = w.app.zhiyuan.my_code(&me).unwrap();
    let r = w
        .app
        .post(
            &format!("/api/v1/shifts/{shift}/check-in"),
            Some(&w.coordinator),
            json!({"volunteer_code": mine}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["check_in_method"], "volunteer_code");
    // A volunteer cannot use a personal code to check someone in.
    let (other, _) = w.volunteer(63).await;
    let r = w
        .app
        .post(
            &format!("/api/v1/shifts/{shift}/check-in"),
            Some(&token),
            json!({"volunteer": other}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_forgotten_check_out_is_closed_for_review_and_counts_only_once_approved() {
    let w = world().await;
    let shift = w.shift(Duration::minutes(30), 5).await;
    let (number, token) = w.volunteer(71).await;
    w.sign_up(shift, &token).await;
    let now = OffsetDateTime::now_utc();
    w.app
        .zhiyuan
        .check_in(
            &w.ctx(&w.coordinator, now).await,
            ShiftId(shift),
            Presence::Coordinator {
                volunteer: VolunteerNumber::parse(&number).unwrap(),
            },
        )
        .await
        .unwrap();
    // Two hours after the shift the attendance is still inside the grace period.
    let closed = w
        .app
        .zhiyuan
        .close_forgotten_checkouts(now + Duration::hours(5))
        .await
        .unwrap();
    assert_eq!(closed, 0);
    let closed = w
        .app
        .zhiyuan
        .close_forgotten_checkouts(now + Duration::hours(6))
        .await
        .unwrap();
    assert_eq!(closed, 1);
    let pending = w
        .app
        .get(
            &format!("/api/v1/organisations/{}/records?status=pending", w.team),
            Some(&w.coordinator),
        )
        .await;
    let item = &pending.body["items"][0];
    assert_eq!(item["flags"], json!(["auto_closed"]));
    assert!(item["minutes"].as_i64().unwrap() >= 200);
    assert_eq!(w.totals(&number, &token).await["minutes"], 0);
    let approved = w
        .app
        .post(
            &format!("/api/v1/records/{}/decision", item["id"]),
            Some(&w.coordinator),
            json!({"approve": true}),
        )
        .await;
    assert_eq!(approved.body["status"], "effective");
    assert_eq!(w.totals(&number, &token).await["minutes"], item["minutes"]);
    // Deciding twice is refused.
    let again = w
        .app
        .post(
            &format!("/api/v1/records/{}/decision", item["id"]),
            Some(&w.coordinator),
            json!({"approve": false}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn reported_time_waits_for_the_team_and_is_reported_once() {
    let w = world().await;
    let shift = w.shift(-Duration::minutes(10), 5).await;
    let (number, token) = w.volunteer(81).await;
    // Sign up before the shift started, by inserting directly (the API refuses now).
    let v = w
        .app
        .zhiyuan
        .store()
        .get_volunteer_by_number(VolunteerNumber::parse(&number).unwrap())
        .await
        .unwrap()
        .unwrap();
    w.app
        .zhiyuan
        .store()
        .sign_up(
            ShiftId(shift),
            v.id,
            OffsetDateTime::now_utc(),
            Box::new(|_| Ok(())),
            &audit(),
        )
        .await
        .unwrap();
    let path = format!("/api/v1/shifts/{shift}/reports");
    let too_long = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"minutes": 200, "content": "清扫"}),
        )
        .await;
    assert_eq!(too_long.field_codes(), why("minutes", "longer_than_shift"));
    let r = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"minutes": 90, "content": "清扫广场"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::CREATED, Some("pending"))
    );
    let twice = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"minutes": 90, "content": "清扫广场"}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(w.totals(&number, &token).await["minutes"], 0);
    let asked = inbox(&w.app, &w.coordinator).await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].0, "record.report");
    assert!(
        asked[0].1.ends_with("有一条志愿者自报的 1.5 小时待审核"),
        "{asked:?}"
    );
    // The volunteer cannot approve their own report; the team can.
    let decision = format!("/api/v1/records/{}/decision", r.body["id"]);
    assert_eq!(
        w.app
            .post(&decision, Some(&token), json!({"approve": true}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    w.app
        .post(&decision, Some(&w.coordinator), json!({"approve": true}))
        .await;
    assert_eq!(w.totals(&number, &token).await["minutes"], 90);
    let told = inbox(&w.app, &token).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "record.decide");
    assert!(
        told[0].1.contains("已通过审核，计入 1.5 小时"),
        "{}",
        told[0].1
    );
    // Another volunteer sees none of it.
    let (_, stranger) = w.volunteer(83).await;
    assert_eq!(
        w.app
            .get(
                &format!("/api/v1/volunteers/{number}/totals"),
                Some(&stranger)
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

pub(crate) fn audit() -> AuditEntry {
    AuditEntry {
        at: OffsetDateTime::now_utc(),
        actor: None,
        request_id: "test".into(),
        action: "signup.create",
        subject_type: "signup",
        subject_id: String::new(),
        region: None,
        reason: None,
        details: Value::Null,
    }
}

/// 500 volunteers race for a 10-place shift: exactly 10 get a place, the rest wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_sign_ups_never_exceed_ten_places() {
    let w = world().await;
    let shift = w.shift(Duration::hours(2), 10).await;
    let batch: Vec<(NewVolunteer, Option<zhiyuan_domain::ids::OrgId>)> = (1000..1500)
        .map(|n| (volunteer_row(n, VILLAGE), None))
        .collect();
    let store = w.app.zhiyuan.store().clone();
    store
        .insert_volunteers_bulk(&batch, &audit())
        .await
        .unwrap();
    let ids: Vec<VolunteerId> = {
        let mut ids = Vec::new();
        for (v, _) in &batch {
            ids.push(
                store
                    .get_volunteer_by_number(v.number)
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
            );
        }
        ids
    };
    let started = std::time::Instant::now();
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let app = w.app.zhiyuan.clone();
            tokio::spawn(async move {
                let ctx = Ctx::new(
                    Actor::User(Arc::new(Principal {
                        account: AccountId(0),
                        volunteer: Some(id),
                        grants: vec![],
                    })),
                    "race",
                );
                app.sign_up(&ctx, ShiftId(shift)).await
            })
        })
        .collect();
    let mut accepted = 0;
    let mut waitlisted = 0;
    for t in tasks {
        match t.await.unwrap().unwrap().signup.status {
            zhiyuan_domain::project::SignupStatus::Accepted => accepted += 1,
            zhiyuan_domain::project::SignupStatus::Waitlisted => waitlisted += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    eprintln!(
        "500 concurrent sign-ups on {:?} took {:?}",
        w.app.db.backend,
        started.elapsed()
    );
    assert_eq!((accepted, waitlisted), (10, 490));
    let stored = store.get_shift(ShiftId(shift)).await.unwrap().unwrap();
    assert_eq!(stored.accepted, 10);
    let accepted_rows = store
        .list_signups(
            &zhiyuan_store::SignupQuery {
                shift: Some(ShiftId(shift)),
                volunteer: None,
                status: Some(zhiyuan_domain::project::SignupStatus::Accepted),
            },
            &zhiyuan_store::PageRequest::first(200),
        )
        .await
        .unwrap();
    assert_eq!(accepted_rows.items.len(), 10);
}

#[tokio::test]
async fn records_missing_ten_working_days_after_a_shift_are_flagged_to_team_and_jurisdiction() {
    let w = world().await;
    let shift = w.shift(Duration::minutes(30), 5).await;
    let (recorded, recorded_token) = w.volunteer(141).await;
    let (_, forgotten_token) = w.volunteer(143).await;
    w.sign_up(shift, &recorded_token).await;
    w.sign_up(shift, &forgotten_token).await;
    let now = OffsetDateTime::now_utc();
    let coordinator = w.ctx(&w.coordinator, now).await;
    let by = Presence::Coordinator {
        volunteer: VolunteerNumber::parse(&recorded).unwrap(),
    };
    w.app
        .zhiyuan
        .check_in(&coordinator, ShiftId(shift), by.clone())
        .await
        .unwrap();
    let out = Ctx {
        now: now + Duration::hours(2),
        ..coordinator.clone()
    };
    w.app
        .zhiyuan
        .check_out(&out, ShiftId(shift), by)
        .await
        .unwrap();

    let org = zhiyuan_domain::ids::OrgId(w.team);
    let at = |days: i64| Ctx {
        now: now + Duration::days(days),
        ..coordinator.clone()
    };
    assert!(
        w.app
            .zhiyuan
            .org_overdue(&at(5), org)
            .await
            .unwrap()
            .is_empty()
    );
    let late = w.app.zhiyuan.org_overdue(&at(20), org).await.unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].shift.missing, 1);
    // Ten working days after the shift's day (no holidays configured) skip two weekends,
    // whichever day the shift ended on in China's time (a test run on a Friday evening
    // UTC has it end on a Saturday there).
    let end = zhiyuan_domain::clock::china_date(late[0].shift.shift.shift.ends_at);
    assert_eq!(
        (late[0].due - end).whole_days(),
        crate::working_weeks_span(end, 2),
        "ten working days after {end} ({}) span two weekends",
        end.weekday()
    );
    // The jurisdiction sees it; another jurisdiction may not look.
    let gz = w.app.admin("gz-admin", "440100").await;
    let jurisdiction = w
        .app
        .zhiyuan
        .region_overdue(
            &Ctx {
                now: now + Duration::days(20),
                ..w.ctx(&gz, now).await
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(jurisdiction.len(), 1);
    let sz = w.app.admin("sz-admin", "440300").await;
    let r = w.app.get("/api/v1/overdue?within=440100", Some(&sz)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Once the missing volunteer's time is reported and approved, nothing is overdue.
    let volunteer = Ctx {
        now: now + Duration::days(20),
        ..w.ctx(&forgotten_token, now).await
    };
    let report = w
        .app
        .zhiyuan
        .report_time(
            &volunteer,
            zhiyuan_service::SelfReport {
                shift: ShiftId(shift),
                minutes: 60,
                content: "清扫".into(),
            },
        )
        .await
        .unwrap();
    w.app
        .zhiyuan
        .decide_record(&at(20), report.id, true, None)
        .await
        .unwrap();
    assert!(
        w.app
            .zhiyuan
            .org_overdue(&at(20), org)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Records overdue are flagged to the team once, without anyone asking: housekeeping
/// writes `records.overdue` for the shift when its ten working days have passed, and the
/// team's administrator finds it in their inbox. A run before the day flags nothing, and
/// a second run after it flags nothing again.
#[tokio::test]
async fn overdue_records_are_flagged_once_to_the_teams_administrators() {
    let w = world().await;
    let shift = w.shift(Duration::minutes(30), 5).await;
    let (_, token) = w.volunteer(161).await;
    w.sign_up(shift, &token).await;
    let app = &w.app.zhiyuan;
    let now = OffsetDateTime::now_utc();
    app.relay_events(now).await.unwrap(); // the project's publication, for subscribers
    assert_eq!(
        app.flag_overdue_records(now + Duration::days(5))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.flag_overdue_records(now + Duration::days(20))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.flag_overdue_records(now + Duration::days(21))
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.relay_events(now).await.unwrap(), 1, "one event");

    let inbox = w
        .app
        .get("/api/v1/me/notifications", Some(&w.coordinator))
        .await;
    let items = inbox.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["event"], "records.overdue");
    assert_eq!(items[0]["subject_id"], shift.to_string());
    let text = items[0]["text"].as_str().unwrap();
    assert!(
        text.contains("社区环境清洁") && text.contains("1 名"),
        "{text}"
    );
    // The volunteer is not told: the team is.
    let theirs = w.app.get("/api/v1/me/notifications", Some(&token)).await;
    assert_eq!(theirs.body["items"].as_array().map(Vec::len), Some(0));
}

/// The team's changes to a sign-up refused by the store say why: an absence marked
/// twice was decided already, and one withdrawn after its place was given up (the
/// capacity lowered to the places still taken) finds the shift full.
#[tokio::test]
async fn an_absence_is_marked_once_and_withdrawn_only_while_its_place_is_free() {
    let w = world().await;
    let shift = w.shift(Duration::minutes(30), 2).await;
    let (_, came) = w.volunteer(171).await;
    let (_, absent) = w.volunteer(173).await;
    w.sign_up(shift, &came).await;
    let id = w.sign_up(shift, &absent).await.body["signup"]["id"]
        .as_i64()
        .map(SignupId)
        .expect("sign-up id");
    let during = w
        .ctx(
            &w.coordinator,
            OffsetDateTime::now_utc() + Duration::hours(1),
        )
        .await;
    let refused = |e: ServiceError| match e {
        ServiceError::Conflict { field, why, .. } => (field, why),
        other => panic!("{other:?}"),
    };
    let z = &w.app.zhiyuan;
    z.mark_absent(&during, id, None).await.unwrap();
    let twice = z.mark_absent(&during, id, None).await.unwrap_err();
    assert_eq!(refused(twice), ("status", Some(Reason::AlreadyDecided)));
    let r = w
        .app
        .patch(
            &format!("/api/v1/shifts/{shift}"),
            Some(&w.coordinator),
            json!({"capacity": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let full = z.withdraw_absence(&during, id, None).await.unwrap_err();
    assert_eq!(refused(full), ("shift", Some(Reason::ShiftFull)));
}

/// An absence withdrawn as its shift is cancelled, in the same instant: the withdrawal
/// lands first or is refused because the shift is cancelled, never because it is full
/// (it has places free), though the shift read before the refusal was not cancelled yet.
/// Raced on ten shifts.
#[tokio::test]
async fn an_absence_withdrawn_as_its_shift_is_cancelled_is_refused_as_cancelled_not_full() {
    let w = world().await;
    let during = w
        .ctx(
            &w.coordinator,
            OffsetDateTime::now_utc() + Duration::hours(1),
        )
        .await;
    let z = &w.app.zhiyuan;
    for i in 0..10 {
        let shift = w.shift(Duration::minutes(30), 5).await;
        let (_, token) = w.volunteer(181 + 2 * i).await;
        let id = w.sign_up(shift, &token).await.body["signup"]["id"]
            .as_i64()
            .map(SignupId)
            .expect("sign-up id");
        z.mark_absent(&during, id, None).await.unwrap();
        let path = format!("/api/v1/shifts/{shift}");
        let cancel = w
            .app
            .patch(&path, Some(&w.coordinator), json!({"cancelled": true}));
        let (cancelled, withdrawn) = tokio::join!(cancel, z.withdraw_absence(&during, id, None));
        assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
        match withdrawn {
            Ok(s) => assert_eq!(s.status, SignupStatus::Accepted),
            Err(ServiceError::Conflict { field, why, .. }) => {
                assert_eq!((field, why), ("shift", Some(Reason::ShiftCancelled)));
            }
            Err(other) => panic!("{other:?}"),
        }
    }
}

/// A volunteer who held a place and did not come is marked absent by the team once the
/// shift has started; no record is then owed for them, the place is given up, the
/// volunteer sees it, and the trail says who and why. Refused before the shift starts, to
/// the volunteer, for a volunteer who checked in, and twice. The team can withdraw it.
#[tokio::test]
async fn a_volunteer_who_did_not_come_is_marked_absent_by_the_team_and_owes_no_record() {
    let w = world().await;
    let shift = w.shift(Duration::minutes(30), 5).await;
    let (came, came_token) = w.volunteer(151).await;
    let (absent_number, absent_token) = w.volunteer(153).await;
    w.sign_up(shift, &came_token).await;
    let absent = w.sign_up(shift, &absent_token).await.body["signup"]["id"]
        .as_i64()
        .expect("sign-up id");
    let absence = format!("/api/v1/signups/{absent}/absence");

    // Before the shift starts it is a cancellation, not an absence.
    let r = w
        .app
        .post(&absence, Some(&w.coordinator), json!({"reason": "未到场"}))
        .await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("shift", "shift_not_started"))
    );
    let r = w.app.post(&absence, Some(&absent_token), json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let now = OffsetDateTime::now_utc();
    let during = w.ctx(&w.coordinator, now + Duration::hours(1)).await;
    let by = Presence::Coordinator {
        volunteer: VolunteerNumber::parse(&came).unwrap(),
    };
    w.app
        .zhiyuan
        .check_in(&during, ShiftId(shift), by.clone())
        .await
        .unwrap();
    let came_signup = w
        .app
        .zhiyuan
        .list_shift_signups(
            &during,
            ShiftId(shift),
            None,
            &zhiyuan_store::PageRequest::first(10),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|s| s.id.0 != absent)
        .expect("the other sign-up");
    let refused = w
        .app
        .zhiyuan
        .mark_absent(&during, came_signup.id, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            zhiyuan_service::ServiceError::Conflict {
                field: "attendance",
                why: Some(Reason::AttendanceTaken),
                ..
            }
        ),
        "{refused:?}"
    );

    let marked = w
        .app
        .zhiyuan
        .mark_absent(&during, SignupId(absent), Some("未到场，电话未接".into()))
        .await
        .unwrap();
    assert_eq!(marked.status, SignupStatus::Absent);
    let again = w
        .app
        .zhiyuan
        .mark_absent(&during, SignupId(absent), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            zhiyuan_service::ServiceError::Conflict {
                field: "status",
                ..
            }
        ),
        "{again:?}"
    );
    let stored = w
        .app
        .zhiyuan
        .store()
        .get_shift(ShiftId(shift))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.accepted, 1,
        "the absent volunteer's place is given up"
    );

    // The one who came is recorded at check-out; nothing is overdue after ten working days.
    let after = w.ctx(&w.coordinator, now + Duration::hours(4)).await;
    w.app
        .zhiyuan
        .check_out(&after, ShiftId(shift), by)
        .await
        .unwrap();
    let late = w.ctx(&w.coordinator, now + Duration::days(20)).await;
    assert!(
        w.app
            .zhiyuan
            .org_overdue(&late, zhiyuan_domain::ids::OrgId(w.team))
            .await
            .unwrap()
            .is_empty()
    );

    // The volunteer sees it (and the trail below says who and why).
    let mine = w.app.get("/api/v1/me/signups", Some(&absent_token)).await;
    assert_eq!(
        mine.body["items"][0]["signup"]["status"], "absent",
        "{:?}",
        mine.body
    );

    // Marked in error: the team withdraws the absence (not the volunteer), the place is
    // taken back and the volunteer can check in after all; a second withdrawal is refused.
    let withdraw = format!("{absence}?reason=%E8%AF%AF%E6%A0%87"); // 误标
    let r = w
        .app
        .request(Method::DELETE, &withdraw, Some(&absent_token), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .app
        .request(Method::DELETE, &withdraw, Some(&w.coordinator), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "accepted");
    w.app
        .zhiyuan
        .check_in(
            &during,
            ShiftId(shift),
            Presence::Coordinator {
                volunteer: VolunteerNumber::parse(&absent_number).unwrap(),
            },
        )
        .await
        .expect("the reinstated volunteer checks in");
    let r = w
        .app
        .request(Method::DELETE, &withdraw, Some(&w.coordinator), None)
        .await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("status", "not_absent"))
    );
    let admin = w.app.admin("gz-admin", "440100").await;
    let trail = w
        .app
        .get(
            &format!("/api/v1/audit?subject_type=signup&subject_id={absent}"),
            Some(&admin),
        )
        .await;
    let said = |i: usize| {
        let e = &trail.body["items"][i];
        (e["action"].as_str(), e["reason"].as_str())
    };
    assert_eq!(said(0), (Some("signup.reinstate"), Some("误标")));
    assert_eq!(said(1), (Some("signup.absent"), Some("未到场，电话未接")));

    // The volunteer was told both, with the reasons.
    let told = inbox(&w.app, &absent_token).await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told[0].1.contains("缺席记录已撤销") && told[0].1.ends_with("原因：误标"));
    assert!(told[1].1.contains("被记为缺席") && told[1].1.ends_with("原因：未到场，电话未接"));

    // A badge counts them; marking read up to the older one leaves the newer unread.
    let unread = || async {
        let r = w
            .app
            .get("/api/v1/me/notifications/unread", Some(&absent_token))
            .await;
        r.body["unread"].as_i64().expect("unread")
    };
    let read_up_to = |id: Value| {
        let app = &w.app;
        let token = &absent_token;
        async move {
            let r = app
                .post(
                    "/api/v1/me/notifications/read",
                    Some(token),
                    json!({"up_to": id}),
                )
                .await;
            r.body["marked"].as_i64().expect("marked")
        }
    };
    assert_eq!(unread().await, 2);
    let listed = w
        .app
        .get("/api/v1/me/notifications", Some(&absent_token))
        .await;
    let (newer, older) = (
        listed.body["items"][0]["id"].clone(),
        listed.body["items"][1]["id"].clone(),
    );
    assert_eq!(read_up_to(older).await, 1);
    assert_eq!(unread().await, 1);
    assert_eq!(read_up_to(newer.clone()).await, 1);
    assert_eq!((unread().await, read_up_to(newer).await), (0, 0));
}

#[tokio::test]
async fn projects_are_found_by_chinese_text_and_near_a_place_and_shifts_export_to_a_calendar() {
    let w = world().await;
    let today = zhiyuan_domain::clock::china_date(OffsetDateTime::now_utc());
    let far = w
        .app
        .post(
            "/api/v1/projects",
            Some(&w.coordinator),
            json!({"organisation": w.team, "name": "敬老院探访活动", "category": "elderly",
                   "description": "陪伴老人聊天", "region": VILLAGE, "address": "从化区敬老院",
                   "location": {"lat": 23.55, "lng": 113.59},
                   "starts_on": today.to_string(), "ends_on": (today + Duration::days(9)).to_string(),
                   "signup_mode": "automatic", "responsible_person": "陈志愿"}),
        )
        .await;
    w.app
        .post(
            &format!("/api/v1/projects/{}/status", far.body["id"]),
            Some(&w.coordinator),
            json!({"status": "published"}),
        )
        .await;
    let names = |r: &zhiyuan_testkit::Response| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut found = Vec::new();
    for q in [
        "%E7%8E%AF%E5%A2%83%E6%B8%85%E6%B4%81",
        "%E6%95%AC%E8%80%81",
        "%E8%81%8A%E5%A4%A9",
        "%25",
    ] {
        found.push(names(
            &w.app.get(&format!("/api/v1/projects?q={q}"), None).await,
        ));
    }
    // 环境清洁 (trigram index), 敬老 (two characters), 聊天 (in the description), and a
    // percent sign taken literally.
    assert_eq!(
        found,
        [
            vec!["社区环境清洁"],
            vec!["敬老院探访活动"],
            vec!["敬老院探访活动"],
            vec![]
        ]
    );
    // A team's projects, alone and with words; an unknown team is not found.
    let mut of_team = Vec::new();
    for q in ["", "&q=%E6%95%AC%E8%80%81"] {
        let path = format!("/api/v1/projects?organisation={}{q}", w.team);
        let mut listed = names(&w.app.get(&path, None).await);
        listed.sort();
        of_team.push(listed);
    }
    assert_eq!(
        of_team,
        [
            vec!["敬老院探访活动", "社区环境清洁"],
            vec!["敬老院探访活动"]
        ]
    );
    let unknown = w
        .app
        .get("/api/v1/projects?organisation=999999", None)
        .await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);
    let near = w
        .app
        .get("/api/v1/projects?near=23.151,113.341&radius_km=5", None)
        .await;
    assert_eq!(names(&near), ["社区环境清洁"]);
    assert!(near.body["items"][0]["distance_m"].as_f64().unwrap() < 200.0);
    let wide = w
        .app
        .get("/api/v1/projects?near=23.151,113.341&radius_km=100", None)
        .await;
    assert_eq!(
        names(&wide),
        ["社区环境清洁", "敬老院探访活动"],
        "nearest first"
    );
    assert_eq!(
        w.app
            .get("/api/v1/projects?near=23.1", None)
            .await
            .field_codes(),
        why("near", "not_a_point")
    );
    assert_eq!(
        w.app
            .get("/api/v1/projects?near=23.1,113.3&radius_km=500", None)
            .await
            .field_codes(),
        why("radius_km", "above_zero_at_most")
    );

    let shift = w.shift(Duration::hours(30), 3).await;
    let (number, token) = w.volunteer(171).await;
    w.sign_up(shift, &token).await;
    let ics = w
        .app
        .client
        .get(format!("{}/api/v1/me/schedule.ics", w.app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(
        ics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let body = ics.text().await.unwrap();
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n"));
    assert_eq!(body.matches("BEGIN:VEVENT").count(), 1);
    assert!(
        body.replace("\r\n ", "")
            .contains("SUMMARY:社区环境清洁（清洁员）")
    );
    assert!(body.contains("STATUS:CONFIRMED"));
    assert!(body.contains("X-WR-CALNAME:志愿服务班次"));
    // The event says where on a map (latitude first), and its identifier names this
    // platform's host, so that a calendar subscribed to two platforms keeps both's events.
    assert!(body.contains("\r\nGEO:23.150000;113.340000\r\n"), "{body}");
    let signup = w.app.get("/api/v1/me/signups", Some(&token)).await;
    let id = &signup.body["items"][0]["signup"]["id"];
    assert!(
        body.contains(&format!("\r\nUID:signup-{id}@127.0.0.1\r\n")),
        "{body}"
    );
    // A calendar app subscribes by a link (it sends no token) and gets the same file; a
    // new link ends the old one, as for a link shared by mistake.
    let linked = |token: String| {
        let app = &w.app;
        async move {
            let r = app
                .post("/api/v1/me/calendar-link", Some(&token), json!({}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            r.body["url"].as_str().expect("url").to_owned()
        }
    };
    let first_link = linked(token.clone()).await;
    assert!(
        first_link.starts_with(&format!("{}/calendar/", w.app.base))
            && first_link.ends_with(".ics"),
        "{first_link}"
    );
    let subscribed = w.app.client.get(&first_link).send().await.unwrap();
    assert_eq!(subscribed.status(), StatusCode::OK);
    // The same file but for the moment it was made (DTSTAMP).
    let unstamped = |text: &str| -> Vec<String> {
        let lines = text.lines().filter(|l| !l.starts_with("DTSTAMP:"));
        lines.map(str::to_owned).collect()
    };
    assert_eq!(
        unstamped(&subscribed.text().await.unwrap()),
        unstamped(&body)
    );
    let second_link = linked(token.clone()).await;
    assert_ne!(second_link, first_link);
    let old = w.app.client.get(&first_link).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
    let new = w.app.client.get(&second_link).send().await.unwrap();
    assert_eq!(new.status(), StatusCode::OK);
    // A volunteer who lost their phone ends the link without making another; ending it
    // again, or with none left, is no error.
    for _ in 0..2 {
        let ended = w
            .app
            .request(
                reqwest::Method::DELETE,
                "/api/v1/me/calendar-link",
                Some(&token),
                None,
            )
            .await;
        assert_eq!(ended.status, StatusCode::NO_CONTENT, "{:?}", ended.body);
        let gone = w.app.client.get(&second_link).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    }
    let admin = w.app.admin("gz-admin", "440100").await;
    let audit = w
        .app
        .get(
            &format!("/api/v1/audit?subject_type=volunteer&subject_id={number}"),
            Some(&admin),
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("audit items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("calendar."))
        .collect();
    assert_eq!(
        actions,
        [
            "calendar.unlink",
            "calendar.unlink",
            "calendar.link",
            "calendar.link"
        ],
        "newest first"
    );

    // A volunteer who reads English, or Hong Kong's Traditional Chinese, subscribes with
    // `?lang=` (calendar apps send no Accept-Language) or asks from the browser; the
    // project and position stay as recorded. Waitlisted, the event says so.
    let full = w.shift(Duration::hours(40), 1).await;
    let (_, first) = w.volunteer(172).await;
    w.sign_up(full, &first).await;
    let waitlisted = w.sign_up(full, &token).await;
    assert_eq!(
        waitlisted.body["signup"]["status"], "waitlisted",
        "{:?}",
        waitlisted.body
    );
    let calendar = |query: &'static str, accept_language: &'static str| {
        let request = w
            .app
            .client
            .get(format!("{}/api/v1/me/schedule.ics{query}", w.app.base))
            .bearer_auth(&token)
            .header("accept-language", accept_language);
        async move {
            let r = request.send().await.unwrap();
            let language = r.headers()["content-language"].to_str().unwrap().to_owned();
            (language, r.text().await.unwrap().replace("\r\n ", ""))
        }
    };
    let (language, english) = calendar("?lang=en", "zh-CN").await;
    assert_eq!(language, "en");
    assert!(
        english.contains("X-WR-CALNAME:Volunteer shifts"),
        "{english}"
    );
    assert!(
        english.contains("SUMMARY:社区环境清洁 (清洁员)"),
        "{english}"
    );
    assert!(
        english.contains("SUMMARY:[Waitlisted] 社区环境清洁 (清洁员)"),
        "{english}"
    );
    let (language, traditional) = calendar("", "zh-HK,en;q=0.5").await;
    assert_eq!(language, "zh-HK");
    assert!(
        traditional.contains("X-WR-CALNAME:志願服務班次"),
        "{traditional}"
    );
    assert!(
        traditional.contains("SUMMARY:[候補] 社区环境清洁（清洁员）"),
        "{traditional}"
    );
}
