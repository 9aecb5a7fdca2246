//! Corrections (Art. 13), omissions, record history, and training, award and evaluation
//! entries.

use reqwest::StatusCode;
use serde_json::{Value, json};
use zhiyuan_domain::access::GrantedRole;

use zhiyuan_store::{DayCap, RecordId};
use zhiyuan_testkit::why;

use crate::participation::{World, audit, inbox, world};

/// Enters a record of `minutes` for `number` on 2026-11-02 and returns its id.
async fn entered(w: &World, number: &str, minutes: i64) -> i64 {
    entered_on(w, number, "2026-11-02", minutes).await
}

/// Enters a record of `minutes` for `number` on `day` and returns its id.
async fn entered_on(w: &World, number: &str, day: &str, minutes: i64) -> i64 {
    let r = w
        .app
        .post(
            &format!("/api/v1/organisations/{}/records", w.team),
            Some(&w.coordinator),
            json!({"volunteer": number, "activity_name": "义务植树", "service_date": day,
                   "place": "白云山", "content": "植树", "minutes": minutes, "responsible_person": "陈志愿"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_i64().expect("id")
}

async fn decide(w: &World, correction: &Value, approve: bool) -> zhiyuan_testkit::Response {
    w.app
        .post(
            &format!("/api/v1/corrections/{correction}/decision"),
            Some(&w.coordinator),
            json!({"approve": approve, "note": "核实签到表"}),
        )
        .await
}

#[tokio::test]
async fn a_volunteers_records_page_newest_entered_first_whatever_their_days() {
    let w = world().await;
    let (number, token) = w.volunteer(95).await;
    // Entered in this order, for days out of order. The store finds a volunteer's
    // records through an index in day order; the list is still in the order entered.
    let mut in_order_entered = Vec::new();
    for day in [
        "2026-09-15",
        "2026-11-20",
        "2026-10-01",
        "2026-11-01",
        "2026-11-03",
    ] {
        in_order_entered.push(entered_on(&w, &number, day, 60).await);
    }
    let first = format!("/api/v1/volunteers/{number}/records?limit=2");
    let mut path = first.clone();
    let mut seen = Vec::new();
    loop {
        let page = w.app.get(&path, Some(&token)).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= 2, "{items:?}");
        seen.extend(items.iter().map(|r| r["id"].as_i64().expect("id")));
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("{first}&cursor={c}"),
            None => break,
        }
    }
    in_order_entered.reverse();
    assert_eq!(seen, in_order_entered);
}

#[tokio::test]
async fn an_approved_correction_adds_a_version_moves_the_totals_and_keeps_the_history() {
    let w = world().await;
    let (number, token) = w.volunteer(91).await;
    let record = entered(&w, &number, 120).await;
    let asked = w
        .app
        .post(
            &format!("/api/v1/records/{record}/corrections"),
            Some(&token),
            json!({"reason": "实际服务到11点半", "changes": {"minutes": 150}}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{:?}", asked.body);
    assert_eq!(asked.body["status"], "pending");
    let decided = decide(&w, &asked.body["id"], true).await;
    assert_eq!(decided.status, StatusCode::OK, "{:?}", decided.body);
    let version = &decided.body["record"];
    assert_eq!(
        (version["revision"].as_i64(), version["origin"].as_i64()),
        (Some(2), Some(record))
    );
    assert_eq!(
        (version["minutes"].as_i64(), version["source"].as_str()),
        (Some(150), Some("correction"))
    );
    assert_eq!(w.totals(&number, &token).await["minutes"], 150);
    assert_eq!(w.totals(&number, &token).await["records"], 1);
    // The volunteer's list shows the current version only; the history shows both.
    let mine = w
        .app
        .get(
            &format!("/api/v1/volunteers/{number}/records"),
            Some(&token),
        )
        .await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine.body["items"][0]["minutes"], 150);
    let history = w
        .app
        .get(&format!("/api/v1/records/{record}/history"), Some(&token))
        .await;
    let versions: Vec<(i64, bool)> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["minutes"].as_i64().unwrap(),
                v["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(120, false), (150, true)]);
    // Auditors see the history; another volunteer does not.
    let auditor = w
        .app
        .staff("gz-auditor", GrantedRole::Auditor, Some("440100"), None)
        .await;
    assert_eq!(
        w.app
            .get(&format!("/api/v1/records/{record}/history"), Some(&auditor))
            .await
            .status,
        StatusCode::OK
    );
    let (_, stranger) = w.volunteer(93).await;
    assert_eq!(
        w.app
            .get(
                &format!("/api/v1/records/{record}/history"),
                Some(&stranger)
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Who changed what, when and why is in the trail.
    let admin = w.app.admin("gz-admin", "440100").await;
    let trail = w
        .app
        .get(
            &format!(
                "/api/v1/audit?subject_type=correction&subject_id={}",
                asked.body["id"]
            ),
            Some(&admin),
        )
        .await;
    let actions: Vec<&str> = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["correction.decide", "correction.request"]);
    assert_eq!(trail.body["items"][0]["reason"], "核实签到表");
    // The volunteer is told.
    let told = inbox(&w.app, &token).await;
    assert_eq!(
        told,
        [(
            "correction.decide".to_owned(),
            "你的记录更正申请已通过，记录已更新".to_owned()
        )]
    );
    // And the team was asked, with the volunteer's reason.
    let asked_of_team = inbox(&w.app, &w.coordinator).await;
    assert_eq!(asked_of_team.len(), 1, "{asked_of_team:?}");
    assert_eq!(asked_of_team[0].0, "correction.request");
    assert!(asked_of_team[0].1.ends_with("：实际服务到11点半"));
}

#[tokio::test]
async fn corrections_are_refused_when_they_cannot_apply() {
    let w = world().await;
    let (number, token) = w.volunteer(95).await;
    let record = entered(&w, &number, 60).await;
    let path = format!("/api/v1/records/{record}/corrections");
    let empty = w
        .app
        .post(&path, Some(&token), json!({"reason": "x", "changes": {}}))
        .await;
    assert_eq!(empty.field_codes(), why("changes", "required"));
    let over = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"reason": "x", "changes": {"minutes": 800}}),
        )
        .await;
    assert_eq!(over.field_codes(), why("changes.minutes", "over_daily_cap"));
    let bad_date = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"reason": "x", "changes": {"service_date": "2026-02-30"}}),
        )
        .await;
    assert_eq!(bad_date.error_fields(), ["changes.service_date"]);
    let (_, other) = w.volunteer(97).await;
    let not_mine = w
        .app
        .post(
            &path,
            Some(&other),
            json!({"reason": "x", "changes": {"minutes": 90}}),
        )
        .await;
    assert_eq!(not_mine.status, StatusCode::FORBIDDEN);
    let first = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"reason": "漏记", "changes": {"minutes": 90}}),
        )
        .await;
    let second = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"reason": "漏记", "changes": {"minutes": 95}}),
        )
        .await;
    assert_eq!(
        (second.status, second.field_codes()),
        (StatusCode::CONFLICT, why("record", "correction_waiting"))
    );
    // The volunteer cannot decide their own correction.
    let own = w
        .app
        .post(
            &format!("/api/v1/corrections/{}/decision", first.body["id"]),
            Some(&token),
            json!({"approve": true}),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let rejected = decide(&w, &first.body["id"], false).await;
    assert_eq!(rejected.body["correction"]["status"], "rejected");
    assert!(rejected.body["record"].is_null());
    let decided = decide(&w, &first.body["id"], true).await;
    assert_eq!(
        (decided.status, decided.field_codes()),
        (StatusCode::CONFLICT, why("status", "already_decided"))
    );
    assert_eq!(w.totals(&number, &token).await["minutes"], 60);
    // Once corrected, the old version cannot be corrected again.
    let again = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"reason": "再核", "changes": {"minutes": 75}}),
        )
        .await;
    decide(&w, &again.body["id"], true).await;
    let stale = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"reason": "再核", "changes": {"minutes": 80}}),
        )
        .await;
    assert_eq!(
        (stale.status, stale.field_codes()),
        (StatusCode::CONFLICT, why("record", "newer_version_exists"))
    );
}

/// A correction that would take its day over the daily cap is refused on `minutes`; one
/// that lowers a day already over the cap (the cap was lowered after it was recorded) is
/// approved, so hours can always be corrected down.
#[tokio::test]
async fn corrections_may_lower_a_day_over_the_cap_but_never_raise_one_past_it() {
    let w = world().await;
    let (number, token) = w.volunteer(101).await;
    let morning = entered(&w, &number, 400).await;
    let afternoon = entered(&w, &number, 300).await;
    let ask = |record: i64, minutes: i64| {
        let (w, token) = (&w, &token);
        async move {
            let r = w
                .app
                .post(
                    &format!("/api/v1/records/{record}/corrections"),
                    Some(token),
                    json!({"reason": "核对签到表", "changes": {"minutes": minutes}}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            r.body["id"].clone()
        }
    };
    let raise = ask(afternoon, 400).await;
    let refused = decide(&w, &raise, true).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.error_fields(), ["minutes"]);
    assert_eq!(w.totals(&number, &token).await["minutes"], 700);
    // Written past the cap as a system with a higher cap would have: 800 minutes that day.
    let store = w.app.zhiyuan.store();
    let first = store.get_record(RecordId(morning)).await.unwrap().unwrap();
    let mut earlier = first.record.clone();
    (earlier.minutes, earlier.dedupe_key) = (100, None);
    store
        .insert_record(&earlier, DayCap::NONE, &audit())
        .await
        .unwrap();
    assert_eq!(w.totals(&number, &token).await["minutes"], 800);
    let lower = ask(morning, 350).await;
    let approved = decide(&w, &lower, true).await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert_eq!(w.totals(&number, &token).await["minutes"], 750);
    // Still over the cap, so the raise stays refused.
    assert_eq!(decide(&w, &raise, true).await.error_fields(), ["minutes"]);
    assert_eq!(w.totals(&number, &token).await["minutes"], 750);
}

#[tokio::test]
async fn a_reported_omission_becomes_a_record_once_approved() {
    let w = world().await;
    let (number, token) = w.volunteer(99).await;
    let path = format!("/api/v1/organisations/{}/omissions", w.team);
    let incomplete = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"reason": "漏记", "record": {"minutes": 60}}),
        )
        .await;
    // Each field the missing record lacks is named, so a form can mark them all.
    let missing: Vec<(String, String)> = [
        "activity_name",
        "service_date",
        "place",
        "content",
        "responsible_person",
    ]
    .map(|f| (format!("record.{f}"), "required".to_owned()))
    .into();
    assert_eq!(incomplete.field_codes(), missing);
    let reported = w
        .app
        .post(
            &path,
            Some(&token),
            json!({"reason": "当天签到系统故障", "record": {"activity_name": "敬老院探访",
                   "service_date": "2026-11-10", "place": "天河敬老院", "content": "陪伴老人",
                   "minutes": 180, "responsible_person": "陈志愿"}}),
        )
        .await;
    assert_eq!(reported.status, StatusCode::CREATED, "{:?}", reported.body);
    let pending = w
        .app
        .get(
            &format!(
                "/api/v1/organisations/{}/corrections?status=pending",
                w.team
            ),
            Some(&w.coordinator),
        )
        .await;
    assert_eq!(pending.body["items"].as_array().unwrap().len(), 1);
    let approved = decide(&w, &reported.body["id"], true).await;
    assert_eq!(approved.body["record"]["activity_name"], "敬老院探访");
    assert_eq!(w.totals(&number, &token).await["minutes"], 180);
    let listed = w
        .app
        .get(
            &format!("/api/v1/volunteers/{number}/corrections"),
            Some(&token),
        )
        .await;
    assert_eq!(listed.body["items"][0]["status"], "approved");
}

#[tokio::test]
async fn trainings_awards_and_evaluations_are_recorded_with_their_fields() {
    let w = world().await;
    let (number, token) = w.volunteer(101).await;
    let path = format!("/api/v1/organisations/{}/entries", w.team);
    let training = json!({"kind": "training", "volunteer": number, "name": "急救培训",
        "date": "2026-10-01", "content": "心肺复苏", "issuer": "广州红十字会"});
    let no_duration = w
        .app
        .post(&path, Some(&w.coordinator), training.clone())
        .await;
    assert_eq!(no_duration.error_fields(), ["duration_minutes"]);
    let mut with_duration = training;
    with_duration["duration_minutes"] = json!(240);
    assert_eq!(
        w.app
            .post(&path, Some(&w.coordinator), with_duration)
            .await
            .status,
        StatusCode::CREATED
    );
    let evaluation = json!({"kind": "evaluation", "volunteer": number, "name": "年度评价",
        "date": "2026-11-20", "issuer": "志愿服务队"});
    assert_eq!(
        w.app
            .post(&path, Some(&w.coordinator), evaluation.clone())
            .await
            .error_fields(),
        ["rating"]
    );
    let mut rated = evaluation;
    rated["rating"] = json!("优秀");
    assert_eq!(
        w.app.post(&path, Some(&w.coordinator), rated).await.status,
        StatusCode::CREATED
    );
    let award = json!({"kind": "award", "volunteer": number, "name": "优秀志愿者",
        "date": "2026-11-21", "issuer": "广州市志愿者协会"});
    assert_eq!(
        w.app.post(&path, Some(&token), award.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        w.app.post(&path, Some(&w.coordinator), award).await.status,
        StatusCode::CREATED
    );
    let all = w
        .app
        .get(
            &format!("/api/v1/volunteers/{number}/entries"),
            Some(&token),
        )
        .await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);
    let trainings = w
        .app
        .get(
            &format!("/api/v1/volunteers/{number}/entries?kind=training"),
            Some(&token),
        )
        .await;
    assert_eq!(trainings.body["items"][0]["duration_minutes"], 240);
}
