//! Corrections (Art. 13), record history, and training, award and evaluation entries.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::Invalid;
use zhiyuan_domain::ids::OrgId;
use zhiyuan_domain::registration::parse_date;
use zhiyuan_domain::site::parse_text;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_service::ServiceError;
use zhiyuan_store::{
    CorrectionId, CorrectionRecord, CorrectionStatus, EntryKind, EntryRecord, NewEntry,
    RecordChanges, RecordId,
};

use crate::AppState;
use crate::activity_views::RecordView;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, page};
use crate::routes::volunteers::{PageOnly, parse_number};
use crate::views::PageView;

/// Fields of a service record; in a correction only those to change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordFields {
    pub activity_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub service_date: Option<String>,
    pub place: Option<String>,
    pub content: Option<String>,
    pub minutes: Option<i64>,
    pub responsible_person: Option<String>,
}

impl RecordFields {
    fn parse(self, under: &str) -> Result<RecordChanges, ServiceError> {
        let mut e = Invalid::default();
        let text = |e: &mut Invalid, f: &str, v: Option<String>, max| {
            v.map(|s| e.check(parse_text(&s, max).map_err(|x| x.under(&format!("{under}.{f}")))))
                .unwrap_or_default()
        };
        let changes = RecordChanges {
            activity_name: text(&mut e, "activity_name", self.activity_name, 100),
            service_date: self
                .service_date
                .map(|d| {
                    e.check(parse_date(&d).map_err(|x| x.under(&format!("{under}.service_date"))))
                })
                .unwrap_or_default(),
            place: text(&mut e, "place", self.place, 200),
            content: text(&mut e, "content", self.content, 500),
            minutes: self.minutes,
            responsible_person: text(&mut e, "responsible_person", self.responsible_person, 50),
        };
        if e.is_empty() {
            Ok(changes)
        } else {
            Err(e.into())
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionView {
    pub id: i64,
    /// The disputed record; absent for a reported omission.
    pub record: Option<i64>,
    pub volunteer: i64,
    pub organisation: i64,
    pub reason: String,
    /// The proposed fields.
    #[schema(value_type = Object)]
    pub proposed: serde_json::Value,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub decision_note: Option<String>,
    /// The record version the approval produced.
    pub result: Option<i64>,
}

impl From<CorrectionRecord> for CorrectionView {
    fn from(c: CorrectionRecord) -> Self {
        Self {
            id: c.id.0,
            record: c.correction.record.map(|r| r.0),
            volunteer: c.correction.volunteer.0,
            organisation: c.correction.org.0,
            reason: c.correction.reason,
            proposed: serde_json::to_value(&c.correction.proposed).unwrap_or_default(),
            status: c.status.as_str().to_owned(),
            created_at: c.correction.created_at,
            decided_at: c.decided_at,
            decision_note: c.decision_note,
            result: c.result.map(|r| r.0),
        }
    }
}

fn reason(s: &str) -> Result<String, ServiceError> {
    parse_text(s, 500)
        .map_err(|e| e.under("reason"))
        .map_err(ServiceError::from)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCorrection {
    pub reason: String,
    pub changes: RecordFields,
}

/// The volunteer disputes one of their records, proposing the fields to change.
#[utoipa::path(post, path = "/api/v1/records/{id}/corrections", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = RequestCorrection,
    responses((status = 201, body = CorrectionView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_correction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<RequestCorrection>,
) -> ApiResult<(StatusCode, Json<CorrectionView>)> {
    let reason = reason(&b.reason)?;
    let changes = b.changes.parse("changes")?;
    let c = state
        .app
        .request_correction(&caller.ctx, RecordId(id), reason, changes)
        .await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportOmission {
    pub reason: String,
    /// The whole missing record.
    pub record: RecordFields,
}

/// The volunteer reports a record the team never made.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/omissions", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = ReportOmission,
    responses((status = 201, body = CorrectionView), (status = 422, body = ErrorBody)))]
pub async fn report_omission(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<ReportOmission>,
) -> ApiResult<(StatusCode, Json<CorrectionView>)> {
    let reason = reason(&b.reason)?;
    let record = b.record.parse("record")?;
    let c = state
        .app
        .report_omission(&caller.ctx, OrgId(id), reason, record)
        .await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideCorrection {
    pub approve: bool,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionDecision {
    pub correction: CorrectionView,
    /// The new record version, when approved.
    pub record: Option<RecordView>,
}

/// The recording unit approves (adding a version) or rejects a correction.
#[utoipa::path(post, path = "/api/v1/corrections/{id}/decision", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = DecideCorrection,
    responses((status = 200, body = CorrectionDecision), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn decide_correction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<DecideCorrection>,
) -> ApiResult<Json<CorrectionDecision>> {
    let out = state
        .app
        .decide_correction(&caller.ctx, CorrectionId(id), b.approve, b.note)
        .await?;
    Ok(Json(CorrectionDecision {
        correction: out.correction.into(),
        record: out.record.map(RecordView::from),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListCorrections {
    /// `pending`, `approved` or `rejected`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A team's corrections, newest first.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/corrections", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path), ListCorrections),
    responses((status = 200, body = PageView<CorrectionView>), (status = 403, body = ErrorBody)))]
pub async fn org_corrections(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<ListCorrections>,
) -> ApiResult<Json<PageView<CorrectionView>>> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            CorrectionStatus::parse(s).ok_or_else(|| {
                ApiError::one_of(
                    "status",
                    &CorrectionStatus::ALL.map(CorrectionStatus::as_str),
                )
            })
        })
        .transpose()?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .org_corrections(&caller.ctx, OrgId(id), status, &page)
        .await?;
    Ok(Json(PageView::from_page(result, CorrectionView::from)))
}

/// A volunteer's corrections, newest first.
#[utoipa::path(get, path = "/api/v1/volunteers/{number}/corrections", tag = "records",
    security(("bearer" = [])), params(("number" = String, Path), PageOnly),
    responses((status = 200, body = PageView<CorrectionView>), (status = 403, body = ErrorBody)))]
pub async fn volunteer_corrections(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(q): Query<PageOnly>,
) -> ApiResult<Json<PageView<CorrectionView>>> {
    let number = parse_number(&number)?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .volunteer_corrections(&caller.ctx, number, &page)
        .await?;
    Ok(Json(PageView::from_page(result, CorrectionView::from)))
}

/// Every version of a record, oldest first (nothing is ever deleted).
#[utoipa::path(get, path = "/api/v1/records/{id}/history", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RecordView>), (status = 403, body = ErrorBody)))]
pub async fn record_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<RecordView>>> {
    let versions = state.app.record_history(&caller.ctx, RecordId(id)).await?;
    Ok(Json(versions.into_iter().map(RecordView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEntry {
    /// `training` (Art. 8), `award` (Art. 9) or `evaluation` (Art. 10).
    pub kind: String,
    pub volunteer: String,
    pub name: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default)]
    pub content: String,
    /// A training's duration.
    pub duration_minutes: Option<i64>,
    /// The organiser, granting body or evaluating unit.
    pub issuer: String,
    /// An evaluation's rating, e.g. 优秀.
    pub rating: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub id: i64,
    pub kind: String,
    pub organisation: i64,
    pub name: String,
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub content: String,
    pub duration_minutes: Option<i64>,
    pub issuer: String,
    pub rating: Option<String>,
}

impl From<EntryRecord> for EntryView {
    fn from(e: EntryRecord) -> Self {
        Self {
            id: e.id.0,
            kind: e.entry.kind.as_str().to_owned(),
            organisation: e.entry.org.0,
            name: e.entry.name,
            date: e.entry.date,
            content: e.entry.content,
            duration_minutes: e.entry.duration_minutes,
            issuer: e.entry.issuer,
            rating: e.entry.rating,
        }
    }
}

/// The team records a training, award or evaluation for a volunteer.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/entries", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = CreateEntry,
    responses((status = 201, body = EntryView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<CreateEntry>,
) -> ApiResult<(StatusCode, Json<EntryView>)> {
    let mut e = Invalid::default();
    let kind = EntryKind::parse(&b.kind);
    if kind.is_none() {
        e.push(zhiyuan_domain::FieldError::because(
            "kind",
            zhiyuan_domain::Reason::one_of(&EntryKind::ALL.map(EntryKind::as_str)),
        ));
    }
    let volunteer = e.check(VolunteerNumber::parse(&b.volunteer).map_err(|x| x.under("volunteer")));
    let name = e.check(parse_text(&b.name, 100).map_err(|x| x.under("name")));
    let date = e.check(parse_date(&b.date).map_err(|x| x.under("date")));
    let issuer = e.check(parse_text(&b.issuer, 100).map_err(|x| x.under("issuer")));
    let (Some(kind), Some(volunteer), Some(name), Some(date), Some(issuer)) =
        (kind, volunteer, name, date, issuer)
    else {
        return Err(ServiceError::from(e).into());
    };
    let entry = NewEntry {
        kind,
        volunteer: zhiyuan_domain::ids::VolunteerId(0),
        org: OrgId(id),
        name,
        date,
        content: b.content.trim().to_owned(),
        duration_minutes: b.duration_minutes,
        issuer,
        rating: b.rating,
        created_at: OffsetDateTime::now_utc(),
        created_by: None,
    };
    let r = state
        .app
        .add_entry(&caller.ctx, OrgId(id), volunteer, entry)
        .await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEntries {
    pub kind: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A volunteer's trainings, awards and evaluations, newest first.
#[utoipa::path(get, path = "/api/v1/volunteers/{number}/entries", tag = "records",
    security(("bearer" = [])), params(("number" = String, Path), ListEntries),
    responses((status = 200, body = PageView<EntryView>), (status = 403, body = ErrorBody)))]
pub async fn volunteer_entries(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(q): Query<ListEntries>,
) -> ApiResult<Json<PageView<EntryView>>> {
    let number = parse_number(&number)?;
    let kind = q
        .kind
        .as_deref()
        .map(|k| {
            EntryKind::parse(k)
                .ok_or_else(|| ApiError::one_of("kind", &EntryKind::ALL.map(EntryKind::as_str)))
        })
        .transpose()?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .volunteer_entries(&caller.ctx, number, kind, &page)
        .await?;
    Ok(Json(PageView::from_page(result, EntryView::from)))
}
