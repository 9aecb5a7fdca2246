//! Star levels: eligibility, public notice with objections, certification, revocation,
//! and rules per jurisdiction.

use reqwest::StatusCode;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use zhiyuan_service::Ctx;
use zhiyuan_store::StarApplicationId;
use zhiyuan_testkit::why;

use crate::participation::{World, inbox, world};

/// Gives `number` `days` records of 12 hours each.
pub(crate) async fn hours(w: &World, number: &str, days: i64) {
    for d in 0..days {
        let date = time::macros::date!(2026 - 09 - 01) + Duration::days(d);
        let r = w
            .app
            .post(
                &format!("/api/v1/organisations/{}/records", w.team),
                Some(&w.coordinator),
                json!({"volunteer": number, "activity_name": "大型赛会服务", "service_date": date.to_string(),
                       "place": "天河体育中心", "content": "引导", "minutes": 720, "responsible_person": "陈志愿"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
}

#[tokio::test]
async fn a_star_goes_through_public_notice_to_certification_and_can_be_revoked() {
    let w = world().await;
    let (number, token) = w.volunteer(151).await;
    let early = w
        .app
        .post("/api/v1/me/star-applications", Some(&token), json!({}))
        .await;
    assert_eq!(early.field_codes(), why("star", "star_not_eligible"));
    assert_eq!(
        early.body["error"]["fields"][0]["reason"],
        "your hours and tenure do not yet qualify for a star"
    );
    hours(&w, &number, 9).await;
    let standing = w
        .app
        .get(&format!("/api/v1/volunteers/{number}/star"), Some(&token))
        .await;
    assert_eq!(
        (
            standing.body["star"].as_u64(),
            standing.body["eligible"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(standing.body["next_hours"], 300);
    let too_high = w
        .app
        .post(
            "/api/v1/me/star-applications",
            Some(&token),
            json!({"star": 2}),
        )
        .await;
    assert_eq!(too_high.field_codes(), why("star", "star_not_eligible"));
    let county = w.app.admin("th-admin", "440106").await;
    let applied = w
        .app
        .post("/api/v1/me/star-applications", Some(&token), json!({}))
        .await;
    assert_eq!(applied.status, StatusCode::CREATED, "{:?}", applied.body);
    assert_eq!(
        applied.body["certifier"], "440106",
        "counties certify one star"
    );
    assert_eq!(applied.body["label"], "一星");
    let again = w
        .app
        .post("/api/v1/me/star-applications", Some(&token), json!({}))
        .await;
    assert_eq!(
        (again.status, again.field_codes()),
        (StatusCode::CONFLICT, why("star", "application_open"))
    );
    let id = applied.body["id"].as_i64().unwrap();

    // Shenzhen has no say; Guangzhou (above the county) does.
    let sz = w.app.admin("sz-admin", "440300").await;
    let notice = format!("/api/v1/star-applications/{id}/notice");
    assert_eq!(
        w.app.post(&notice, Some(&sz), json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    let gz = w.app.admin("gz-admin", "440100").await;
    let noticed = w.app.post(&notice, Some(&gz), json!({})).await;
    assert_eq!(noticed.body["status"], "in_notice", "{:?}", noticed.body);
    let day = |f: &str| {
        zhiyuan_domain::registration::parse_date(noticed.body[f].as_str().unwrap()).unwrap()
    };
    // Five working days after the day it starts (no holidays configured): a week on from
    // a weekday, the Friday after from a weekend day.
    let from = day("notice_from");
    assert_eq!(
        (day("notice_until") - from).whole_days(),
        crate::working_weeks_span(from, 1),
        "five working days after {from}, a {}",
        from.weekday()
    );
    let public = w.app.get("/api/v1/star-notices?within=440100", None).await;
    assert_eq!(public.body["items"][0]["volunteer_number"], number);
    // Anyone may object during the notice; the certifier reads the objections.
    let objection = w
        .app
        .post(
            &format!("/api/v1/star-applications/{id}/objections"),
            None,
            json!({"text": "时长存疑", "contact": "13700000000"}),
        )
        .await;
    assert_eq!(objection.status, StatusCode::CREATED);
    let objections = w
        .app
        .get(
            &format!("/api/v1/star-applications/{id}/objections"),
            Some(&gz),
        )
        .await;
    assert_eq!(objections.body[0]["text"], "时长存疑");
    // The certifying county's administrators were asked to act on both.
    let asked: Vec<String> = inbox(&w.app, &county)
        .await
        .into_iter()
        .map(|(event, _)| event)
        .collect();
    assert_eq!(asked, ["stars.objection", "stars.apply"]);
    assert!(inbox(&w.app, &gz).await.is_empty(), "not the city's");
    // Not before the notice has ended.
    let decision = format!("/api/v1/star-applications/{id}/decision");
    let premature = w
        .app
        .post(&decision, Some(&gz), json!({"certify": true}))
        .await;
    assert_eq!(
        (premature.status, premature.field_codes()),
        (StatusCode::CONFLICT, why("status", "notice_running"))
    );
    let later = Ctx {
        now: OffsetDateTime::now_utc() + Duration::days(10),
        ..w.ctx(&gz, OffsetDateTime::now_utc()).await
    };
    let certified = w
        .app
        .zhiyuan
        .decide_star(
            &later,
            StarApplicationId(id),
            true,
            Some("公示无异议".into()),
        )
        .await
        .unwrap();
    assert_eq!(
        certified.status,
        zhiyuan_domain::stars::StarStatus::Certified
    );
    let held = w
        .app
        .post("/api/v1/me/star-applications", Some(&token), json!({}))
        .await;
    assert_eq!(held.field_codes(), why("star", "star_held"));
    let standing = w
        .app
        .get(&format!("/api/v1/volunteers/{number}/star"), Some(&token))
        .await;
    assert_eq!(
        (
            standing.body["star"].as_u64(),
            standing.body["label"].as_str()
        ),
        (Some(1), Some("一星"))
    );
    // Revoked for false hours: the star goes, and re-applying is barred for a year.
    let no_reason = w
        .app
        .post(
            &format!("/api/v1/star-applications/{id}/revoke"),
            Some(&gz),
            json!({"reason": " "}),
        )
        .await;
    assert_eq!(no_reason.field_codes(), why("reason", "required"));
    let revoked = w
        .app
        .post(
            &format!("/api/v1/star-applications/{id}/revoke"),
            Some(&gz),
            json!({"reason": "时长造假"}),
        )
        .await;
    assert_eq!(revoked.body["status"], "revoked");
    // The volunteer was told each step: the notice, the certification, the revocation.
    let told: Vec<String> = inbox(&w.app, &token)
        .await
        .into_iter()
        .map(|(event, text)| format!("{event} {text}"))
        .collect();
    assert_eq!(told.len(), 3, "{told:?}");
    assert!(told[0].starts_with("stars.decide") && told[0].ends_with("已被撤销。原因：时长造假"));
    assert!(
        told[1].contains("认定") && told[1].contains("你已通过"),
        "{told:?}"
    );
    assert!(told[2].ends_with("认定申请已进入公示"), "{told:?}");
    let standing = w
        .app
        .get(&format!("/api/v1/volunteers/{number}/star"), Some(&token))
        .await;
    assert_eq!(standing.body["star"], 0);
    assert!(standing.body["barred_until"].is_string());
    let barred = w
        .app
        .post("/api/v1/me/star-applications", Some(&token), json!({}))
        .await;
    assert_eq!(
        (barred.status, barred.field_codes()),
        (StatusCode::CONFLICT, why("star", "star_barred"))
    );
}

#[tokio::test]
async fn a_jurisdiction_sets_its_own_rules_and_only_its_own() {
    let w = world().await;
    let mut shenzhen = w
        .app
        .get("/api/v1/regions/440300/star-rules", None)
        .await
        .body["rules"]
        .clone();
    for (i, days) in [182, 182, 365, 365, 730].into_iter().enumerate() {
        shenzhen["tiers"][i]["min_tenure_days"] = json!(days);
    }
    let gz = w.app.admin("gz-admin", "440100").await;
    let sz = w.app.admin("sz-admin", "440300").await;
    assert_eq!(
        w.app
            .request(
                reqwest::Method::PUT,
                "/api/v1/regions/440300/star-rules",
                Some(&gz),
                Some(shenzhen.clone())
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let set = w
        .app
        .request(
            reqwest::Method::PUT,
            "/api/v1/regions/440300/star-rules",
            Some(&sz),
            Some(shenzhen),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{:?}", set.body);
    w.app.region("440304001001").await;
    let below = w
        .app
        .get("/api/v1/regions/440304001001/star-rules", None)
        .await;
    assert_eq!(below.body["from"], "440300");
    assert_eq!(below.body["rules"]["tiers"][4]["min_tenure_days"], 730);
    assert_eq!(
        w.app
            .get("/api/v1/regions/440106/star-rules", None)
            .await
            .body["from"],
        "440000"
    );
    let mut broken = below.body["rules"].clone();
    broken["tiers"][1]["hours"] = json!(50);
    let r = w
        .app
        .request(
            reqwest::Method::PUT,
            "/api/v1/regions/440300/star-rules",
            Some(&sz),
            Some(broken),
        )
        .await;
    assert_eq!(r.field_codes(), why("tiers[1].hours", "must_rise"));
}
