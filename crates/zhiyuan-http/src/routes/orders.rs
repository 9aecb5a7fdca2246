//! Service menus and orders: the public orders from a site's menu (点单), the site makes
//! the order (制单), dispatches it down the levels or offers it (派单), a team or volunteer
//! takes it (接单), the requester rates it (评单).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::{OrgId, SiteId};
use zhiyuan_domain::matching::Score;
use zhiyuan_domain::order::{Holder, OrderStatus};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_domain::{FieldError, Reason};
use zhiyuan_service::{
    ActivityInput, CandidateKind, CandidateRequest, Completion, MenuItemInput, NeedInput,
    OrderCommand,
};
use zhiyuan_store::{MenuItemRecord, OrderQuery, OrderRecord, OrderStats, SiteRecord};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, page};
use crate::views::PageView;

#[derive(Debug, Serialize, ToSchema)]
pub struct MenuItemView {
    pub code: String,
    pub category: ServiceCategory,
    pub name: String,
    pub description: String,
    pub conditions: String,
    pub skills: Vec<String>,
    pub typical_minutes: i64,
    pub minors_allowed: bool,
    pub offered: bool,
    /// The site whose item this is (the site itself, or one above it).
    pub defined_by: i64,
}

impl From<MenuItemRecord> for MenuItemView {
    fn from(m: MenuItemRecord) -> Self {
        let i = m.item;
        Self {
            code: i.code,
            category: i.category,
            name: i.name,
            description: i.description,
            conditions: i.conditions,
            skills: i.skills,
            typical_minutes: i.typical_minutes,
            minors_allowed: i.minors_allowed,
            offered: i.offered,
            defined_by: i.site.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteRef {
    pub id: i64,
    pub name: String,
    pub region: String,
}

fn site_ref(s: &SiteRecord) -> SiteRef {
    SiteRef {
        id: s.id.0,
        name: s.site.name.clone(),
        region: s.site.region.to_string(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MenuView {
    pub site: SiteRef,
    pub items: Vec<MenuItemView>,
}

/// A site's menu: its own items and those it inherits from the sites above it (the
/// nearest item of each code wins). Public.
#[utoipa::path(get, path = "/api/v1/sites/{id}/menu", tag = "orders",
    params(("id" = i64, Path)), responses((status = 200, body = MenuView), (status = 404, body = ErrorBody)))]
pub async fn site_menu(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<MenuView>> {
    let (site, items) = state.app.site_menu(SiteId(id)).await?;
    Ok(Json(MenuView {
        site: site_ref(&site),
        items: items.into_iter().map(MenuItemView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PlaceQuery {
    /// The village or community code of the place.
    pub region: String,
}

/// The site that receives needs at a place, and the menu it offers. Public.
#[utoipa::path(get, path = "/api/v1/menu", tag = "orders", params(PlaceQuery),
    responses((status = 200, body = MenuView), (status = 422, body = ErrorBody)))]
pub async fn menu_at(
    State(state): State<AppState>,
    Query(q): Query<PlaceQuery>,
) -> ApiResult<Json<MenuView>> {
    let region = RegionCode::parse(&q.region).map_err(|e| ApiError::from(e.at("region")))?;
    let (site, items) = state.app.menu_at(region).await?;
    Ok(Json(MenuView {
        site: site_ref(&site),
        items: items.into_iter().map(MenuItemView::from).collect(),
    }))
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutMenuItem {
    pub category: String,
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub conditions: String,
    #[serde(default)]
    pub skills: Vec<String>,
    pub typical_minutes: i64,
    /// Whether volunteers under 18 may be proposed for it (default: no).
    #[serde(default)]
    pub minors_allowed: bool,
    /// `false` stops offering the item of this code here and below (also an inherited one).
    #[serde(default = "yes")]
    pub offered: bool,
}

/// Site staff or the jurisdiction set an item of the site's menu (creates or replaces the
/// site's item of that code).
#[utoipa::path(put, path = "/api/v1/sites/{id}/menu/{code}", tag = "orders",
    security(("bearer" = [])), params(("id" = i64, Path), ("code" = String, Path)),
    request_body = PutMenuItem,
    responses((status = 200, body = MenuItemView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_menu_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, code)): Path<(i64, String)>,
    Json(b): Json<PutMenuItem>,
) -> ApiResult<Json<MenuItemView>> {
    let input = MenuItemInput {
        code,
        category: b.category,
        name: b.name,
        description: b.description,
        conditions: b.conditions,
        skills: b.skills,
        typical_minutes: b.typical_minutes,
        minors_allowed: b.minors_allowed,
        offered: b.offered,
    };
    let item = state
        .app
        .put_menu_item(&caller.ctx, SiteId(id), input)
        .await?;
    Ok(Json(item.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitNeed {
    /// A code of the menu at the place.
    pub service_code: String,
    pub description: String,
    /// The village or community code; or give `location`.
    pub region: Option<String>,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    /// When the service is wanted.
    #[serde(default, deserialize_with = "crate::extract::rfc3339_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub wanted_at: Option<OffsetDateTime>,
    pub contact_name: String,
    pub contact_phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmittedView {
    /// Follow the order with it.
    pub tracking: String,
    /// Keep it: it lets you cancel and rate. It is shown once.
    pub secret: String,
    pub status: OrderStatus,
    pub site: i64,
}

/// A resident submits a need (点单). Public; the contact details are seen only by those
/// who handle it.
#[utoipa::path(post, path = "/api/v1/needs", tag = "orders", request_body = SubmitNeed,
    responses((status = 201, body = SubmittedView),
        (status = 422, description = "not on the menu, no site covers the place", body = ErrorBody)))]
pub async fn submit_need(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<SubmitNeed>,
) -> ApiResult<(StatusCode, Json<SubmittedView>)> {
    let input = NeedInput {
        service_code: b.service_code,
        description: b.description,
        region: b.region,
        address: b.address,
        location: b.location.map(|p| (p.lat, p.lng)),
        wanted_at: b.wanted_at,
        contact_name: b.contact_name,
        contact_phone: b.contact_phone,
    };
    let s = state.app.submit_need(&caller.ctx, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(SubmittedView {
            tracking: s.order.order.tracking,
            secret: s.secret,
            status: s.order.state.status,
            site: s.order.order.site.0,
        }),
    ))
}

/// What anyone with the tracking number sees: no description, place or contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicOrderView {
    pub tracking: String,
    pub service_code: String,
    pub service_name: String,
    pub status: OrderStatus,
    /// The last reason given (why it was refused, declined or cancelled).
    pub note: Option<String>,
    pub site: i64,
    pub rating: Option<i16>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub(crate) fn public_view(o: OrderRecord) -> PublicOrderView {
    PublicOrderView {
        tracking: o.order.tracking,
        service_code: o.order.need.service_code,
        service_name: o.order.need.service_name,
        status: o.state.status,
        note: o.note,
        site: o.order.site.0,
        rating: o.rating,
        created_at: o.order.created_at,
        updated_at: o.updated_at,
    }
}

/// Follow a need by its tracking number. Public.
#[utoipa::path(get, path = "/api/v1/needs/{tracking}", tag = "orders",
    params(("tracking" = String, Path)),
    responses((status = 200, body = PublicOrderView), (status = 404, body = ErrorBody)))]
pub async fn track(
    State(state): State<AppState>,
    Path(tracking): Path<String>,
) -> ApiResult<Json<PublicOrderView>> {
    Ok(Json(public_view(state.app.track_order(&tracking).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequesterCancel {
    pub secret: String,
    pub reason: String,
}

/// The requester cancels their need.
#[utoipa::path(post, path = "/api/v1/needs/{tracking}/cancel", tag = "orders",
    params(("tracking" = String, Path)), request_body = RequesterCancel,
    responses((status = 200, body = PublicOrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_need(
    State(state): State<AppState>,
    caller: Caller,
    Path(tracking): Path<String>,
    Json(b): Json<RequesterCancel>,
) -> ApiResult<Json<PublicOrderView>> {
    let o = state
        .app
        .cancel_by_requester(&caller.ctx, &tracking, &b.secret, &b.reason)
        .await?;
    Ok(Json(public_view(o)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub secret: String,
    /// 1 (poor) to 5 (excellent).
    pub rating: i16,
    pub comment: Option<String>,
}

/// The requester rates a completed order, once (评单).
#[utoipa::path(post, path = "/api/v1/needs/{tracking}/rating", tag = "orders",
    params(("tracking" = String, Path)), request_body = Rate,
    responses((status = 200, body = PublicOrderView), (status = 403, body = ErrorBody),
        (status = 409, description = "not completed, or rated already", body = ErrorBody)))]
pub async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    Path(tracking): Path<String>,
    Json(b): Json<Rate>,
) -> ApiResult<Json<PublicOrderView>> {
    let o = state
        .app
        .rate_order(&caller.ctx, &tracking, &b.secret, b.rating, b.comment)
        .await?;
    Ok(Json(public_view(o)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HolderView {
    /// `site`, `org`, `volunteer` or `area` (a region code).
    pub kind: &'static str,
    pub id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    pub name: String,
    pub phone: String,
}

/// An order as those who handle it see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub tracking: String,
    pub service_code: String,
    pub service_name: String,
    pub category: ServiceCategory,
    pub description: String,
    pub region: String,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub wanted_at: Option<OffsetDateTime>,
    pub contact: ContactView,
    /// The site that received it.
    pub site: i64,
    pub status: OrderStatus,
    pub holder: HolderView,
    pub dispatcher: Option<i64>,
    /// When it escalates if nobody takes it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    pub note: Option<String>,
    pub report: Option<String>,
    pub rating: Option<i16>,
    pub comment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub version: i64,
}

fn order_view(o: OrderRecord) -> OrderView {
    let n = o.order.need;
    OrderView {
        id: o.id,
        tracking: o.order.tracking,
        service_code: n.service_code,
        service_name: n.service_name,
        category: n.category,
        description: n.description,
        region: n.region.to_string(),
        address: n.address,
        location: n.location,
        wanted_at: n.wanted_at,
        contact: ContactView {
            name: n.contact_name,
            phone: n.contact_phone,
        },
        site: o.order.site.0,
        status: o.state.status,
        holder: HolderView {
            kind: o.state.holder.kind(),
            id: o.state.holder.id(),
        },
        dispatcher: o.state.dispatcher.map(|d| d.0),
        due_at: o.due_at,
        note: o.note,
        report: o.report,
        rating: o.rating,
        comment: o.comment,
        created_at: o.order.created_at,
        accepted_at: o.accepted_at,
        completed_at: o.completed_at,
        version: o.version,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrderList {
    /// Orders received by this site.
    pub site: Option<i64>,
    /// Orders received or held by this site: everything on its desk. The default for
    /// staff of one site who name no other filter.
    pub at_site: Option<i64>,
    /// Orders held by this site, team or volunteer (number).
    pub held_by_site: Option<i64>,
    pub held_by_org: Option<i64>,
    pub held_by_volunteer: Option<String>,
    /// Orders whose place is in this region subtree (jurisdictions).
    pub region: Option<String>,
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Orders for those who handle them: a site's, a team's, a volunteer's, a jurisdiction's.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(OrderList),
    responses((status = 200, body = PageView<OrderView>), (status = 403, body = ErrorBody)))]
pub async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<OrderList>,
) -> ApiResult<Json<PageView<OrderView>>> {
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let holder = match (q.held_by_site, q.held_by_org, &q.held_by_volunteer) {
        (Some(s), _, _) => Some(Holder::Site(SiteId(s))),
        (_, Some(o), _) => Some(Holder::Org(OrgId(o))),
        (_, _, Some(v)) => {
            let number = crate::routes::volunteers::parse_number(v)?;
            let v = state.app.get_volunteer(&caller.ctx, number).await?;
            Some(Holder::Volunteer(v.id))
        }
        _ => None,
    };
    let query = OrderQuery {
        site: q.site.map(SiteId),
        at_site: q.at_site.map(SiteId),
        holder,
        status: q
            .status
            .as_deref()
            .map(|s| {
                OrderStatus::parse(s).ok_or_else(|| {
                    ApiError::one_of("status", &OrderStatus::ALL.map(OrderStatus::as_str))
                })
            })
            .transpose()?,
        within: q
            .region
            .as_deref()
            .map(|r| RegionCode::parse(r).map_err(|e| ApiError::from(e.at("region"))))
            .transpose()?,
    };
    let result = state.app.list_orders(&caller.ctx, &query, &page).await?;
    Ok(Json(PageView::from_page(result, order_view)))
}

/// An order, for those who handle it (with the requester's contact).
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<OrderView>> {
    Ok(Json(order_view(
        state.app.get_order(&caller.ctx, id).await?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarryOut {
    /// When it starts (RFC 3339); defaults to the time the requester wanted.
    #[serde(default, deserialize_with = "crate::extract::rfc3339_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<OffsetDateTime>,
    /// Volunteers needed.
    pub capacity: i64,
    #[serde(default = "default_position")]
    pub position: String,
    /// The person responsible (Art. 7), named on the records.
    pub responsible_person: String,
}

fn default_position() -> String {
    "志愿者".into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    pub order: i64,
    pub project: i64,
    pub shift: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub capacity: i64,
}

/// The team that accepted an order carries it out as an activity: a published project
/// with one shift (sign-ups approved by the team), whose attendance records the hours.
/// The project shows the menu's description and the site's address, never the
/// requester's.
#[utoipa::path(post, path = "/api/v1/orders/{id}/activity", tag = "orders",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = CarryOut,
    responses((status = 201, body = ActivityView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn carry_out(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<CarryOut>,
) -> ApiResult<(StatusCode, Json<ActivityView>)> {
    let (project, shift) = state
        .app
        .carry_out_order(
            &caller.ctx,
            id,
            ActivityInput {
                starts_at: b.starts_at,
                capacity: b.capacity,
                position: b.position,
                responsible_person: b.responsible_person,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ActivityView {
            order: id,
            project: project.id.0,
            shift: shift.id.0,
            starts_at: shift.shift.starts_at,
            ends_at: shift.shift.ends_at,
            capacity: shift.shift.capacity,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidatesQuery {
    /// Search radius around the need in metres (100 to 30,000; default 10,000).
    pub radius_m: Option<f64>,
    /// Skills asked for on top of those the service requires, comma-separated.
    pub skills: Option<String>,
    /// How many of each kind (1 to 100; default 20).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VolunteerCandidateView {
    pub number: String,
    pub name: String,
    pub distance_m: f64,
    pub score: Score,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamCandidateView {
    pub id: i64,
    pub name: String,
    pub region: String,
    pub score: Score,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidatesView {
    pub order: i64,
    /// The need's place (or its receiving site's when it gave none).
    pub place: GeoPoint,
    pub radius_m: f64,
    /// Every one of these is required of a volunteer.
    pub skills: Vec<String>,
    /// Whether volunteers under 18 were considered (the service allows them).
    pub minors_allowed: bool,
    /// Best first, each score with its terms.
    pub volunteers: Vec<VolunteerCandidateView>,
    pub teams: Vec<TeamCandidateView>,
}

/// Ranked candidates for dispatching an order: volunteers whose service area lies within
/// the radius and who have every required skill (adults only unless the service allows
/// minors), and the teams of the need's county; every score is explained term by term.
#[utoipa::path(get, path = "/api/v1/orders/{id}/candidates", tag = "orders",
    security(("bearer" = [])), params(("id" = i64, Path), CandidatesQuery),
    responses((status = 200, body = CandidatesView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn candidates(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<CandidatesQuery>,
) -> ApiResult<Json<CandidatesView>> {
    let mut req = CandidateRequest::default();
    if let Some(r) = q.radius_m {
        req.radius_m = r;
    }
    if let Some(l) = q.limit {
        req.limit = l;
    }
    if let Some(skills) = q.skills {
        let list: Vec<String> = skills
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .collect();
        req.skills = zhiyuan_domain::category::parse_skills(&list)
            .map_err(|e| ApiError::from(e.at("skills")))?;
    }
    let c = state.app.order_candidates(&caller.ctx, id, req).await?;
    let (mut volunteers, mut teams) = (Vec::new(), Vec::new());
    for candidate in c.volunteers.into_iter().chain(c.teams) {
        match candidate.who {
            CandidateKind::Volunteer {
                number,
                name,
                distance_m,
                ..
            } => volunteers.push(VolunteerCandidateView {
                number: number.to_string(),
                name,
                distance_m,
                score: candidate.score,
            }),
            CandidateKind::Team { id, name, region } => teams.push(TeamCandidateView {
                id: id.0,
                name,
                region: region.to_string(),
                score: candidate.score,
            }),
        }
    }
    Ok(Json(CandidatesView {
        order: c.order,
        place: c.place,
        radius_m: c.radius_m,
        skills: c.skills,
        minors_allowed: c.minors_allowed,
        volunteers,
        teams,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendee {
    pub volunteer: String,
    pub minutes: i64,
}

/// The actions of [`OrderActionBody`], as `act_on_order` matches them.
const ORDER_ACTIONS: [&str; 11] = [
    "verify", "refuse", "assign", "offer", "accept", "grab", "decline", "escalate", "recall",
    "complete", "cancel",
];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderActionBody {
    /// `verify`, `refuse`, `assign`, `offer`, `accept`, `grab`, `decline`, `escalate`,
    /// `recall`, `complete` or `cancel`.
    pub action: String,
    /// For `assign`: one of the three.
    pub to_site: Option<i64>,
    pub to_org: Option<i64>,
    pub to_volunteer: Option<String>,
    /// For `offer`: the region offered to (default: the site's own).
    pub area: Option<String>,
    /// For `grab`: the team taking it (absent: the signed-in volunteer).
    pub org: Option<i64>,
    /// For `complete`: what was done.
    pub report: Option<String>,
    /// For `complete` by a team: who served and how long; each becomes a service record
    /// of the team.
    #[serde(default)]
    pub attendees: Vec<Attendee>,
    /// For `complete` with attendees: the person responsible (Art. 7).
    pub responsible_person: Option<String>,
    /// Required for `refuse`, `decline`, `escalate` and `cancel`; the requester sees it.
    pub reason: Option<String>,
    pub version: Option<i64>,
}

/// Moves an order: the site verifies or refuses the need (制单), assigns it down or
/// offers it (派单), the assignee accepts, declines or escalates, a team or volunteer
/// grabs an offered order (exactly one wins), the dispatcher recalls it, the taker
/// completes it (接单), a handler cancels it. Every move is audited with its reason.
#[utoipa::path(post, path = "/api/v1/orders/{id}/actions", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = OrderActionBody,
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody),
        (status = 409, description = "not allowed in this state, or moved meanwhile", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<OrderActionBody>,
) -> ApiResult<Json<OrderView>> {
    let command = match b.action.as_str() {
        "verify" => OrderCommand::Verify,
        "refuse" => OrderCommand::Refuse,
        "assign" => match (b.to_site, b.to_org, &b.to_volunteer) {
            (Some(s), None, None) => OrderCommand::AssignSite(SiteId(s)),
            (None, Some(o), None) => OrderCommand::AssignOrg(OrgId(o)),
            (None, None, Some(v)) => OrderCommand::AssignVolunteer(
                VolunteerNumber::parse(v).map_err(|e| ApiError::from(e.at("to_volunteer")))?,
            ),
            _ => {
                return Err(FieldError::because(
                    "to_site",
                    Reason::exactly_one_of(&["to_site", "to_org", "to_volunteer"]),
                )
                .into());
            }
        },
        "offer" => OrderCommand::Offer(
            b.area
                .as_deref()
                .map(|r| RegionCode::parse(r).map_err(|e| ApiError::from(e.at("area"))))
                .transpose()?,
        ),
        "accept" => OrderCommand::Accept,
        "grab" => OrderCommand::Grab(b.org.map(OrgId)),
        "decline" => OrderCommand::Decline,
        "escalate" => OrderCommand::Escalate,
        "recall" => OrderCommand::Recall,
        "complete" => OrderCommand::Complete(Completion {
            report: b
                .report
                .ok_or_else(|| FieldError::because("report", Reason::Required))?,
            attendees: b
                .attendees
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    VolunteerNumber::parse(&a.volunteer)
                        .map(|n| (n, a.minutes))
                        .map_err(|e| ApiError::from(e.at(format!("attendees[{i}].volunteer"))))
                })
                .collect::<Result<_, _>>()?,
            responsible_person: b.responsible_person,
        }),
        "cancel" => OrderCommand::Cancel,
        _ => return Err(ApiError::one_of("action", &ORDER_ACTIONS)),
    };
    let o = state
        .app
        .act_on_order(&caller.ctx, id, command, b.reason, b.version)
        .await?;
    Ok(Json(order_view(o)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    pub orders: i64,
    pub accepted: i64,
    pub completed: i64,
    pub rated: i64,
    /// Mean satisfaction, 1 to 5.
    pub mean_rating: Option<f64>,
    /// Mean hours from receipt to acceptance and to completion.
    pub mean_hours_to_accept: Option<f64>,
    pub mean_hours_to_complete: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteStatsView {
    pub site: i64,
    #[serde(flatten)]
    pub stats: StatsView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderStatsView {
    /// The jurisdiction as a whole.
    pub total: StatsView,
    pub sites: Vec<SiteStatsView>,
}

fn stats_view(s: &OrderStats) -> StatsView {
    StatsView {
        orders: s.orders,
        accepted: s.accepted,
        completed: s.completed,
        rated: s.rated,
        mean_rating: s.mean_rating,
        mean_hours_to_accept: s.mean_secs_to_accept.map(|x| x / 3600.0),
        mean_hours_to_complete: s.mean_secs_to_complete.map(|x| x / 3600.0),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    pub region: String,
}

/// Satisfaction, time to accept and time to complete per site of a jurisdiction, and
/// rolled up for the jurisdiction.
#[utoipa::path(get, path = "/api/v1/order-stats", tag = "orders", security(("bearer" = [])),
    params(StatsQuery),
    responses((status = 200, body = OrderStatsView), (status = 403, body = ErrorBody)))]
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Json<OrderStatsView>> {
    let region = RegionCode::parse(&q.region).map_err(|e| ApiError::from(e.at("region")))?;
    let (total, sites) = state.app.order_stats(&caller.ctx, region).await?;
    Ok(Json(OrderStatsView {
        total: stats_view(&total),
        sites: sites
            .iter()
            .map(|s| SiteStatsView {
                site: s.site.0,
                stats: stats_view(&s.stats),
            })
            .collect(),
    }))
}
