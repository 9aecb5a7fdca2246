//! Notifications: everyone's inbox, and the webhooks and addresses a jurisdiction
//! subscribes to the events of its region.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{ChannelKind, DeliveryRecord, Notification, Subscription};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, page};
use crate::views::PageView;

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// The event, e.g. `order.assign`.
    pub event: String,
    pub subject_type: String,
    pub subject_id: String,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
}

fn notification_view(n: Notification) -> NotificationView {
    NotificationView {
        id: n.id,
        event: n.note.event,
        subject_type: n.note.subject_type,
        subject_id: n.note.subject_id,
        text: n.note.text,
        at: n.note.at,
        read_at: n.read_at,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only those not read yet.
    #[serde(default)]
    pub unread: bool,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The signed-in user's inbox, newest first.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications",
    security(("bearer" = [])), params(InboxQuery),
    responses((status = 200, body = PageView<NotificationView>), (status = 401, body = ErrorBody)))]
pub async fn inbox(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<InboxQuery>,
) -> ApiResult<Json<PageView<NotificationView>>> {
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let items = state
        .app
        .my_notifications(&caller.ctx, q.unread, &page)
        .await?;
    Ok(Json(PageView::from_page(items, notification_view)))
}

/// Marks one of the signed-in user's notifications read.
#[utoipa::path(post, path = "/api/v1/me/notifications/{id}/read", tag = "notifications",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state.app.read_notification(&caller.ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadView {
    /// Unread notifications, counted up to 1,000 (show more as "999+").
    pub unread: i64,
}

/// How many of the signed-in user's notifications are unread (a badge).
#[utoipa::path(get, path = "/api/v1/me/notifications/unread", tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = UnreadView), (status = 401, body = ErrorBody)))]
pub async fn unread(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<UnreadView>> {
    let unread = state.app.unread_notifications(&caller.ctx).await?;
    Ok(Json(UnreadView { unread }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadAll {
    /// The newest notification the user has seen: it and every earlier one are marked
    /// read; any that came after stay unread.
    pub up_to: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadAllView {
    /// How many were unread and are now read.
    pub marked: u64,
}

/// Marks read every notification of the signed-in user up to `up_to`.
#[utoipa::path(post, path = "/api/v1/me/notifications/read", tag = "notifications",
    security(("bearer" = [])), request_body = ReadAll,
    responses((status = 200, body = ReadAllView), (status = 401, body = ErrorBody)))]
pub async fn read_all(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<ReadAll>,
) -> ApiResult<Json<ReadAllView>> {
    let marked = state
        .app
        .read_all_notifications(&caller.ctx, b.up_to)
        .await?;
    Ok(Json(ReadAllView { marked }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: i64,
    pub region: String,
    /// `webhook` or `email`.
    pub channel: String,
    pub destination: String,
    pub events: Vec<String>,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The webhook signing key: in the answer to its creation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn subscription_view(s: Subscription, with_secret: bool) -> SubscriptionView {
    SubscriptionView {
        id: s.id,
        region: s.sub.region.to_string(),
        channel: s.sub.channel.as_str().to_owned(),
        destination: s.sub.destination,
        events: s.sub.events,
        active: s.active,
        created_at: s.sub.created_at,
        secret: s.sub.secret.filter(|_| with_secret),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// The region whose events are sent (the administrator's jurisdiction or below).
    pub region: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// An http(s) URL, or an e-mail address.
    pub destination: String,
    /// Event names or prefixes: `order.`, `call.`, `qualification.`, or one action such as
    /// `order.assign`.
    pub events: Vec<String>,
}

/// Subscribes a webhook or an address to the events of a region. Webhooks receive
/// `POST` JSON `{id, event, subject: {type, id}, region, at}` with headers
/// `Zhiyuan-Event`, `Zhiyuan-Delivery` (the same on a retry) and `Zhiyuan-Signature:
/// t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
#[utoipa::path(post, path = "/api/v1/subscriptions", tag = "notifications",
    security(("bearer" = [])), request_body = Subscribe,
    responses((status = 201, body = SubscriptionView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<Subscribe>,
) -> ApiResult<(StatusCode, Json<SubscriptionView>)> {
    let region = RegionCode::parse(&b.region).map_err(|e| ApiError::from(e.at("region")))?;
    let channel = ChannelKind::parse(&b.channel)
        .ok_or_else(|| ApiError::one_of("channel", &ChannelKind::ALL.map(ChannelKind::as_str)))?;
    let s = state
        .app
        .subscribe(&caller.ctx, region, channel, &b.destination, b.events)
        .await?;
    Ok((StatusCode::CREATED, Json(subscription_view(s, true))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionsQuery {
    pub within: String,
}

/// The subscriptions of a region subtree.
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "notifications",
    security(("bearer" = [])), params(SubscriptionsQuery),
    responses((status = 200, body = Vec<SubscriptionView>), (status = 403, body = ErrorBody)))]
pub async fn subscriptions(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SubscriptionsQuery>,
) -> ApiResult<Json<Vec<SubscriptionView>>> {
    let within = RegionCode::parse(&q.within).map_err(|e| ApiError::from(e.at("within")))?;
    let list = state.app.subscriptions(&caller.ctx, within).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| subscription_view(s, false))
            .collect(),
    ))
}

/// Stops a subscription (its past deliveries stay listed).
#[utoipa::path(delete, path = "/api/v1/subscriptions/{id}", tag = "notifications",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state.app.unsubscribe(&caller.ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The audit entry of the event.
    pub event_id: i64,
    pub event: String,
    pub attempts: i32,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What was sent to a subscription, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/subscriptions/{id}/deliveries", tag = "notifications",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<DeliveryView>), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    let list = state.app.subscription_deliveries(&caller.ctx, id).await?;
    Ok(Json(
        list.into_iter()
            .map(|d: DeliveryRecord| DeliveryView {
                id: d.id,
                event_id: d.audit_id,
                event: d.event,
                attempts: d.attempts,
                status: if d.delivered_at.is_some() {
                    "delivered"
                } else if d.failed_at.is_some() {
                    "failed"
                } else {
                    "pending"
                },
                next_attempt_at: d.next_attempt_at,
                last_error: d.last_error,
                created_at: d.created_at,
            })
            .collect(),
    ))
}
