//! Matching the public's needs through the county/town/village network: menus inherited
//! down the levels, needs submitted by the public (and through Open311), verified by the
//! site covering the place, dispatched down or offered, taken exactly once, completed,
//! rated, escalated when nobody takes them, and reported per site.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, Weekday};
use zhiyuan_domain::access::GrantedRole;
use zhiyuan_domain::clock::china_date;
use zhiyuan_testkit::{TestApp, VolunteerBuilder, why};

const COUNTY: &str = "440106";
const TOWN: &str = "440106001";
const VILLAGE: &str = "440106001001";
/// A village of another county, where no site stands.
const ELSEWHERE: &str = "440111001001";

/// A county center, a town institute and a village station with staff, two teams of the
/// village, and the county's menu.
struct Network {
    app: TestApp,
    center: i64,
    institute: i64,
    station: i64,
    county_staff: String,
    town_staff: String,
    station_staff: String,
    /// (team id, admin token, admin's volunteer number) of two village teams.
    teams: Vec<(i64, String, String)>,
}

async fn network() -> Network {
    network_with(|_| {}).await
}

async fn network_with(tune: impl FnOnce(&mut zhiyuan::Config)) -> Network {
    let app = TestApp::spawn_with(tune).await;
    let center = app.site(COUNTY, "practice_center").await;
    let institute = app.site(TOWN, "practice_institute").await;
    let station = app.site(VILLAGE, "practice_station").await;
    let staff = |login: &'static str, site| {
        let app = &app;
        async move {
            app.staff(login, GrantedRole::SiteStaff, None, Some(site))
                .await
        }
    };
    let county_staff = staff("county-staff", center).await;
    let town_staff = staff("town-staff", institute).await;
    let station_staff = staff("station-staff", station).await;
    let mut teams = Vec::new();
    for seq in [11, 12] {
        let (number, token) = app.volunteer(VolunteerBuilder::new(VILLAGE, seq)).await;
        let team = app.team(VILLAGE, Some(station), Some(&number)).await;
        teams.push((team.0, token, number));
    }
    let n = Network {
        app,
        center: center.0,
        institute: institute.0,
        station: station.0,
        county_staff,
        town_staff,
        station_staff,
        teams,
    };
    for (code, name) in [("elderly-visit", "独居老人探访"), ("repair", "家电维修")] {
        let r = n
            .app
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/sites/{}/menu/{code}", n.center),
                Some(&n.county_staff),
                Some(
                    json!({"category": "elderly", "name": name, "description": "上门服务",
                            "typical_minutes": 90, "skills": ["沟通"]}),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    n
}

/// 09:00 China time on a Saturday one to two weeks ahead: availability is by weekday and
/// part of the day, and a need's wanted time must not be past (a fixed date was, once the
/// calendar reached it).
fn a_saturday_morning_to_come() -> String {
    let mut day = china_date(OffsetDateTime::now_utc()) + Duration::weeks(1);
    while day.weekday() != Weekday::Saturday {
        day += Duration::days(1);
    }
    format!("{day}T09:00:00+08:00")
}

impl Network {
    async fn submit(&self, body: Value) -> zhiyuan_testkit::Response {
        self.app.post("/api/v1/needs", None, body).await
    }

    /// A need for an elderly visit in the village; returns (order id, tracking, secret).
    async fn need(&self) -> (i64, String, String) {
        self.need_with(json!({})).await
    }

    /// A need in the village, `fields` replacing or adding to the elderly visit's.
    async fn need_with(&self, fields: Value) -> (i64, String, String) {
        let mut body = json!({"service_code": "elderly-visit", "description": "母亲独居，希望每周探访",
                              "region": VILLAGE, "address": "华工社区3栋", "contact_name": "李女士",
                              "contact_phone": "13700137000"});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self.submit(body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let tracking = r.body["tracking"].as_str().unwrap().to_owned();
        let secret = r.body["secret"].as_str().unwrap().to_owned();
        assert_eq!(
            r.body["site"], self.station,
            "the village station receives it"
        );
        let list = self
            .app
            .get(
                &format!("/api/v1/orders?site={}", self.station),
                Some(&self.station_staff),
            )
            .await;
        let id = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["tracking"] == tracking.as_str())
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        (id, tracking, secret)
    }

    /// The requester's rating (`secret`, `rating`, `comment` in `body`).
    async fn rate(&self, tracking: &str, body: Value) -> zhiyuan_testkit::Response {
        self.app
            .post(&format!("/api/v1/needs/{tracking}/rating"), None, body)
            .await
    }

    async fn act(&self, id: i64, token: &str, body: Value) -> zhiyuan_testkit::Response {
        self.app
            .post(&format!("/api/v1/orders/{id}/actions"), Some(token), body)
            .await
    }

    /// The village station verifies a need and assigns it (`assign`: the action's body).
    async fn verify_and_assign(&self, id: i64, assign: Value) {
        ok(&self
            .act(id, &self.station_staff, json!({"action": "verify"}))
            .await);
        ok(&self.act(id, &self.station_staff, assign).await);
    }
}

fn ok(r: &zhiyuan_testkit::Response) -> &Value {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    &r.body
}

#[tokio::test]
async fn a_village_offers_its_county_menu_with_its_own_overrides() {
    let n = network().await;
    let put = |code: &str, body: Value| {
        let path = format!("/api/v1/sites/{}/menu/{code}", n.station);
        let n = &n;
        async move {
            n.app
                .request(
                    reqwest::Method::PUT,
                    &path,
                    Some(&n.station_staff),
                    Some(body),
                )
                .await
        }
    };
    // The station renames one inherited service and stops offering the other.
    let r = put(
        "elderly-visit",
        json!({"category": "elderly", "name": "村居探访",
        "description": "本村志愿者上门", "typical_minutes": 60}),
    )
    .await;
    ok(&r);
    let r = put(
        "repair",
        json!({"category": "community", "name": "家电维修",
        "description": "-", "typical_minutes": 60, "offered": false}),
    )
    .await;
    ok(&r);
    let menu = n
        .app
        .get(&format!("/api/v1/menu?region={VILLAGE}"), None)
        .await;
    let menu = ok(&menu);
    assert_eq!(menu["site"]["id"], n.station);
    let items: Vec<(&str, &str, i64)> = menu["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap(),
                i["name"].as_str().unwrap(),
                i["defined_by"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(items, [("elderly-visit", "村居探访", n.station)]);
    // The town still offers the county's menu as the county wrote it.
    let town = n
        .app
        .get(&format!("/api/v1/sites/{}/menu", n.institute), None)
        .await;
    assert_eq!(ok(&town)["items"].as_array().unwrap().len(), 2);
    // Another site's staff cannot write this menu.
    let r = n
        .app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/sites/{}/menu/x", n.station),
            Some(&n.town_staff),
            Some(json!({"category": "elderly", "name": "x", "description": "x", "typical_minutes": 5})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A menu item's mistakes are each named with a code.
    let r = put(
        "家电维修",
        json!({"category": "astrology", "name": "x", "description": "x", "typical_minutes": 0}),
    )
    .await;
    assert_eq!(
        r.field_codes(),
        [
            why("code", "code_shape"),
            why("category", "unknown_category"),
            why("typical_minutes", "out_of_range")
        ]
        .concat()
    );
    // A need for the service the station stopped offering is refused.
    let r = n
        .submit(
            json!({"service_code": "repair", "description": "冰箱坏了", "region": VILLAGE,
                       "contact_name": "王先生", "contact_phone": "13700137001"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_fields(), ["service_code"]);
}

#[tokio::test]
async fn a_need_goes_from_the_public_through_the_station_to_a_team_and_back_as_a_rating() {
    let n = network().await;
    let (id, tracking, secret) = n.need().await;
    // The public sees the status, not the contact or the place.
    let public = n.app.get(&format!("/api/v1/needs/{tracking}"), None).await;
    let public = ok(&public);
    assert_eq!(public["status"], "received");
    assert!(!public.to_string().contains("13700137000"));
    // Those who handle it see the contact; others do not see the order at all.
    let order = n
        .app
        .get(&format!("/api/v1/orders/{id}"), Some(&n.station_staff))
        .await;
    assert_eq!(ok(&order)["contact"]["phone"], "13700137000");
    let (_, stranger) = n.app.volunteer(VolunteerBuilder::new(VILLAGE, 13)).await;
    let r = n
        .app
        .get(&format!("/api/v1/orders/{id}"), Some(&stranger))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // 制单, then 派单 to the first team, which declines with a reason.
    ok(&n
        .act(id, &n.station_staff, json!({"action": "verify"}))
        .await);
    let (team_a, admin_a) = (&n.teams[0].0, &n.teams[0].1);
    let (team_b, admin_b) = (&n.teams[1].0, &n.teams[1].1);
    let assigned = n
        .act(
            id,
            &n.station_staff,
            json!({"action": "assign", "to_org": team_a}),
        )
        .await;
    assert_eq!(
        ok(&assigned)["holder"],
        json!({"kind": "org", "id": team_a})
    );
    assert!(
        assigned.body["due_at"].is_string(),
        "escalates if not taken"
    );
    // The other team cannot accept an order not assigned to it.
    let r = n.act(id, admin_b, json!({"action": "accept"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = n.act(id, admin_a, json!({"action": "decline"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["reason"]);
    let declined = n
        .act(
            id,
            admin_a,
            json!({"action": "decline", "reason": "本周人手不足"}),
        )
        .await;
    let declined = ok(&declined);
    assert_eq!(declined["status"], "open");
    assert_eq!(declined["holder"], json!({"kind": "site", "id": n.station}));

    // Offered to the village: both teams grab at once; exactly one takes it.
    ok(&n
        .act(id, &n.station_staff, json!({"action": "offer"}))
        .await);
    let (a, b) = tokio::join!(
        n.act(id, admin_a, json!({"action": "grab", "org": team_a})),
        n.act(id, admin_b, json!({"action": "grab", "org": team_b})),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{:?} {:?}",
        a.body,
        b.body
    );
    let (winner, loser) = if a.status == StatusCode::OK {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert_eq!(winner.body["status"], "accepted");
    assert_eq!(
        loser.field_codes(),
        why("status", "taken_first"),
        "{:?}",
        loser.body
    );
    let (taker, taker_number) = if a.status == StatusCode::OK {
        (admin_a, &n.teams[0].2)
    } else {
        (admin_b, &n.teams[1].2)
    };

    // Not yet completed: no rating.
    let r = n
        .rate(&tracking, json!({"secret": secret, "rating": 5}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let done = n
        .act(
            id,
            taker,
            json!({"action": "complete", "report": "已上门探访，老人身体良好",
                   "attendees": [{"volunteer": taker_number, "minutes": 90}],
                   "responsible_person": "陈志愿"}),
        )
        .await;
    assert_eq!(ok(&done)["status"], "completed");
    // The hours are an ordinary service record of the team that took the order.
    let records = n
        .app
        .get(
            &format!("/api/v1/volunteers/{taker_number}/records"),
            Some(taker),
        )
        .await;
    let record = &ok(&records)["items"][0];
    assert_eq!(record["minutes"], 90, "{record}");
    assert!(
        record["activity_name"]
            .as_str()
            .unwrap()
            .contains(&tracking),
        "{record}"
    );
    // A transition not allowed from here.
    let r = n
        .act(id, &n.station_staff, json!({"action": "verify"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_fields(), ["status"]);

    // 评单: by the requester only, once.
    let r = n
        .rate(&tracking, json!({"secret": "guess", "rating": 1}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let rated = n
        .rate(
            &tracking,
            json!({"secret": secret, "rating": 5, "comment": "很及时"}),
        )
        .await;
    assert_eq!(ok(&rated)["rating"], 5);
    let again = n
        .rate(&tracking, json!({"secret": secret, "rating": 4}))
        .await;
    assert_eq!(
        (again.status, again.field_codes()),
        (StatusCode::CONFLICT, why("rating", "already_rated"))
    );

    // Reported per site and for the jurisdiction.
    let admin = n.app.admin("county-admin", COUNTY).await;
    let stats = n
        .app
        .get(
            &format!("/api/v1/order-stats?region={COUNTY}"),
            Some(&admin),
        )
        .await;
    let stats = ok(&stats);
    assert_eq!(stats["total"]["orders"], 1);
    assert_eq!(stats["total"]["completed"], 1);
    assert_eq!(stats["total"]["mean_rating"], 5.0);
    assert_eq!(stats["sites"][0]["site"], n.station);
    assert!(stats["total"]["mean_hours_to_accept"].as_f64().unwrap() >= 0.0);
    let r = n
        .app
        .get(
            &format!("/api/v1/order-stats?region={COUNTY}"),
            Some(&n.station_staff),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Every move is in the audit trail with who and why.
    let audit = n
        .app
        .get(
            &format!("/api/v1/audit?within={COUNTY}&subject_type=order&subject_id={id}&limit=50"),
            Some(&admin),
        )
        .await;
    let actions: Vec<&str> = ok(&audit)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "order.verify",
        "order.assign",
        "order.decline",
        "order.offer",
        "order.grab",
        "order.complete",
        "order.rate",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

/// Site staff who name no filter see their site's desk: what it received and what it
/// was sent. Anyone else must say which orders they mean.
#[tokio::test]
async fn site_staff_see_what_their_site_received_and_holds_without_naming_it() {
    let n = network().await;
    let (first, _, _) = n.need().await;
    let (second, _, _) = n.need().await;
    ok(&n
        .act(
            second,
            &n.station_staff,
            json!({"action": "escalate", "reason": "需要专业护理"}),
        )
        .await);
    let desk = |token: String, query: &'static str| {
        let app = &n.app;
        async move {
            let r = app
                .get(&format!("/api/v1/orders{query}"), Some(&token))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    // The station received both; the institute holds the second.
    assert_eq!(desk(n.station_staff.clone(), "").await, [second, first]);
    assert_eq!(desk(n.town_staff.clone(), "").await, [second]);
    assert_eq!(
        desk(n.town_staff.clone(), "?status=received").await,
        [second]
    );
    assert_eq!(desk(n.county_staff.clone(), "").await, Vec::<i64>::new());
    // Another site's desk is not theirs.
    let other = n
        .app
        .get(
            &format!("/api/v1/orders?at_site={}", n.institute),
            Some(&n.station_staff),
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{:?}", other.body);
    // A jurisdiction admin has no desk: they name a region, a site or a holder.
    let admin = n.app.admin("county-admin", COUNTY).await;
    let vague = n.app.get("/api/v1/orders", Some(&admin)).await;
    assert_eq!(vague.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(vague.error_fields(), ["at_site"]);
    let named = n
        .app
        .get(
            &format!("/api/v1/orders?at_site={}", n.station),
            Some(&admin),
        )
        .await;
    assert_eq!(named.body["items"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn orders_go_down_the_levels_and_up_again_when_nobody_takes_them() {
    let n = network().await;
    let (id, _, _) = n.need().await;
    // The station cannot handle it: up to the town institute, which sends it back down.
    let r = n
        .act(
            id,
            &n.station_staff,
            json!({"action": "escalate", "reason": "需要专业护理"}),
        )
        .await;
    assert_eq!(ok(&r)["holder"], json!({"kind": "site", "id": n.institute}));
    assert_eq!(r.body["status"], "received");
    ok(&n.act(id, &n.town_staff, json!({"action": "verify"})).await);
    let down = n
        .act(
            id,
            &n.town_staff,
            json!({"action": "assign", "to_site": n.station}),
        )
        .await;
    assert_eq!(ok(&down)["dispatcher"], n.institute);
    // The station accepts it as its own, and assigns it to a team, which never answers.
    ok(&n
        .act(id, &n.station_staff, json!({"action": "accept"}))
        .await);
    let team = n.teams[0].0;
    ok(&n
        .act(
            id,
            &n.station_staff,
            json!({"action": "assign", "to_org": team}),
        )
        .await);
    let later = OffsetDateTime::now_utc() + time::Duration::hours(5);
    assert_eq!(n.app.zhiyuan.escalate_due_orders(later).await.unwrap(), 1);
    let order = n
        .app
        .get(&format!("/api/v1/orders/{id}"), Some(&n.town_staff))
        .await;
    let order = ok(&order);
    assert_eq!(order["status"], "open");
    assert_eq!(
        order["holder"],
        json!({"kind": "site", "id": n.institute}),
        "up from the station"
    );
    assert_eq!(order["note"], "not taken within 240 minutes");
    assert_eq!(
        n.app.zhiyuan.escalate_due_orders(later).await.unwrap(),
        0,
        "once"
    );
    // The county center is the top: assigned from there and escalated, it stays for a person.
    ok(&n
        .act(
            id,
            &n.town_staff,
            json!({"action": "escalate", "reason": "跨镇协调"}),
        )
        .await);
    ok(&n
        .act(
            id,
            &n.county_staff,
            json!({"action": "offer", "area": COUNTY}),
        )
        .await);
    assert_eq!(n.app.zhiyuan.escalate_due_orders(later).await.unwrap(), 0);
    let waiting = n
        .app
        .get(&format!("/api/v1/orders/{id}"), Some(&n.county_staff))
        .await;
    assert_eq!(ok(&waiting)["status"], "offered");
    assert_eq!(
        waiting.body["due_at"],
        Value::Null,
        "not retried every round"
    );
    let r = n
        .act(
            id,
            &n.county_staff,
            json!({"action": "escalate", "reason": "上报"}),
        )
        .await;
    assert_eq!(
        r.field_codes(),
        why("escalation", "no_site_above"),
        "nowhere higher: {:?}",
        r.body
    );
    // The dispatcher takes it back; a handler cancels it, and the requester sees why.
    ok(&n
        .act(id, &n.county_staff, json!({"action": "recall"}))
        .await);
    let cancelled = n
        .act(
            id,
            &n.county_staff,
            json!({"action": "cancel", "reason": "需求已由家属解决"}),
        )
        .await;
    assert_eq!(ok(&cancelled)["status"], "cancelled");
}

#[tokio::test]
async fn bad_needs_and_moves_are_refused_with_the_reason() {
    let n = network().await;
    // A place no site covers, a service not on the menu, a missing contact.
    let base = json!({"service_code": "elderly-visit", "description": "探访", "region": ELSEWHERE,
                      "contact_name": "张先生", "contact_phone": "13700137002"});
    n.app.region(ELSEWHERE).await;
    let r = n.submit(base.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.field_codes(), why("region", "no_site_here"));
    let mut nowhere = base.clone();
    nowhere["region"] = Value::Null;
    let r = n.submit(nowhere).await;
    assert_eq!(r.field_codes(), why("region", "place_needed"));
    let mut unknown = base.clone();
    unknown["region"] = json!(VILLAGE);
    unknown["service_code"] = json!("haircut");
    let r = n.submit(unknown).await;
    assert_eq!(r.field_codes(), why("service_code", "not_on_menu"));
    let mut far = base.clone();
    far["region"] = Value::Null;
    far["location"] = json!({"lat": 22.5, "lng": 114.0});
    let r = n.submit(far).await;
    assert_eq!(r.field_codes(), why("location", "no_site_near"));
    assert_eq!(
        r.body["error"]["fields"][0]["reason"],
        "no practice site within 5 km of this place"
    );
    let mut off_the_map = base.clone();
    off_the_map["region"] = Value::Null;
    off_the_map["location"] = json!({"lat": 123.0, "lng": 114.0});
    let r = n.submit(off_the_map).await;
    assert_eq!(r.field_codes(), why("location.lat", "out_of_range"));
    let mut yesterday = base.clone();
    yesterday["region"] = json!(VILLAGE);
    yesterday["wanted_at"] = json!("2020-01-01T09:00:00+08:00");
    let r = n.submit(yesterday).await;
    assert_eq!(r.field_codes(), why("wanted_at", "in_the_past"));
    let mut someday = base.clone();
    someday["region"] = json!(VILLAGE);
    someday["wanted_at"] = json!("next Saturday morning");
    let r = n.submit(someday).await;
    assert_eq!(r.field_codes(), why("wanted_at", "not_a_time"));
    let mut nameless = base.clone();
    nameless["region"] = json!(VILLAGE);
    nameless["contact_phone"] = json!("");
    let r = n.submit(nameless).await;
    assert_eq!(r.field_codes(), why("contact_phone", "required"));

    let (id, tracking, secret) = n.need().await;
    // Not offered to anyone yet: a volunteer cannot take it.
    let (volunteer_number, volunteer) = n.app.volunteer(VolunteerBuilder::new(VILLAGE, 14)).await;
    let r = n.act(id, &volunteer, json!({"action": "grab"})).await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("status", "not_offered"))
    );
    // Completed before anyone took it; an unknown action; a site above, not below.
    let r = n
        .act(
            id,
            &n.station_staff,
            json!({"action": "complete", "report": "x"}),
        )
        .await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::CONFLICT, why("status", "not_now")),
        "not taken yet: {:?}",
        r.body
    );
    let r = n
        .act(id, &n.station_staff, json!({"action": "teleport"}))
        .await;
    assert_eq!(r.field_codes(), why("action", "not_one_of"));
    let words = r.body["error"]["fields"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        words.contains("verify") && words.contains("cancel"),
        "{words}"
    );
    let r = n
        .act(
            id,
            &n.station_staff,
            json!({"action": "assign", "to_site": n.center, "to_org": 1}),
        )
        .await;
    assert_eq!(r.field_codes(), why("to_site", "exactly_one_of"));
    ok(&n
        .act(id, &n.station_staff, json!({"action": "verify"}))
        .await);
    let r = n
        .act(
            id,
            &n.station_staff,
            json!({"action": "assign", "to_site": n.center}),
        )
        .await;
    assert_eq!(
        (r.status, r.field_codes()),
        (StatusCode::UNPROCESSABLE_ENTITY, why("to", "outside_area")),
        "orders go down, not up: {:?}",
        r.body
    );
    // Offered to the village: a volunteer of another county cannot grab it.
    ok(&n
        .act(id, &n.station_staff, json!({"action": "offer"}))
        .await);
    let (_, outsider) = n.app.volunteer(VolunteerBuilder::new(ELSEWHERE, 15)).await;
    let r = n.act(id, &outsider, json!({"action": "grab"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A stale version is refused; the requester cancels with their secret.
    let r = n
        .act(
            id,
            &n.station_staff,
            json!({"action": "recall", "version": 1}),
        )
        .await;
    assert_eq!(r.field_codes(), why("version", "changed_meanwhile"));
    let r = n
        .app
        .post(
            &format!("/api/v1/needs/{tracking}/cancel"),
            None,
            json!({"secret": secret, "reason": "不需要了"}),
        )
        .await;
    assert_eq!(ok(&r)["status"], "cancelled");
    assert_eq!(r.body["note"], "不需要了");

    // A volunteer who took an order reports it done; hours are a team's to record.
    let (id, _, _) = n.need().await;
    for action in ["verify", "offer"] {
        ok(&n.act(id, &n.station_staff, json!({"action": action})).await);
    }
    ok(&n.act(id, &volunteer, json!({"action": "grab"})).await);
    let r = n
        .act(
            id,
            &volunteer,
            json!({"action": "complete", "report": "已完成",
                   "attendees": [{"volunteer": volunteer_number, "minutes": 60}],
                   "responsible_person": "陈志愿"}),
        )
        .await;
    assert_eq!(r.field_codes(), why("attendees", "hours_by_team"));
    let r = n
        .act(
            id,
            &volunteer,
            json!({"action": "complete", "report": "已完成"}),
        )
        .await;
    assert_eq!(ok(&r)["status"], "completed");
}

/// Drives the intake the way an Open311 GeoReport v2 client does: discover services, read
/// a definition, post a form-encoded request by coordinates, follow it.
#[tokio::test]
async fn an_open311_client_files_and_follows_a_request() {
    let n = network().await;
    let base = format!("{}/open311/v2", n.app.base);
    let client = &n.app.client;
    let services: Value = client
        .get(format!("{base}/services.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["elderly-visit", "repair"]);
    assert_eq!(services[0]["metadata"], true);
    let definition: Value = client
        .get(format!("{base}/services/elderly-visit.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(definition["attributes"][1]["code"], "wanted_at");

    let posted = client
        .post(format!("{base}/requests.json"))
        .form(&[
            ("service_code", "elderly-visit"),
            ("lat", "23.1"),
            ("long", "113.3"),
            ("description", "独居老人需要探访"),
            ("first_name", "小明"),
            ("last_name", "陈"),
            ("phone", "13600136000"),
            ("attribute[wanted_at]", "2030-01-02T09:00:00+08:00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    let posted: Value = posted.json().await.unwrap();
    let id = posted[0]["service_request_id"].as_str().unwrap().to_owned();

    let got: Value = client
        .get(format!("{base}/requests/{id}.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got[0]["status"], "open");
    assert_eq!(got[0]["service_code"], "elderly-visit");
    assert_eq!(
        got[0]["agency_responsible"],
        format!("测试站点{VILLAGE}"),
        "the nearest, most local site"
    );
    assert_eq!(got[0]["expected_datetime"], "2030-01-02T01:00:00Z");
    assert!(
        !got.to_string().contains("13600136000"),
        "no contact in public"
    );
    let listed: Value = client
        .get(format!(
            "{base}/requests.json?service_request_id={id}&status=open"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let closed: Value = client
        .get(format!(
            "{base}/requests.json?service_request_id={id}&status=closed"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(closed, json!([]));

    // Errors in GeoReport's shape.
    let unknown = client
        .post(format!("{base}/requests.json"))
        .form(&[
            ("service_code", "haircut"),
            ("attribute[region]", VILLAGE),
            ("phone", "1"),
            ("first_name", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body[0]["code"], 400);
    assert!(
        body[0]["description"]
            .as_str()
            .unwrap()
            .contains("service_code")
    );
    let missing = client
        .get(format!("{base}/requests/DXXXXXXXXXX.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// A volunteer of the village with `skills`, born on `born`, whose service area (if any)
/// is set by themselves; returns (number, token).
async fn candidate(
    n: &Network,
    seq: u16,
    born: &str,
    skills: Value,
    area: Value,
) -> (String, String) {
    let mut b = VolunteerBuilder::new(VILLAGE, seq)
        .born(born, seq)
        .with("skills", skills)
        .with("service_categories", json!(["elderly"]));
    if born > "2008-12-31" {
        b = b.with(
            "guardian",
            json!({"name": "家长", "phone": "13900139000", "consented_at": "2026-11-01T09:00:00+08:00"}),
        );
    }
    let (number, token) = n.app.volunteer(b).await;
    if !area.is_null() {
        let r = n
            .app
            .patch(
                &format!("/api/v1/volunteers/{number}"),
                Some(&token),
                json!({ "service_area": area }),
            )
            .await;
        ok(&r);
    }
    (number, token)
}

fn numbers(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect()
}

fn term<'a>(candidate: &'a Value, name: &str) -> &'a Value {
    candidate["score"]["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["term"] == name)
        .unwrap_or_else(|| panic!("no {name} term in {candidate}"))
}

#[tokio::test]
async fn dispatchers_get_near_skilled_adult_candidates_ranked_with_every_term_explained() {
    let n = network().await;
    // The station is at 23.1, 113.3. Saturday 5 December 2026, 09:00 in China.
    let area = |lat: f64, lng: f64, slots: Value| json!({"location": {"lat": lat, "lng": lng}, "availability": slots});
    let (near, near_token) = candidate(
        &n,
        21,
        "1990-01-01",
        json!(["沟通"]),
        area(23.101, 113.301, json!(["daily-morning"])),
    )
    .await;
    let (km1, _) = candidate(
        &n,
        22,
        "1985-01-01",
        json!(["沟通", "急救"]),
        area(23.108, 113.305, json!(["weekend-morning"])),
    )
    .await;
    let (busy_evenings, _) = candidate(
        &n,
        23,
        "1980-01-01",
        json!(["沟通"]),
        area(23.11, 113.31, json!(["weekday-evening"])),
    )
    .await;
    let (minor, _) = candidate(
        &n,
        24,
        "2010-03-01",
        json!(["沟通"]),
        area(23.1, 113.3, json!([])),
    )
    .await;
    let (unskilled, _) = candidate(
        &n,
        25,
        "1990-01-01",
        json!(["急救"]),
        area(23.1, 113.3, json!([])),
    )
    .await;
    let (far, _) = candidate(
        &n,
        26,
        "1990-01-01",
        json!(["沟通"]),
        area(23.25, 113.45, json!([])),
    )
    .await;
    let (no_area, _) = candidate(&n, 27, "1990-01-01", json!(["沟通"]), Value::Null).await;

    let (id, tracking, secret) = n
        .need_with(json!({"wanted_at": a_saturday_morning_to_come()}))
        .await;
    let path = format!("/api/v1/orders/{id}/candidates");
    let r = n.app.get(&path, Some(&n.station_staff)).await;
    let c = ok(&r);
    assert_eq!(c["skills"], json!(["沟通"]), "the menu item's skills");
    assert_eq!(c["minors_allowed"], false);
    assert_eq!(
        c["place"],
        json!({"lat": 23.1, "lng": 113.3}),
        "the station's place"
    );
    assert_eq!(
        numbers(&c["volunteers"]),
        [near.as_str(), &km1, &busy_evenings],
        "near, skilled adults only, nearest and free first"
    );
    for excluded in [&minor, &unskilled, &far, &no_area] {
        assert!(!numbers(&c["volunteers"]).contains(&excluded.as_str()));
    }
    let first = &c["volunteers"][0];
    assert!(first.get("phone").is_none(), "no contact details");
    assert!((100.0..200.0).contains(&first["distance_m"].as_f64().unwrap()));
    assert_eq!(term(first, "availability")["points"], 15.0);
    assert_eq!(
        term(first, "availability")["detail"],
        "free at the wanted time"
    );
    assert_eq!(term(first, "category")["points"], 15.0);
    assert_eq!(
        term(first, "skills")["detail"],
        "has the required skills: 沟通"
    );
    assert_eq!(
        term(&c["volunteers"][2], "availability")["detail"],
        "not usually free at the wanted time"
    );
    for v in c["volunteers"].as_array().unwrap() {
        let sum: f64 = v["score"]["terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["points"].as_f64().unwrap())
            .sum();
        assert!(
            (sum - v["score"]["total"].as_f64().unwrap()).abs() < 0.05,
            "{v}"
        );
    }
    // The village's two teams, registered where the need is.
    let teams = c["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 2);
    assert_eq!(term(&teams[0], "area")["points"], 40.0);

    // Load counts: an order assigned to the nearest volunteer moves them below the next.
    let (other, _, _) = n.need().await;
    n.verify_and_assign(
        other,
        json!({"action": "assign", "to_volunteer": near, "reason": "就近"}),
    )
    .await;
    let r = n.app.get(&path, Some(&n.station_staff)).await;
    let c = ok(&r);
    assert_eq!(numbers(&c["volunteers"])[..2], [km1.as_str(), &near]);
    let loaded = &c["volunteers"][1];
    assert_eq!(term(loaded, "load")["points"], -10.0);
    assert_eq!(term(loaded, "load")["detail"], "1 unfinished orders");

    // Extra skills narrow the search; the radius widens it.
    let r = n
        .app
        .get(&format!("{path}?skills=急救"), Some(&n.station_staff))
        .await;
    assert_eq!(numbers(&ok(&r)["volunteers"]), [km1.as_str()]);
    let r = n
        .app
        .get(&format!("{path}?radius_m=30000"), Some(&n.station_staff))
        .await;
    assert!(numbers(&ok(&r)["volunteers"]).contains(&far.as_str()));

    // Refusals: a volunteer is no handler, a radius out of range, a finished order.
    let r = n.app.get(&path, Some(&near_token)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let r = n
        .app
        .get(&format!("{path}?radius_m=50000"), Some(&n.station_staff))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["radius_m"]);
    ok(&n
        .app
        .post(
            &format!("/api/v1/needs/{tracking}/cancel"),
            None,
            json!({"secret": secret, "reason": "不需要了"}),
        )
        .await);
    let r = n.app.get(&path, Some(&n.station_staff)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.field_codes(), why("status", "not_now"));
}

#[tokio::test]
async fn minors_are_proposed_only_for_services_that_allow_them_and_areas_are_validated() {
    let n = network().await;
    let r = n
        .app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/sites/{}/menu/tutoring", n.center),
            Some(&n.county_staff),
            Some(
                json!({"category": "education", "name": "课业辅导", "description": "辅导功课",
                        "typical_minutes": 60, "minors_allowed": true}),
            ),
        )
        .await;
    assert_eq!(ok(&r)["minors_allowed"], true);
    let here = json!({"location": {"lat": 23.1, "lng": 113.3}, "availability": ["sat-morning"]});
    let (minor, minor_token) = candidate(&n, 31, "2010-03-01", json!([]), here.clone()).await;
    let (adult, _) = candidate(&n, 32, "1990-01-01", json!([]), here).await;
    let (visit, _, _) = n.need().await;
    let (tutoring, _, _) = n.need_with(json!({"service_code": "tutoring"})).await;
    let found = |id: i64| {
        let n = &n;
        async move {
            let r = n
                .app
                .get(
                    &format!("/api/v1/orders/{id}/candidates?skills="),
                    Some(&n.station_staff),
                )
                .await;
            ok(&r)["volunteers"].clone()
        }
    };
    // The visit requires 沟通, which neither has: asked without skills, the adult only.
    let r = n
        .app
        .get(
            &format!("/api/v1/orders/{visit}/candidates"),
            Some(&n.station_staff),
        )
        .await;
    assert!(numbers(&ok(&r)["volunteers"]).is_empty());
    let tutors = found(tutoring).await;
    assert!(numbers(&tutors).contains(&minor.as_str()));
    assert!(numbers(&tutors).contains(&adult.as_str()));

    // A service area is checked field by field, shown on the profile, and withdrawn by null.
    let path = format!("/api/v1/volunteers/{minor}");
    let r = n
        .app
        .patch(
            &path,
            Some(&minor_token),
            json!({"service_area": {"location": {"lat": 91.0, "lng": 113.3},
                                    "availability": ["sat-dawn"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.field_codes(),
        [
            why("service_area.location.lat", "out_of_range"),
            why("service_area.availability[0]", "not_a_slot"),
        ]
        .concat()
    );
    let profile = n.app.get(&path, Some(&minor_token)).await;
    assert_eq!(
        ok(&profile)["service_area"]["availability"],
        json!(["sat-morning"])
    );
    let r = n
        .app
        .patch(&path, Some(&minor_token), json!({"service_area": null}))
        .await;
    assert_eq!(ok(&r)["service_area"], Value::Null);
    assert!(!numbers(&found(tutoring).await).contains(&minor.as_str()));
}

/// A webhook receiver on loopback: answers 500 to the first `fail_first` requests, then
/// 200; keeps (headers, body) of every request.
async fn webhook_receiver(
    fail_first: usize,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
) {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let seen = seen.clone();
            move |headers: axum::http::HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    let mut all = seen.lock().unwrap();
                    all.push((headers, body));
                    if all.len() <= fail_first {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, seen)
}

/// An SMTP server on loopback that accepts every message and keeps its text.
async fn smtp_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mail: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let kept = mail.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(text) = data.as_mut() {
                        if line == "." {
                            kept.lock().unwrap().push(data.take().unwrap());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            text.push_str(&line);
                            text.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, mail)
}

#[tokio::test]
async fn order_events_reach_inboxes_signed_webhooks_with_retries_and_email() {
    let (port, mail) = smtp_sink().await;
    let n = network_with(|c| {
        c.notify.retry_base_secs = 0;
        c.notify.max_attempts = 3;
        c.notify.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
        c.notify.mail_from = "zhiyuan <noreply@zhiyuan.test>".into();
    })
    .await;
    let admin = n.app.admin("notify-admin", COUNTY).await;
    let (hook, seen) = webhook_receiver(1).await;

    // Subscriptions are checked field by field, and only by the jurisdiction.
    let subscribe = |body: Value, token: &str| {
        let n = &n;
        let token = token.to_owned();
        async move {
            n.app
                .post("/api/v1/subscriptions", Some(&token), body)
                .await
        }
    };
    for (body, field, code) in [
        (
            json!({"region": COUNTY, "channel": "webhook", "destination": "ftp://x/y", "events": ["order."]}),
            "destination",
            "not_a_url",
        ),
        (
            json!({"region": COUNTY, "channel": "email", "destination": "not-an-address", "events": ["order."]}),
            "destination",
            "not_an_email",
        ),
        (
            json!({"region": COUNTY, "channel": "webhook", "destination": hook, "events": ["volunteer."]}),
            "events[0]",
            "not_one_of",
        ),
        // An action under a known prefix that no action bears would match nothing.
        (
            json!({"region": COUNTY, "channel": "webhook", "destination": hook, "events": ["order.", "order.asign"]}),
            "events[1]",
            "not_one_of",
        ),
        (
            json!({"region": COUNTY, "channel": "webhook", "destination": hook, "events": []}),
            "events",
            "required",
        ),
        (
            json!({"region": COUNTY, "channel": "sms", "destination": "13800138000", "events": ["order."]}),
            "channel",
            "not_one_of",
        ),
    ] {
        let r = subscribe(body, &admin).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
        assert_eq!(r.field_codes(), why(field, code));
    }
    // The typo is answered with the order's own events, not with every event.
    let r = subscribe(
        json!({"region": COUNTY, "channel": "webhook", "destination": hook, "events": ["order.asign"]}),
        &admin,
    )
    .await;
    let reason = r.body["error"]["fields"][0]["reason"]
        .as_str()
        .unwrap_or("");
    assert!(
        reason.contains("order.assign") && !reason.contains("membership.apply"),
        "{reason}"
    );
    let r = subscribe(
        json!({"region": COUNTY, "channel": "webhook", "destination": hook, "events": ["order."]}),
        &n.station_staff,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = subscribe(
        json!({"region": COUNTY, "channel": "webhook", "destination": hook, "events": ["order."]}),
        &admin,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let webhook = r.body["id"].as_i64().unwrap();
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let r = subscribe(
        json!({"region": COUNTY, "channel": "email", "destination": "city@zhiyuan.test",
               "events": ["order.assign"]}),
        &admin,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(r.body.get("secret").is_none(), "e-mail has no signing key");
    let listed = n
        .app
        .get(
            &format!("/api/v1/subscriptions?within={COUNTY}"),
            Some(&admin),
        )
        .await;
    assert_eq!(ok(&listed).as_array().unwrap().len(), 2);
    assert!(
        listed.body[0].get("secret").is_none(),
        "the key is shown once"
    );

    // A need is verified and assigned to the first village team.
    let (id, _, _) = n.need().await;
    n.verify_and_assign(
        id,
        json!({"action": "assign", "to_org": n.teams[0].0, "reason": "就近"}),
    )
    .await;
    let app = &n.app.zhiyuan;
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        app.relay_events(now).await.unwrap(),
        3,
        "submit, verify, assign"
    );
    assert_eq!(app.relay_events(now).await.unwrap(), 0, "each event once");

    // The team's administrator finds it in their inbox, and reads it.
    let team_admin = &n.teams[0].1;
    let inbox = n
        .app
        .get("/api/v1/me/notifications", Some(team_admin))
        .await;
    let items = ok(&inbox)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["event"], "order.assign");
    assert_eq!(items[0]["subject_id"], id.to_string());
    assert!(items[0]["text"].as_str().unwrap().contains("派给了你"));
    let note = items[0]["id"].as_i64().unwrap();
    let r = n
        .app
        .post(
            &format!("/api/v1/me/notifications/{note}/read"),
            Some(&n.teams[1].1),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not theirs");
    let r = n
        .app
        .post(
            &format!("/api/v1/me/notifications/{note}/read"),
            Some(team_admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let unread = n
        .app
        .get("/api/v1/me/notifications?unread=true", Some(team_admin))
        .await;
    assert!(ok(&unread)["items"].as_array().unwrap().is_empty());
    let other = n
        .app
        .get("/api/v1/me/notifications", Some(&n.teams[1].1))
        .await;
    assert!(
        ok(&other)["items"].as_array().unwrap().is_empty(),
        "the other team was not sent it"
    );

    // First round: the webhook answers 500 to its first request, the rest and the e-mail
    // go through; the failed one is due again (zero back-off here) and goes next round.
    let sent = app.deliver_due(OffsetDateTime::now_utc()).await.unwrap();
    assert!(sent >= 3, "{sent}");
    let sent_again = app.deliver_due(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(sent + sent_again, 4, "three webhook events and one e-mail");
    let deliveries = n
        .app
        .get(
            &format!("/api/v1/subscriptions/{webhook}/deliveries"),
            Some(&admin),
        )
        .await;
    let deliveries = ok(&deliveries).as_array().unwrap().clone();
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries.iter().all(|d| d["status"] == "delivered"));
    let retried: Vec<_> = deliveries.iter().filter(|d| d["attempts"] == 2).collect();
    assert_eq!(retried.len(), 1, "one was retried: {deliveries:?}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "three events, one of them twice");
    for (headers, body) in &seen {
        let signature = headers["zhiyuan-signature"].to_str().unwrap();
        let t: i64 = signature[2..signature.find(',').unwrap()].parse().unwrap();
        assert_eq!(
            signature,
            zhiyuan_service::webhook_signature(&secret, t, body)
        );
        assert_ne!(
            signature,
            zhiyuan_service::webhook_signature("guess", t, body)
        );
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(headers["zhiyuan-event"].to_str().unwrap(), event["event"]);
        assert_eq!(event["subject"]["id"], id.to_string());
        assert!(
            !body.contains("13700137000"),
            "no contact details in events"
        );
    }
    let mail = mail.lock().unwrap().clone();
    assert_eq!(
        mail.len(),
        1,
        "the e-mail subscription wants order.assign only"
    );
    assert!(mail[0].contains("To: city@zhiyuan.test"), "{}", mail[0]);
    assert!(mail[0].contains("order.assign"), "{}", mail[0]);

    // Unsubscribed: later events are not sent.
    let r = n
        .app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/subscriptions/{webhook}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    ok(&n
        .act(
            id,
            &n.teams[0].1,
            json!({"action": "decline", "reason": "人手不足"}),
        )
        .await);
    assert_eq!(
        app.relay_events(OffsetDateTime::now_utc()).await.unwrap(),
        1
    );
    assert_eq!(app.deliver_due(OffsetDateTime::now_utc()).await.unwrap(), 0);
    // The station's staff hear that it came back.
    let inbox = n
        .app
        .get("/api/v1/me/notifications", Some(&n.station_staff))
        .await;
    assert_eq!(ok(&inbox)["items"][0]["event"], "order.decline");
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_is_given_up_after_the_last_attempt() {
    let n = network_with(|c| {
        c.notify.retry_base_secs = 0;
        c.notify.max_attempts = 2;
    })
    .await;
    let admin = n.app.admin("notify-admin", COUNTY).await;
    let (hook, seen) = webhook_receiver(usize::MAX).await;
    let r = n
        .app
        .post(
            "/api/v1/subscriptions",
            Some(&admin),
            json!({"region": COUNTY, "channel": "webhook", "destination": hook, "events": ["order.submit"]}),
        )
        .await;
    let webhook = r.body["id"].as_i64().unwrap();
    n.need().await;
    let app = &n.app.zhiyuan;
    app.relay_events(OffsetDateTime::now_utc()).await.unwrap();
    for _ in 0..3 {
        assert_eq!(app.deliver_due(OffsetDateTime::now_utc()).await.unwrap(), 0);
    }
    assert_eq!(seen.lock().unwrap().len(), 2, "two attempts, then no more");
    let d = n
        .app
        .get(
            &format!("/api/v1/subscriptions/{webhook}/deliveries"),
            Some(&admin),
        )
        .await;
    assert_eq!(ok(&d)[0]["status"], "failed");
    assert_eq!(
        ok(&d)[0]["last_error"],
        "answered 500 Internal Server Error"
    );
}

#[tokio::test]
async fn the_accepting_team_carries_an_order_out_as_a_project_that_reveals_nothing_private() {
    let n = network().await;
    let (team, admin, _) = (n.teams[0].0, n.teams[0].1.clone(), n.teams[0].2.clone());
    let (id, _, _) = n.need().await;
    let path = format!("/api/v1/orders/{id}/activity");
    let body = json!({"capacity": 3, "responsible_person": "陈志愿"});
    // Not before the team accepted it.
    let r = n
        .app
        .post(&path, Some(&n.station_staff), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.field_codes(), why("status", "only_accepting_team"));
    n.verify_and_assign(id, json!({"action": "assign", "to_org": team}))
        .await;
    ok(&n.act(id, &admin, json!({"action": "accept"})).await);
    // Another team is no handler of it.
    let r = n.app.post(&path, Some(&n.teams[1].1), body.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    // The need named no time: the team must.
    let r = n.app.post(&path, Some(&admin), body.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["starts_at"]);
    let timed = json!({"capacity": 3, "responsible_person": "陈志愿",
                       "starts_at": "2030-06-01T09:00:00+08:00"});
    let r = n.app.post(&path, Some(&admin), timed.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        r.body["ends_at"], "2030-06-01T02:30:00Z",
        "the menu's 90 minutes"
    );
    let (project, shift) = (
        r.body["project"].as_i64().unwrap(),
        r.body["shift"].as_i64().unwrap(),
    );
    let again = n.app.post(&path, Some(&admin), timed).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.field_codes(), why("activity", "has_activity"));

    // Public, published, and with nothing of the requester's.
    let p = n
        .app
        .get(&format!("/api/v1/projects/{project}"), None)
        .await;
    let p = ok(&p);
    assert_eq!(p["status"], "published");
    let text = p.to_string();
    for private in ["华工社区3栋", "母亲独居", "李女士", "13700137000"] {
        assert!(!text.contains(private), "{private} in {text}");
    }
    assert_eq!(p["conditions"]["skills"], json!(["沟通"]));
    // A volunteer signs up, the team approves (sign-ups, attendance and records are the
    // projects' own).
    let (_, volunteer) = n
        .app
        .volunteer(VolunteerBuilder::new(VILLAGE, 41).with("skills", json!(["沟通"])))
        .await;
    let r = n
        .app
        .post(
            &format!("/api/v1/shifts/{shift}/signups"),
            Some(&volunteer),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["signup"]["status"], "pending", "the team approves");

    // Hours come from attendance: completing with attendees would count them twice.
    let r = n
        .act(
            id,
            &admin,
            json!({"action": "complete", "report": "已完成",
                   "attendees": [{"volunteer": n.teams[0].2, "minutes": 90}],
                   "responsible_person": "陈志愿"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.field_codes(), why("attendees", "hours_by_attendance"));
    ok(&n
        .act(
            id,
            &admin,
            json!({"action": "complete", "report": "已完成"}),
        )
        .await);
}

#[tokio::test]
async fn candidates_follow_the_receiving_sites_menu_even_after_a_nearer_station_opens() {
    // No station in the village yet: the town's institute receives the need.
    let app = TestApp::spawn().await;
    app.site(COUNTY, "practice_center").await;
    let institute = app.site(TOWN, "practice_institute").await;
    let town_staff = app
        .staff("town-staff", GrantedRole::SiteStaff, None, Some(institute))
        .await;
    let put_item = |site: i64, skills: Value| {
        let (app, town_staff) = (&app, &town_staff);
        async move {
            let r = app
                .request(
                    reqwest::Method::PUT,
                    &format!("/api/v1/sites/{site}/menu/elderly-visit"),
                    Some(town_staff),
                    Some(json!({"category": "elderly", "name": "独居老人探访",
                                "description": "上门服务", "typical_minutes": 90,
                                "skills": skills})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        }
    };
    put_item(institute.0, json!(["沟通"])).await;
    app.region(VILLAGE).await;
    let r = app
        .post(
            "/api/v1/needs",
            None,
            json!({"service_code": "elderly-visit", "description": "母亲独居",
                   "region": VILLAGE, "contact_name": "李女士", "contact_phone": "13700137000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["site"], institute.0, "the institute receives it");
    let tracking = r.body["tracking"].as_str().unwrap();
    let orders = ok(&app
        .get(
            &format!("/api/v1/orders?site={}", institute.0),
            Some(&town_staff),
        )
        .await)
    .clone();
    let order = orders["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["tracking"] == tracking)
        .unwrap_or_else(|| panic!("the institute sees its order: {orders}"))
        .clone();

    // A station opens in the village with its own item of that code: new needs there
    // would see it, the institute's order keeps the institute's menu.
    let station = app.site(VILLAGE, "practice_station").await;
    let station_staff = app
        .staff("station-staff", GrantedRole::SiteStaff, None, Some(station))
        .await;
    let r = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/sites/{}/menu/elderly-visit", station.0),
            Some(&station_staff),
            Some(
                json!({"category": "elderly", "name": "独居老人探访", "description": "上门服务",
                        "typical_minutes": 90, "skills": ["急救"]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .get(
            &format!("/api/v1/orders/{}/candidates", order["id"]),
            Some(&town_staff),
        )
        .await;
    assert_eq!(ok(&r)["skills"], json!(["沟通"]), "the institute's item");
}

/// Someone whose phone lost the answer sends their need again with the same
/// `Idempotency-Key`: one order, and the first answer again (its tracking number and
/// secret), marked replayed. The key with another request is refused; a request refused
/// is forgotten, so the same key places it once fixed.
#[tokio::test]
async fn a_need_sent_again_under_its_idempotency_key_is_placed_once() {
    let n = network().await;
    let need = |fields: Value| {
        let mut body = json!({"service_code": "elderly-visit", "description": "母亲独居，希望每周探访",
                              "region": VILLAGE, "contact_name": "李女士",
                              "contact_phone": "13700137000"});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let send = |key: &'static str, body: Value| n.app.post_keyed("/api/v1/needs", None, key, body);
    let first = send("\"need-1\"", need(json!({}))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    let again = send("\"need-1\"", need(json!({}))).await;
    assert_eq!(
        (again.status, &again.body),
        (StatusCode::CREATED, &first.body)
    );
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.headers["content-type"], first.headers["content-type"]);
    let listed = format!("/api/v1/orders?site={}", n.station);
    let placed = n.app.get(&listed, Some(&n.station_staff)).await;
    assert_eq!(placed.body["items"].as_array().unwrap().len(), 1);

    let other = send("\"need-1\"", need(json!({"description": "另一件事"}))).await;
    assert_eq!(
        (other.status, other.field_codes()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            why("Idempotency-Key", "key_reused")
        )
    );
    let refused = send("need-2", need(json!({"service_code": "haircut"}))).await;
    assert_eq!(refused.field_codes(), why("service_code", "not_on_menu"));
    let fixed = send("need-2", need(json!({}))).await;
    assert_eq!(fixed.status, StatusCode::CREATED, "{:?}", fixed.body);
    assert_ne!(fixed.body["tracking"], first.body["tracking"]);
    assert!(!fixed.headers.contains_key("idempotent-replayed"));
    // Eight retries at once under a fresh key: one need placed; each answer is that need
    // (run or replayed) or "still in progress".
    let burst = futures::future::join_all((0..8).map(|_| send("need-3", need(json!({}))))).await;
    let mut placed_now = std::collections::BTreeSet::new();
    for r in &burst {
        match r.status {
            StatusCode::CREATED => {
                placed_now.insert(r.body["tracking"].as_str().unwrap().to_owned());
            }
            _ => assert_eq!(
                (r.status, r.field_codes()),
                (
                    StatusCode::CONFLICT,
                    why("Idempotency-Key", "key_in_progress")
                )
            ),
        }
    }
    assert_eq!(placed_now.len(), 1, "{placed_now:?}");
    // Keys that are not 1 to 255 printable ASCII characters are refused as such, and
    // place nothing: empty, a tab inside, too long.
    let too_long: &'static str = "k".repeat(256).leak();
    for key in ["\"\"", "a\tb", too_long] {
        let refused = send(key, need(json!({}))).await;
        assert_eq!(
            (refused.status, refused.field_codes()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                why("Idempotency-Key", "not_an_idempotency_key")
            ),
            "{key}"
        );
    }
    let placed = n.app.get(&listed, Some(&n.station_staff)).await;
    assert_eq!(placed.body["items"].as_array().unwrap().len(), 3);
}
