//! Notifications (issue 5, item 9). Events are audit entries of the actions in
//! `zhiyuan_store::EVENTS`, queued by the database in the transaction that writes
//! them. The relay turns each into inbox notifications for the people it concerns and
//! outbox deliveries for the subscriptions that want it, in one transaction; the
//! deliverer sends the outbox through a [`Channel`], retrying with exponential back-off.
//! Nothing is lost on a restart: an event stays queued until relayed, a delivery stays due
//! until sent (a claimed one comes due again when its lease runs out).
//!
//! Channels: signed webhooks and e-mail (SMTP) are built. SMS and WeChat template
//! messages are further [`Channel`]s (a provider's HTTP API, the destination a phone
//! number or an OpenID); see docs/API.md "Notifications".

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use time::{Duration, OffsetDateTime};
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::CHINA;
use zhiyuan_domain::hours::hours;
use zhiyuan_domain::ids::{AccountId, MembershipId, VolunteerId};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{
    AuditRecord, ChannelKind, CorrectionId, CorrectionStatus, Delivery, DeliveryOutcome,
    DeliveryRecord, NewDelivery, NewNotification, NewSubscription, Notification, Page, PageRequest,
    ProjectId, RecordId, ShiftId, StarApplicationId, Subscription, is_subscribable,
    subscribable_instead,
};

use crate::{Ctx, Result, ServiceError, Zhiyuan};
use zhiyuan_domain::Reason;

/// How deliveries are retried, and where e-mail goes out.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// The wait after the first failure; doubled after each further one.
    pub retry_base: Duration,
    pub max_backoff: Duration,
    /// After this many failed attempts a delivery is given up (and shown as failed).
    pub max_attempts: i32,
    /// A claimed delivery is not claimed again for this long (a crash mid-send).
    pub lease: Duration,
    /// `smtp://host:port` (plain, for a local relay) or `smtps://user:pass@host` and
    /// `smtp://…?tls=required` (as lettre reads them); `None`: e-mail is not sent.
    pub smtp_url: Option<String>,
    pub mail_from: String,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::seconds(30),
            max_backoff: Duration::hours(6),
            max_attempts: 12,
            lease: Duration::seconds(60),
            smtp_url: None,
            mail_from: "zhiyuan <noreply@localhost>".into(),
        }
    }
}

impl NotifySettings {
    /// The wait before attempt `attempts + 1`, after `attempts` failures.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doubled = 2f64.powi(attempts.clamp(1, 30) - 1);
        (self.retry_base * doubled).min(self.max_backoff)
    }
}

/// A way out: sends one delivery, or says why it could not (to retry).
#[async_trait]
pub trait Channel: Send + Sync {
    async fn send(&self, d: &Delivery, body: &str) -> std::result::Result<(), String>;
}

/// The webhook signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn webhook_signature(secret: &str, at: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{at}.{body}").as_bytes());
    format!("t={at},v1={}", hex::encode(mac.finalize().into_bytes()))
}

struct Webhook {
    http: reqwest::Client,
}

#[async_trait]
impl Channel for Webhook {
    async fn send(&self, d: &Delivery, body: &str) -> std::result::Result<(), String> {
        let secret = d.subscription.sub.secret.as_deref().unwrap_or_default();
        let at = OffsetDateTime::now_utc().unix_timestamp();
        let r = self
            .http
            .post(&d.subscription.sub.destination)
            .timeout(std::time::Duration::from_secs(10))
            .header("content-type", "application/json")
            .header("zhiyuan-event", &d.event)
            .header("zhiyuan-delivery", d.id.to_string())
            .header("zhiyuan-signature", webhook_signature(secret, at, body))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| format!("not reached: {e}"))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", r.status()))
        }
    }
}

struct Email {
    transport: Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
    from: Option<lettre::message::Mailbox>,
}

#[async_trait]
impl Channel for Email {
    async fn send(&self, d: &Delivery, body: &str) -> std::result::Result<(), String> {
        use lettre::AsyncTransport;
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            return Err("e-mail is not configured (notify.smtp_url, notify.mail_from)".into());
        };
        let to: lettre::message::Mailbox = d
            .subscription
            .sub
            .destination
            .parse()
            .map_err(|e| format!("bad address: {e}"))?;
        let message = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(format!("[zhiyuan] {}", d.event))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}

/// The channels, one per kind.
pub(crate) struct Channels {
    webhook: Webhook,
    email: Email,
}

impl Channels {
    pub(crate) fn new(settings: &NotifySettings, http: reqwest::Client) -> Self {
        let transport = settings.smtp_url.as_deref().and_then(|url| {
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
                .map(|b| b.build())
                .map_err(|e| tracing::error!(error = %e, "notify.smtp_url is not usable"))
                .ok()
        });
        Self {
            webhook: Webhook { http },
            email: Email {
                transport,
                from: settings.mail_from.parse().ok(),
            },
        }
    }

    fn get(&self, kind: ChannelKind) -> &dyn Channel {
        match kind {
            ChannelKind::Webhook => &self.webhook,
            ChannelKind::Email => &self.email,
        }
    }
}

/// What a subscriber receives: the event, never the changed data (they read it through
/// the API with their own rights).
fn payload(e: &AuditRecord) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "event": e.action,
        "subject": { "type": e.subject_type, "id": e.subject_id },
        "region": e.region.map(|r| r.to_string()),
        "at": e.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    })
}

/// The most unread notifications counted for a badge.
pub const UNREAD_CAP: i64 = 1000;

/// The inbox line for an event of an order, a call, a qualification or overdue records.
fn describe_other(e: &AuditRecord) -> String {
    let id = &e.subject_id;
    match e.action.as_str() {
        "order.assign" => format!("工单 {id} 派给了你，请接单或说明原因退回"),
        "order.offer" => format!("工单 {id} 开放抢单"),
        "order.decline" => format!("工单 {id} 被退回，请重新派单"),
        "order.escalate" => format!("工单 {id} 上报到你处，请处理"),
        "order.recall" => format!("工单 {id} 已撤回"),
        "order.cancel" => format!("工单 {id} 已取消"),
        "order.activity" => format!("工单 {id} 已发布为志愿活动，请审核报名"),
        "call.issue" => format!("紧急动员令 {id}：请尽快确认是否响应"),
        "records.overdue" => format!(
            "「{}」班次有 {} 名志愿者的服务记录逾期未完成（应于 {} 前完成），请尽快补录或标记缺席",
            e.details["project_name"].as_str().unwrap_or_default(),
            e.details["missing"],
            e.details["due"].as_str().unwrap_or_default(),
        ),
        "qualification.decide" => match e.details["to"].as_str() {
            Some("verified") => "你的专业资质已通过核验".into(),
            _ => "你的专业资质未通过核验，请查看原因".into(),
        },
        other => format!("{other} {id}"),
    }
}

/// The inbox line for a sign-up event (`what`: `decide`, `promote`, ...) on the shift
/// `label`, with the reason given if any.
fn describe_signup(e: &AuditRecord, what: &str, label: &str) -> String {
    let text = match what {
        "promote" => format!("候补成功：{label}有了空位，你已获得名额"),
        "decide" => match e.details["status"].as_str() {
            Some("accepted") => format!("你报名的{label}已通过审核"),
            Some("waitlisted") => format!("你报名的{label}已通过审核，名额已满，已进入候补"),
            _ => format!("你报名的{label}未通过审核"),
        },
        "cancel" => format!("你报名的{label}已被组织取消"),
        "absent" => format!("你在{label}被记为缺席；如有误，请联系组织撤销"),
        "reinstate" => format!("你在{label}的缺席记录已撤销"),
        other => format!("signup.{other} {label}"),
    };
    with_reason(text, e)
}

/// `text`, with the reason the event gives if any.
fn with_reason(text: String, e: &AuditRecord) -> String {
    match e.reason.as_deref().map(str::trim) {
        Some(reason) if !reason.is_empty() => format!("{text}。原因：{reason}"),
        _ => text,
    }
}

impl Zhiyuan {
    /// Who an event concerns (never whoever caused it) and the line for their inboxes.
    async fn notice(&self, e: &AuditRecord) -> Result<(Vec<AccountId>, String)> {
        let store = &self.0.store;
        let subject = e.subject_id.parse::<i64>().ok();
        let volunteer = |v: Option<i64>| async move {
            Ok::<_, ServiceError>(match v {
                Some(v) => store
                    .volunteer_account(VolunteerId(v))
                    .await?
                    .into_iter()
                    .collect(),
                None => Vec::new(),
            })
        };
        let (mut to, text) = match e.action.as_str() {
            a if a.starts_with("order.") => {
                let holder = &e.details["holder"];
                let to = match (holder["kind"].as_str(), holder["id"].as_i64()) {
                    (Some(kind), Some(id)) => store.holder_accounts(kind, id).await?,
                    _ => Vec::new(),
                };
                (to, describe_other(e))
            }
            "records.overdue" => {
                let to = match e.details["org"].as_i64() {
                    Some(org) => store.holder_accounts("org", org).await?,
                    None => Vec::new(),
                };
                (to, describe_other(e))
            }
            "call.issue" => {
                let to = match subject {
                    Some(call) => store.call_accounts(call).await?,
                    None => Vec::new(),
                };
                (to, describe_other(e))
            }
            "qualification.decide" => (
                volunteer(e.details["volunteer"].as_i64()).await?,
                describe_other(e),
            ),
            "shift.cancel" => {
                let to = match subject {
                    Some(shift) => store.signup_accounts(ShiftId(shift)).await?,
                    None => Vec::new(),
                };
                let text = format!("{}已取消", self.shift_label(subject).await?);
                (to, with_reason(text, e))
            }
            // A project cancelled: those signed up for the shifts it cancelled with it
            // (those of a shift cancelled before were told then). Its other changes of
            // status are for subscribers.
            "project.status" => {
                let shifts = e.details["shifts"].as_array().into_iter().flatten();
                let mut to = Vec::new();
                for shift in shifts.filter_map(serde_json::Value::as_i64) {
                    to.extend(store.signup_accounts(ShiftId(shift)).await?);
                }
                to.sort_unstable_by_key(|a| a.0);
                to.dedup();
                let name = match subject {
                    Some(id) if !to.is_empty() => store.get_project(ProjectId(id)).await?,
                    _ => None,
                };
                let name = name.map(|p| p.project.name).unwrap_or_default();
                (to, with_reason(format!("项目「{name}」已取消"), e))
            }
            "record.report" | "correction.request" | "correction.omission" => {
                match self.request_for_team(e).await? {
                    Some((org, text)) => (store.holder_accounts("org", org).await?, text),
                    None => (Vec::new(), String::new()),
                }
            }
            "record.decide" | "correction.decide" | "stars.decide" => {
                match self.decision_for_volunteer(e).await? {
                    Some((v, text)) => (volunteer(Some(v.0)).await?, text),
                    None => (Vec::new(), String::new()),
                }
            }
            "membership.apply" | "membership.update" => self.membership_notice(e).await?,
            // A qualification declared, for the jurisdiction of the volunteer's residence
            // to verify.
            "qualification.add" => (
                self.nearest_admins(e.region).await?,
                format!(
                    "有一份专业资质待核验：{}（资质 {}）",
                    e.details["title"].as_str().unwrap_or_default(),
                    e.subject_id
                ),
            ),
            // Star applications and objections to a notice, for the certifier to decide.
            "stars.apply" | "stars.objection" => {
                let to = self.nearest_admins(e.region).await?;
                let text = match e.action.as_str() {
                    "stars.apply" => format!("有一份星级认定申请待审核（申请 {}）", e.subject_id),
                    _ => format!(
                        "公示中的星级认定申请（申请 {}）收到异议，请核实",
                        e.details["application"]
                    ),
                };
                (to, text)
            }
            a => match a.strip_prefix("signup.") {
                Some(what) => {
                    let mut to = volunteer(e.details["volunteer"].as_i64()).await?;
                    // Most a volunteer does themselves (a cancellation): nobody to tell.
                    to.retain(|a| Some(*a) != e.actor);
                    if to.is_empty() {
                        return Ok((to, String::new()));
                    }
                    let label = self.shift_label(e.details["shift"].as_i64()).await?;
                    (to, describe_signup(e, what, &label))
                }
                None => (Vec::new(), String::new()),
            },
        };
        to.retain(|a| Some(*a) != e.actor);
        Ok((to, text))
    }

    /// The administrators of `region`'s jurisdiction or, when it has none, of the nearest
    /// one above it that has: a jurisdiction above may decide whatever one below may.
    async fn nearest_admins(&self, region: Option<RegionCode>) -> Result<Vec<AccountId>> {
        for r in region.into_iter().flat_map(RegionCode::and_ancestors) {
            let to = self.0.store.admin_accounts(r).await?;
            if !to.is_empty() {
                return Ok(to);
            }
        }
        Ok(Vec::new())
    }

    /// What one of a volunteer's own requests came to (a record or self-report, a
    /// correction, a star application decided): the volunteer and their message, the
    /// reason given with a refusal or a revocation.
    async fn decision_for_volunteer(
        &self,
        e: &AuditRecord,
    ) -> Result<Option<(VolunteerId, String)>> {
        let Ok(id) = e.subject_id.parse::<i64>() else {
            return Ok(None);
        };
        let store = &self.0.store;
        Ok(match e.action.as_str() {
            "record.decide" => store.get_record(RecordId(id)).await?.map(|r| {
                let what = format!(
                    "你在「{}」（{}）的服务记录",
                    r.record.activity_name, r.record.service_date
                );
                let text = match e.details["status"].as_str() {
                    Some("effective") => {
                        format!("{what}已通过审核，计入 {} 小时", hours(r.record.minutes))
                    }
                    _ => with_reason(format!("{what}未通过审核"), e),
                };
                (r.record.volunteer, text)
            }),
            "correction.decide" => store.get_correction(CorrectionId(id)).await?.map(|c| {
                let text = match c.status {
                    CorrectionStatus::Approved => "你的记录更正申请已通过，记录已更新".into(),
                    _ => with_reason("你的记录更正申请未通过".into(), e),
                };
                (c.correction.volunteer, text)
            }),
            "stars.decide" => store
                .get_star_application(StarApplicationId(id))
                .await?
                .map(|a| {
                    let label = &a.application.label;
                    let text = match e.details["to"].as_str() {
                        Some("in_notice") => format!("你的{label}认定申请已进入公示"),
                        Some("certified") => format!("你已通过{label}认定"),
                        Some("revoked") => with_reason(format!("你的{label}认定已被撤销"), e),
                        _ => with_reason(format!("你的{label}认定申请未通过"), e),
                    };
                    (a.application.volunteer, text)
                }),
            _ => None,
        })
    }

    /// A membership applied for (to the team's administrators) or decided (to the
    /// volunteer: accepted, refused, removed, a new role): who to tell and the message.
    async fn membership_notice(&self, e: &AuditRecord) -> Result<(Vec<AccountId>, String)> {
        let store = &self.0.store;
        let m = match e.subject_id.parse() {
            Ok(id) => store.get_membership(MembershipId(id)).await?,
            Err(_) => None,
        };
        let Some(m) = m else {
            return Ok((Vec::new(), String::new()));
        };
        let org = store
            .get_org(m.org)
            .await?
            .map(|o| o.org.name)
            .unwrap_or_default();
        if e.action == "membership.apply" {
            let text = format!("志愿者{}申请加入「{org}」，请审核", m.volunteer_name);
            return Ok((store.holder_accounts("org", m.org.0).await?, text));
        }
        let text = match (
            e.details["status"]["to"].as_str(),
            e.details["role"]["to"].as_str(),
        ) {
            (Some("active"), _) => format!("你加入「{org}」的申请已通过"),
            (Some("rejected"), _) => with_reason(format!("你加入「{org}」的申请未通过"), e),
            (Some("left"), _) => with_reason(format!("你已被移出「{org}」"), e),
            (_, Some(role)) => {
                let role = match role {
                    "admin" => "管理员",
                    "coordinator" => "协调员",
                    _ => "队员",
                };
                format!("你在「{org}」的角色已改为{role}")
            }
            _ => return Ok((Vec::new(), String::new())),
        };
        let to = store.volunteer_account(m.volunteer).await?;
        Ok((to.into_iter().collect(), text))
    }

    /// A volunteer's request the team must decide (a self-report, a correction, a
    /// reported omission): the team and the message for its administrators.
    async fn request_for_team(&self, e: &AuditRecord) -> Result<Option<(i64, String)>> {
        let Ok(id) = e.subject_id.parse::<i64>() else {
            return Ok(None);
        };
        let store = &self.0.store;
        Ok(match e.action.as_str() {
            "record.report" => store.get_record(RecordId(id)).await?.map(|r| {
                let text = format!(
                    "「{}」（{}）有一条志愿者自报的 {} 小时待审核",
                    r.record.activity_name,
                    r.record.service_date,
                    hours(r.record.minutes)
                );
                (r.record.org.0, text)
            }),
            "correction.request" | "correction.omission" => {
                store.get_correction(CorrectionId(id)).await?.map(|c| {
                    let what = match c.correction.record {
                        Some(_) => "服务记录更正申请",
                        None => "漏记补录申请",
                    };
                    let text = format!("有一条{what}待核实（申请 {id}）：{}", c.correction.reason);
                    (c.correction.org.0, text)
                })
            }
            _ => None,
        })
    }

    /// A shift as a volunteer knows it: 「project」and its start, China time.
    async fn shift_label(&self, shift: Option<i64>) -> Result<String> {
        let Some(id) = shift else {
            return Ok(String::new());
        };
        Ok(
            match self.0.store.get_shift_with_project(ShiftId(id)).await? {
                Some((shift, project)) => {
                    let t = shift.shift.starts_at.to_offset(CHINA);
                    format!(
                        "「{}」{}月{}日 {:02}:{:02} 的班次",
                        project.project.name,
                        u8::from(t.month()),
                        t.day(),
                        t.hour(),
                        t.minute()
                    )
                }
                None => format!("班次 {id}"),
            },
        )
    }

    /// Relays queued events into inboxes and the outbox; returns how many. Safe to run on
    /// several servers at once (a pair written twice is written once).
    pub async fn relay_events(&self, now: OffsetDateTime) -> Result<usize> {
        let store = &self.0.store;
        let mut relayed = 0;
        loop {
            let events = store.pending_events(500).await?;
            if events.is_empty() {
                return Ok(relayed);
            }
            let subscriptions: Vec<Subscription> = store
                .list_subscriptions(None)
                .await?
                .into_iter()
                .filter(|s| s.active)
                .collect();
            let (mut deliveries, mut notes) = (Vec::new(), Vec::new());
            for e in &events {
                for s in subscriptions
                    .iter()
                    .filter(|s| s.wants(&e.action, e.region))
                {
                    deliveries.push(NewDelivery {
                        subscription: s.id,
                        audit_id: e.id,
                        event: e.action.clone(),
                        payload: payload(e),
                        at: now,
                    });
                }
                let (recipients, text) = self.notice(e).await?;
                for account in recipients {
                    notes.push(NewNotification {
                        account,
                        audit_id: e.id,
                        event: e.action.clone(),
                        subject_type: e.subject_type.clone(),
                        subject_id: e.subject_id.clone(),
                        text: text.clone(),
                        at: e.at,
                    });
                }
            }
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            store.settle_events(&ids, &deliveries, &notes).await?;
            relayed += events.len();
        }
    }

    /// Sends the deliveries due at `now` (a batch at a time, several at once); returns
    /// how many were sent.
    pub async fn deliver_due(&self, now: OffsetDateTime) -> Result<usize> {
        let settings = &self.0.config.notify;
        let store = &self.0.store;
        let mut sent = 0;
        loop {
            let batch = store
                .claim_deliveries(now, now + settings.lease, 64)
                .await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            let mut running = tokio::task::JoinSet::new();
            for d in batch {
                let app = self.clone();
                running.spawn(async move {
                    let body = d.payload.to_string();
                    let result = app
                        .0
                        .channels
                        .get(d.subscription.sub.channel)
                        .send(&d, &body)
                        .await;
                    (d, result)
                });
            }
            while let Some(done) = running.join_next().await {
                let (d, result) = done.map_err(|e| ServiceError::Internal(Box::new(e)))?;
                let outcome = match result {
                    Ok(()) => {
                        sent += 1;
                        DeliveryOutcome::Delivered
                    }
                    Err(error) if d.attempts >= settings.max_attempts => {
                        tracing::warn!(delivery = d.id, %error, "delivery given up");
                        DeliveryOutcome::GiveUp { error }
                    }
                    Err(error) => DeliveryOutcome::Retry {
                        at: OffsetDateTime::now_utc() + settings.backoff(d.attempts),
                        error,
                    },
                };
                store
                    .finish_delivery(d.id, &outcome, OffsetDateTime::now_utc())
                    .await?;
            }
        }
    }

    /// A jurisdiction administrator subscribes a webhook or an address to the events of
    /// their region. A webhook's signing secret is returned here, once.
    pub async fn subscribe(
        &self,
        ctx: &Ctx,
        region: RegionCode,
        channel: ChannelKind,
        destination: &str,
        events: Vec<String>,
    ) -> Result<Subscription> {
        ctx.require(|p| p.covers(region, Access::Write))?;
        self.require_region(region, "region").await?;
        let destination = destination.trim().to_owned();
        match channel {
            ChannelKind::Webhook => {
                let url = reqwest::Url::parse(&destination)
                    .map_err(|_| ServiceError::because("destination", Reason::NotAUrl))?;
                if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
                    return Err(ServiceError::because("destination", Reason::NotAUrl));
                }
            }
            ChannelKind::Email => {
                destination
                    .parse::<lettre::Address>()
                    .map_err(|_| ServiceError::because("destination", Reason::NotAnEmail))?;
            }
        }
        if events.is_empty() {
            return Err(ServiceError::because("events", Reason::Required));
        }
        for (i, e) in events.iter().enumerate() {
            if !is_subscribable(e) {
                // As subscriptions name them: `order.` is any of an order's events.
                return Err(ServiceError::because(
                    format!("events[{i}]"),
                    Reason::one_of(&subscribable_instead(e)),
                ));
            }
        }
        let secret = (channel == ChannelKind::Webhook).then(|| {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            hex::encode(key)
        });
        let mut audit = ctx.audit("subscription.create", "subscription", "", Some(region));
        audit.details = serde_json::json!({
            "channel": channel.as_str(), "destination": destination, "events": events,
        });
        Ok(self
            .0
            .store
            .insert_subscription(
                &NewSubscription {
                    region,
                    channel,
                    destination,
                    secret,
                    events,
                    created_at: ctx.now,
                },
                &audit,
            )
            .await?)
    }

    async fn own_subscription(&self, ctx: &Ctx, id: i64) -> Result<Subscription> {
        let s = self
            .0
            .store
            .get_subscription(id)
            .await?
            .ok_or(ServiceError::NotFound("subscription"))?;
        ctx.require(|p| p.covers(s.sub.region, Access::Write))?;
        Ok(s)
    }

    /// The subscriptions of a region subtree (secrets are not shown again).
    pub async fn subscriptions(&self, ctx: &Ctx, within: RegionCode) -> Result<Vec<Subscription>> {
        ctx.require(|p| p.covers(within, Access::Write))?;
        Ok(self.0.store.list_subscriptions(Some(within)).await?)
    }

    pub async fn unsubscribe(&self, ctx: &Ctx, id: i64) -> Result<()> {
        let s = self.own_subscription(ctx, id).await?;
        let audit = ctx.audit(
            "subscription.remove",
            "subscription",
            id,
            Some(s.sub.region),
        );
        Ok(self.0.store.deactivate_subscription(id, &audit).await?)
    }

    /// What was sent to a subscription, newest first: attempts, errors, outcome.
    pub async fn subscription_deliveries(&self, ctx: &Ctx, id: i64) -> Result<Vec<DeliveryRecord>> {
        self.own_subscription(ctx, id).await?;
        Ok(self.0.store.deliveries(id, 100).await?)
    }

    /// The signed-in user's inbox.
    pub async fn my_notifications(
        &self,
        ctx: &Ctx,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>> {
        let account = ctx.account().ok_or(ServiceError::Unauthenticated)?;
        Ok(self
            .0
            .store
            .notifications(account, unread_only, page)
            .await?)
    }

    /// How many of the signed-in user's notifications are unread, at most
    /// [`UNREAD_CAP`] (a badge shows more as "999+").
    pub async fn unread_notifications(&self, ctx: &Ctx) -> Result<i64> {
        let account = ctx.account().ok_or(ServiceError::Unauthenticated)?;
        Ok(self.0.store.unread_count(account, UNREAD_CAP).await?)
    }

    /// Marks read every notification of the signed-in user up to `up_to` (the newest the
    /// user has seen: any that came later stay unread); returns how many were unread.
    pub async fn read_all_notifications(&self, ctx: &Ctx, up_to: i64) -> Result<u64> {
        let account = ctx.account().ok_or(ServiceError::Unauthenticated)?;
        Ok(self.0.store.mark_all_read(account, up_to, ctx.now).await?)
    }

    pub async fn read_notification(&self, ctx: &Ctx, id: i64) -> Result<()> {
        let account = ctx.account().ok_or(ServiceError::Unauthenticated)?;
        if self.0.store.mark_read(account, id, ctx.now).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound("notification"))
        }
    }
}

/// Relays and delivers every `every` until the app stops. With several app servers each
/// runs it: relaying is idempotent and claims are exclusive.
pub fn spawn_notifier(app: Zhiyuan, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.unsigned_abs());
        loop {
            tick.tick().await;
            let now = OffsetDateTime::now_utc();
            if let Err(e) = app.relay_events(now).await {
                tracing::warn!(error = %e, "relaying events failed");
            }
            if let Err(e) = app.deliver_due(now).await {
                tracing::warn!(error = %e, "delivering notifications failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let s = NotifySettings::default();
        assert_eq!(s.backoff(1), Duration::seconds(30));
        assert_eq!(s.backoff(2), Duration::seconds(60));
        assert_eq!(s.backoff(5), Duration::seconds(480));
        assert_eq!(s.backoff(12), Duration::hours(6));
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_and_body() {
        let sig = webhook_signature("secret", 1_700_000_000, "{\"a\":1}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        assert_eq!(
            sig,
            format!(
                "t=1700000000,v1={}",
                hex::encode(mac.finalize().into_bytes())
            )
        );
        assert_ne!(sig, webhook_signature("other", 1_700_000_000, "{\"a\":1}"));
    }

    #[test]
    fn a_teams_decision_on_a_sign_up_tells_the_volunteer_which_way_it_went_and_why() {
        let decided = |status: &str, reason: Option<&str>| AuditRecord {
            id: 1,
            at: OffsetDateTime::UNIX_EPOCH,
            actor: None,
            request_id: String::new(),
            action: "signup.decide".into(),
            subject_type: "signup".into(),
            subject_id: "7".into(),
            region: None,
            reason: reason.map(Into::into),
            details: serde_json::json!({ "shift": 3, "volunteer": 5, "status": status }),
        };
        let label = "「清洁」11月5日 09:00 的班次";
        let said = |status, reason| describe_signup(&decided(status, reason), "decide", label);
        assert_eq!(
            said("accepted", None),
            "你报名的「清洁」11月5日 09:00 的班次已通过审核"
        );
        assert!(said("waitlisted", None).ends_with("已进入候补"));
        assert_eq!(
            said("rejected", Some(" 年龄不符 ")),
            "你报名的「清洁」11月5日 09:00 的班次未通过审核。原因：年龄不符"
        );
        assert!(!said("rejected", Some(" ")).contains("原因"));
    }
}
