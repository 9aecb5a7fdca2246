//! Volunteers: self-registration, profile, corrections, listing by jurisdiction.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::Invalid;
use zhiyuan_domain::category::{parse_categories, parse_skills};
use zhiyuan_domain::matching::{Availability, ServiceArea};
use zhiyuan_domain::person::{parse_person_name, parse_phone};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::registration::{GuardianDraft, Registration, RegistrationDraft};
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_service::VolunteerPatch;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, page};
use crate::views::{MembershipView, PageView, VolunteerView};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdDocumentInput {
    /// `mainland_id`, `residence_permit`, `travel_permit`, `hk_id`, `macau_id` or `passport`.
    #[serde(rename = "type")]
    pub kind: String,
    pub number: String,
    /// ISO 3166-1 alpha-3 issuing country, for passports.
    pub country: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardianInput {
    pub name: String,
    pub phone: String,
    /// When the guardian consented (RFC 3339).
    pub consented_at: String,
}

/// Self-registration (Art. 5 of the national record rules).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterVolunteer {
    pub name: String,
    /// `male` or `female`, as on the identity document.
    pub gender: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub id_document: IdDocumentInput,
    /// Region code where the volunteer lives.
    pub residence_region: String,
    pub phone: String,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub service_categories: Vec<String>,
    pub password: String,
    /// The privacy policy version the volunteer accepted.
    pub privacy_consent_version: String,
    /// Required from 14 to 17 years of age.
    pub guardian: Option<GuardianInput>,
}

/// Registers a volunteer and their login (the volunteer number). Nothing is written
/// unless every field is valid.
#[utoipa::path(post, path = "/api/v1/volunteers", tag = "volunteers",
    request_body = RegisterVolunteer,
    responses((status = 201, body = VolunteerView),
        (status = 400, description = "malformed JSON", body = ErrorBody),
        (status = 409, description = "document already registered", body = ErrorBody),
        (status = 413, description = "body too large", body = ErrorBody),
        (status = 422, description = "invalid fields, each named", body = ErrorBody)))]
pub async fn register_volunteer(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<RegisterVolunteer>,
) -> ApiResult<impl IntoResponse> {
    let draft = RegistrationDraft {
        name: &b.name,
        gender: &b.gender,
        birth_date: &b.birth_date,
        document_kind: &b.id_document.kind,
        document_number: &b.id_document.number,
        document_country: b.id_document.country.as_deref(),
        residence_region: &b.residence_region,
        phone: &b.phone,
        skills: &b.skills,
        service_categories: &b.service_categories,
        password: &b.password,
        privacy_consent_version: &b.privacy_consent_version,
        guardian: b.guardian.as_ref().map(|g| GuardianDraft {
            name: &g.name,
            phone: &g.phone,
            consented_at: &g.consented_at,
        }),
    };
    let registration = Registration::validate(&draft, caller.ctx.now)
        .map_err(zhiyuan_service::ServiceError::from)?;
    let v = state
        .app
        .register_volunteer(&caller.ctx, registration)
        .await?;
    let location = format!("/api/v1/volunteers/{}", v.number);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(VolunteerView::from(v)),
    ))
}

pub(crate) fn parse_number(s: &str) -> ApiResult<VolunteerNumber> {
    VolunteerNumber::parse(s).map_err(|e| ApiError::from(e.at("number")))
}

/// A volunteer's profile: for the volunteer, their teams and their jurisdiction.
#[utoipa::path(get, path = "/api/v1/volunteers/{number}", tag = "volunteers",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "volunteer number")),
    responses((status = 200, body = VolunteerView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_volunteer(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<VolunteerView>> {
    let number = parse_number(&number)?;
    let (v, recognised) = state.app.volunteer_profile(&caller.ctx, number).await?;
    let mut view = VolunteerView::from(v);
    view.recognised_hours = Some(zhiyuan_domain::hours::hours(recognised.minutes));
    Ok(Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVolunteer {
    /// Corrected by the jurisdiction only.
    pub name: Option<String>,
    pub residence_region: Option<String>,
    pub phone: Option<String>,
    pub skills: Option<Vec<String>>,
    pub service_categories: Option<Vec<String>>,
    /// Where and when the volunteer may be proposed for orders (opt-in); `null` withdraws.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ServiceAreaInput>, nullable)]
    pub service_area: Option<Option<ServiceAreaInput>>,
    /// Required when someone other than the volunteer makes the change.
    pub reason: Option<String>,
    /// The version the change is based on; a stale one is refused with 409.
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAreaInput {
    /// The point to measure distance from (near home or work, as the volunteer likes).
    pub location: GeoPoint,
    /// When usually free: `mon`..`sun`, `weekday`, `weekend` or `daily`, then `-morning`
    /// (06–12), `-afternoon` (12–18) or `-evening` (18–22), China time.
    #[serde(default)]
    pub availability: Vec<String>,
}

/// A field given as `null` is `Some(None)`; absent, `None` (with `#[serde(default)]`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Changes a profile; every change is audited with who, when and why.
#[utoipa::path(patch, path = "/api/v1/volunteers/{number}", tag = "volunteers",
    security(("bearer" = [])), request_body = UpdateVolunteer,
    params(("number" = String, Path, description = "volunteer number")),
    responses((status = 200, body = VolunteerView),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_volunteer(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Json(b): Json<UpdateVolunteer>,
) -> ApiResult<Json<VolunteerView>> {
    let number = parse_number(&number)?;
    let mut errors = Invalid::default();
    let at = |field: &'static str| move |e: zhiyuan_domain::FieldError| e.under(field);
    let patch = VolunteerPatch {
        name: b
            .name
            .map(|n| errors.check(parse_person_name(&n).map_err(at("name"))))
            .unwrap_or_default(),
        residence_region: b
            .residence_region
            .map(|r| errors.check(RegionCode::parse(&r).map_err(at("residence_region"))))
            .unwrap_or_default(),
        phone: b
            .phone
            .map(|p| errors.check(parse_phone(&p).map_err(at("phone"))))
            .unwrap_or_default(),
        skills: b
            .skills
            .map(|s| errors.check(parse_skills(&s).map_err(at("skills"))))
            .unwrap_or_default(),
        service_categories: b
            .service_categories
            .map(|c| errors.check(parse_categories(&c).map_err(at("service_categories"))))
            .unwrap_or_default(),
        service: b.service_area.map(|area| {
            area.and_then(|a| {
                let location = errors.check(
                    GeoPoint::parse(a.location.lat, a.location.lng)
                        .map_err(|e| e.under("location").under("service_area")),
                );
                let availability = errors.check(
                    Availability::parse(&a.availability)
                        .map_err(|e| e.under("availability").under("service_area")),
                );
                Some(ServiceArea {
                    location: location?,
                    availability: availability?,
                })
            })
        }),
        reason: b.reason,
        version: b.version,
    };
    if !errors.is_empty() {
        return Err(zhiyuan_service::ServiceError::from(errors).into());
    }
    let v = state
        .app
        .update_volunteer(&caller.ctx, number, patch)
        .await?;
    Ok(Json(v.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListVolunteers {
    /// Region subtree; defaults to the caller's only jurisdiction.
    pub within: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Volunteers living in a region subtree, for its admins and auditors.
#[utoipa::path(get, path = "/api/v1/volunteers", tag = "volunteers",
    security(("bearer" = [])), params(ListVolunteers),
    responses((status = 200, body = PageView<VolunteerView>),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_volunteers(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListVolunteers>,
) -> ApiResult<Json<PageView<VolunteerView>>> {
    let within = q
        .within
        .as_deref()
        .map(RegionCode::parse)
        .transpose()
        .map_err(|e| ApiError::from(e.at("within")))?;
    let page = page(q.cursor.as_deref(), q.limit, 2)?;
    let result = state
        .app
        .list_volunteers(&caller.ctx, within, &page)
        .await?;
    Ok(Json(PageView::from_page(result, VolunteerView::from)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageOnly {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The teams a volunteer belongs to or applied to.
#[utoipa::path(get, path = "/api/v1/volunteers/{number}/memberships", tag = "memberships",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "volunteer number"), PageOnly),
    responses((status = 200, body = PageView<MembershipView>),
        (status = 403, body = ErrorBody)))]
pub async fn list_volunteer_memberships(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(q): Query<PageOnly>,
) -> ApiResult<Json<PageView<MembershipView>>> {
    let number = parse_number(&number)?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .list_volunteer_memberships(&caller.ctx, number, &page)
        .await?;
    Ok(Json(PageView::from_page(result, MembershipView::from)))
}
