//! Taking part: sign-ups, attendance codes, check-in and check-out, reported time,
//! records and totals.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::ids::OrgId;
use zhiyuan_domain::lang::Lang;
use zhiyuan_domain::project::SignupStatus;
use zhiyuan_domain::registration::parse_date;
use zhiyuan_domain::site::{GeoPoint, parse_text};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_service::{Entry, Presence, SelfReport, ServiceError, TableFormat};
use zhiyuan_store::{RecordId, RecordStatus, ShiftId, SignupId};

use crate::AppState;
use crate::activity_views::{
    AttendanceView, RecordView, ShiftView, SignupItem, SignupView, TotalsView,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Language, Query, page};
use crate::routes::volunteers::{PageOnly, parse_number};
use crate::views::PageView;

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    pub signup: SignupView,
    /// Things to know, e.g. an overlapping shift.
    pub warnings: Vec<String>,
}

/// The signed-in volunteer signs up: a place if one is free (or pending approval), else
/// the waitlist.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/signups", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 201, body = SignupResponse),
        (status = 409, description = "full of conditions, cancelled, past, or already signed up", body = ErrorBody)))]
pub async fn sign_up(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<SignupResponse>)> {
    let out = state.app.sign_up(&caller.ctx, ShiftId(id)).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            signup: out.signup.into(),
            warnings: out.warnings,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListSignups {
    pub status: Option<SignupStatus>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A shift's sign-ups, for the team.
#[utoipa::path(get, path = "/api/v1/shifts/{id}/signups", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path), ListSignups),
    responses((status = 200, body = PageView<SignupView>), (status = 403, body = ErrorBody)))]
pub async fn list_signups(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<ListSignups>,
) -> ApiResult<Json<PageView<SignupView>>> {
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .list_shift_signups(&caller.ctx, ShiftId(id), q.status, &page)
        .await?;
    Ok(Json(PageView::from_page(result, SignupView::from)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelResponse {
    pub cancelled: SignupView,
    /// Who took free places from the waitlist, in its order: the place freed, and any
    /// freed earlier without promotion (as by an absence). Empty if nobody was waiting;
    /// absent when a volunteer withdraws their own sign-up (who took the place is the
    /// team's to see, not theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promoted: Option<Vec<SignupView>>,
}

/// Cancels a sign-up (the volunteer before the shift, the team before its end).
#[utoipa::path(post, path = "/api/v1/signups/{id}/cancel", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = Reason,
    responses((status = 200, body = CancelResponse), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn cancel_signup(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Reason>,
) -> ApiResult<Json<CancelResponse>> {
    let (cancelled, promoted) = state
        .app
        .cancel_signup(&caller.ctx, SignupId(id), b.reason)
        .await?;
    Ok(Json(CancelResponse {
        cancelled: cancelled.into(),
        promoted: promoted.map(|p| p.into_iter().map(SignupView::from).collect()),
    }))
}

/// Marks a volunteer who held a place and did not come absent (the team, once the shift
/// has started): no record is owed for them.
#[utoipa::path(post, path = "/api/v1/signups/{id}/absence", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = Reason,
    responses((status = 200, body = SignupView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn mark_absent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Reason>,
) -> ApiResult<Json<SignupView>> {
    let signup = state
        .app
        .mark_absent(&caller.ctx, SignupId(id), b.reason)
        .await?;
    Ok(Json(signup.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WithdrawAbsence {
    /// Why the absence is withdrawn (kept in the audit trail).
    pub reason: Option<String>,
}

/// Withdraws an absence marked in error (the team): the sign-up is accepted again and
/// takes its place back, so the volunteer can check in and is owed a record.
#[utoipa::path(delete, path = "/api/v1/signups/{id}/absence", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path), WithdrawAbsence),
    responses((status = 200, body = SignupView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn withdraw_absence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<WithdrawAbsence>,
) -> ApiResult<Json<SignupView>> {
    let signup = state
        .app
        .withdraw_absence(&caller.ctx, SignupId(id), q.reason)
        .await?;
    Ok(Json(signup.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub accept: bool,
    pub reason: Option<String>,
}

/// The team accepts (a place, or the waitlist when full) or rejects a pending sign-up.
#[utoipa::path(post, path = "/api/v1/signups/{id}/decision", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = Decision,
    responses((status = 200, body = SignupView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn decide_signup(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Decision>,
) -> ApiResult<Json<SignupView>> {
    Ok(Json(
        state
            .app
            .decide_signup(&caller.ctx, SignupId(id), b.accept, b.reason)
            .await?
            .into(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeView {
    /// Show as a QR code; it rotates every minute.
    pub code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The site's current check-in code for a shift (team and site staff display it).
#[utoipa::path(get, path = "/api/v1/shifts/{id}/code", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = CodeView), (status = 403, body = ErrorBody)))]
pub async fn shift_code(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<CodeView>> {
    let (code, expires_at) = state.app.shift_code(&caller.ctx, ShiftId(id)).await?;
    Ok(Json(CodeView { code, expires_at }))
}

/// The signed-in volunteer's current personal code, for a coordinator to scan.
#[utoipa::path(get, path = "/api/v1/me/code", tag = "participation",
    security(("bearer" = [])),
    responses((status = 200, body = CodeView), (status = 403, body = ErrorBody)))]
pub async fn my_code(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<CodeView>> {
    let (code, expires_at) = state.app.my_code(&caller.ctx)?;
    Ok(Json(CodeView { code, expires_at }))
}

/// Proof of presence: exactly one of `code` (the site's code, scanned by the volunteer,
/// with `location` when the project checks it), `volunteer_code` (scanned by a
/// coordinator) or `volunteer` (a number, entered by a coordinator).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceInput {
    pub code: Option<String>,
    pub location: Option<GeoPoint>,
    pub volunteer_code: Option<String>,
    pub volunteer: Option<String>,
}

impl PresenceInput {
    fn into_presence(self) -> ApiResult<Presence> {
        match (self.code, self.volunteer_code, self.volunteer) {
            (Some(code), None, None) => Ok(Presence::SiteCode {
                code,
                location: self
                    .location
                    .map(|p| GeoPoint::parse(p.lat, p.lng).map_err(|e| e.under("location")))
                    .transpose()
                    .map_err(ServiceError::from)?,
            }),
            (None, Some(code), None) => Ok(Presence::VolunteerCode { code }),
            (None, None, Some(n)) => Ok(Presence::Coordinator {
                volunteer: VolunteerNumber::parse(&n)
                    .map_err(|e| ApiError::from(e.at("volunteer")))?,
            }),
            _ => Err(zhiyuan_domain::FieldError::because(
                "code",
                zhiyuan_domain::Reason::exactly_one_of(&["code", "volunteer_code", "volunteer"]),
            )
            .into()),
        }
    }
}

/// Checks in: 201 the first time, 200 when repeated (nothing changes).
#[utoipa::path(post, path = "/api/v1/shifts/{id}/check-in", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = PresenceInput,
    responses((status = 201, body = AttendanceView),
        (status = 200, description = "already checked in", body = AttendanceView),
        (status = 409, description = "no accepted sign-up, or outside the window", body = ErrorBody),
        (status = 422, description = "expired or forged code, outside the geofence", body = ErrorBody)))]
pub async fn check_in(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<PresenceInput>,
) -> ApiResult<(StatusCode, Json<AttendanceView>)> {
    let out = state
        .app
        .check_in(&caller.ctx, ShiftId(id), b.into_presence()?)
        .await?;
    let status = if out.changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(out.attendance.into())))
}

/// Checks out and records the time given; repeating it changes nothing.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/check-out", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = PresenceInput,
    responses((status = 200, body = AttendanceView),
        (status = 409, description = "not checked in", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn check_out(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<PresenceInput>,
) -> ApiResult<Json<AttendanceView>> {
    let out = state
        .app
        .check_out(&caller.ctx, ShiftId(id), b.into_presence()?)
        .await?;
    Ok(Json(out.attendance.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportTime {
    pub minutes: i64,
    /// What was done.
    pub content: String,
}

/// The volunteer reports time for a shift without attendance; it counts once approved.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/reports", tag = "participation",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = ReportTime,
    responses((status = 201, body = RecordView), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn report_time(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<ReportTime>,
) -> ApiResult<(StatusCode, Json<RecordView>)> {
    let content = parse_text(&b.content, 500)
        .map_err(|e| e.under("content"))
        .map_err(ServiceError::from)?;
    let r = state
        .app
        .report_time(
            &caller.ctx,
            SelfReport {
                shift: ShiftId(id),
                minutes: b.minutes,
                content,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordDecision {
    pub approve: bool,
    pub reason: Option<String>,
}

/// The team approves or rejects a pending record.
#[utoipa::path(post, path = "/api/v1/records/{id}/decision", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = RecordDecision,
    responses((status = 200, body = RecordView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn decide_record(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<RecordDecision>,
) -> ApiResult<Json<RecordView>> {
    Ok(Json(
        state
            .app
            .decide_record(&caller.ctx, RecordId(id), b.approve, b.reason)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterRecord {
    pub volunteer: String,
    pub activity_name: String,
    /// `YYYY-MM-DD`.
    pub service_date: String,
    pub place: String,
    pub content: String,
    pub minutes: i64,
    pub responsible_person: String,
    /// Repeating an entry with the same key records nothing new.
    pub dedupe_key: Option<String>,
}

impl EnterRecord {
    pub(crate) fn into_entry(self) -> Result<Entry, zhiyuan_domain::Invalid> {
        let mut e = zhiyuan_domain::Invalid::default();
        let volunteer =
            e.check(VolunteerNumber::parse(&self.volunteer).map_err(|x| x.under("volunteer")));
        let activity_name =
            e.check(parse_text(&self.activity_name, 100).map_err(|x| x.under("activity_name")));
        let service_date =
            e.check(parse_date(&self.service_date).map_err(|x| x.under("service_date")));
        let place = e.check(parse_text(&self.place, 200).map_err(|x| x.under("place")));
        let content = e.check(parse_text(&self.content, 500).map_err(|x| x.under("content")));
        let responsible_person = e.check(
            parse_text(&self.responsible_person, 50).map_err(|x| x.under("responsible_person")),
        );
        match (
            volunteer,
            activity_name,
            service_date,
            place,
            content,
            responsible_person,
        ) {
            (
                Some(volunteer),
                Some(activity_name),
                Some(service_date),
                Some(place),
                Some(content),
                Some(responsible_person),
            ) if e.is_empty() => Ok(Entry {
                volunteer,
                activity_name,
                service_date,
                place,
                content,
                minutes: self.minutes,
                responsible_person,
                dedupe_key: self.dedupe_key,
            }),
            _ => Err(e),
        }
    }
}

/// The team enters a record directly (effective at once).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/records", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = EnterRecord,
    responses((status = 201, body = RecordView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn enter_record(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<EnterRecord>,
) -> ApiResult<(StatusCode, Json<RecordView>)> {
    let entry = b.into_entry().map_err(ServiceError::from)?;
    let r = state
        .app
        .enter_record(&caller.ctx, OrgId(id), entry)
        .await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRecords {
    /// `pending`, `effective` or `rejected`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A team's records, newest first (e.g. `status=pending` to approve).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/records", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path), ListRecords),
    responses((status = 200, body = PageView<RecordView>), (status = 403, body = ErrorBody)))]
pub async fn org_records(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<ListRecords>,
) -> ApiResult<Json<PageView<RecordView>>> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            RecordStatus::parse(s).ok_or_else(|| {
                ApiError::one_of("status", &RecordStatus::ALL.map(RecordStatus::as_str))
            })
        })
        .transpose()?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .org_records(&caller.ctx, OrgId(id), status, &page)
        .await?;
    Ok(Json(PageView::from_page(result, RecordView::from)))
}

/// A volunteer's records, newest first (Art. 12).
#[utoipa::path(get, path = "/api/v1/volunteers/{number}/records", tag = "records",
    security(("bearer" = [])), params(("number" = String, Path), PageOnly),
    responses((status = 200, body = PageView<RecordView>), (status = 403, body = ErrorBody)))]
pub async fn volunteer_records(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(q): Query<PageOnly>,
) -> ApiResult<Json<PageView<RecordView>>> {
    let number = parse_number(&number)?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .volunteer_records(&caller.ctx, number, &page)
        .await?;
    Ok(Json(PageView::from_page(result, RecordView::from)))
}

/// A volunteer's hours: all time, this year, and record counts.
#[utoipa::path(get, path = "/api/v1/volunteers/{number}/totals", tag = "records",
    security(("bearer" = [])), params(("number" = String, Path)),
    responses((status = 200, body = TotalsView), (status = 403, body = ErrorBody)))]
pub async fn volunteer_totals(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<TotalsView>> {
    let number = parse_number(&number)?;
    Ok(Json(
        state
            .app
            .volunteer_totals(&caller.ctx, number)
            .await?
            .into(),
    ))
}

/// Every sign-up of the signed-in volunteer, in the order made (`absent` when the team
/// marked them as not having come), each with the project's name, the shift's position and
/// window (and whether it was cancelled) and the address.
#[utoipa::path(get, path = "/api/v1/me/signups", tag = "participation",
    security(("bearer" = [])), params(ListSignups),
    responses((status = 200, body = PageView<SignupItem>), (status = 403, body = ErrorBody)))]
pub async fn my_signups(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListSignups>,
) -> ApiResult<Json<PageView<SignupItem>>> {
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state.app.my_signups(&caller.ctx, q.status, &page).await?;
    Ok(Json(PageView::from_page(result, SignupItem::from)))
}

/// The signed-in volunteer's sign-ups for shifts not yet over, soonest first.
#[utoipa::path(get, path = "/api/v1/me/schedule", tag = "participation",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<SignupItem>), (status = 403, body = ErrorBody)))]
pub async fn my_schedule(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SignupItem>>> {
    let items = state.app.my_schedule(&caller.ctx, 200).await?;
    Ok(Json(items.into_iter().map(SignupItem::from).collect()))
}

/// The maximum size of an uploaded table.
pub const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;

/// One row of an upload's report. Only what applies to its outcome is present: a report
/// has a row for each of up to 100,000 lines, and absent fields halve its size.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchRowView {
    /// The line in the file (the header is line 1).
    pub line: usize,
    /// `inserted`, `duplicate` (recorded before, or earlier in the file) or `invalid`.
    pub outcome: &'static str,
    /// The record made, when `inserted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<i64>,
    /// The field at fault, when `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why, as a stable code (`too_long`, `not_a_date`, `no_such_volunteer`, …; see the
    /// error codes in docs/API.md), when `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Why, in the request's language (`?lang=` or `Accept-Language`), when `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchReportView {
    pub inserted: usize,
    pub duplicates: usize,
    pub invalid: usize,
    pub rows: Vec<BatchRowView>,
}

/// The format of the batch-entry template.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemplateFormat {
    #[default]
    Xlsx,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TemplateParams {
    /// `xlsx` (the default) or `csv`.
    pub format: Option<TemplateFormat>,
    /// `zh-CN`, `zh-HK` or `en`; else the first of `Accept-Language` that is one of them.
    pub lang: Option<String>,
}

/// An empty table to fill in for batch entry, headed in the caller's language.
///
/// The workbook's volunteer-number and text columns are text cells (Excel would otherwise
/// show a 13-digit number as `4.34292E+12` and save it so), its dates date cells. Selecting
/// a cell says, in the caller's language, what its column wants; the spreadsheet refuses
/// as it is typed what the upload would (a number not of 13 digits, text too long, a day
/// after today, hours beyond the daily cap). The CSV is UTF-8 with a byte-order mark,
/// which Excel needs to read Chinese. Either, once filled, uploads as it is to
/// `POST /api/v1/organisations/{id}/records/batch`.
#[utoipa::path(get, path = "/api/v1/records/batch-template", tag = "records",
    params(TemplateParams),
    responses((status = 200, body = Vec<u8>,
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            description = "or text/csv with `format=csv`",
            headers(("Content-Language" = String, description = "`zh-CN`, `zh-HK` or `en`"))),
        (status = 422, description = "an unknown `format`", body = ErrorBody)))]
pub async fn batch_template(
    State(state): State<AppState>,
    Query(q): Query<TemplateParams>,
    Language(lang): Language,
) -> ApiResult<Response> {
    let format = match q.format.unwrap_or_default() {
        TemplateFormat::Xlsx => TableFormat::Xlsx,
        TemplateFormat::Csv => TableFormat::Csv,
    };
    let bytes = state.app.record_template(lang, format)?;
    let name = zhiyuan_service::record_template_name(lang);
    Ok(table_file(
        bytes,
        format,
        (name, "records-template"),
        lang,
        "Accept-Language",
    ))
}

/// A table for people to save, in `format`, its words in `lang`: saved under the first of
/// `names` (RFC 6266's `filename*`, UTF-8), or the second, in ASCII, by clients that know
/// only `filename`; both take the format's extension. `vary` names the request headers
/// the answer depends on.
fn table_file(
    bytes: Vec<u8>,
    format: TableFormat,
    (name, ascii): (&str, &str),
    lang: Lang,
    vary: &'static str,
) -> Response {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    /// What RFC 8187 lets stand unencoded (of it, what names here hold).
    const KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');
    let ext = format.extension();
    let charset = match format {
        TableFormat::Csv => "; charset=utf-8",
        TableFormat::Xlsx => "",
    };
    let disposition = format!(
        "attachment; filename=\"{ascii}.{ext}\"; filename*=UTF-8''{}",
        utf8_percent_encode(&format!("{name}.{ext}"), KEPT)
    );
    (
        [
            (
                header::CONTENT_TYPE,
                format!("{}{charset}", format.media_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_LANGUAGE, lang.tag().to_owned()),
            (header::VARY, vary.to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// The table format `Accept` prefers for a batch upload's answer to JSON, if it names
/// one (highest `q`, the first among equals; `q=0` refuses): the refused rows then come
/// back as a table instead of the report.
fn table_wanted(headers: &axum::http::HeaderMap) -> Option<TableFormat> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    zhiyuan_domain::lang::preferred(accept, |media| {
        match TableFormat::ALL
            .into_iter()
            .find(|f| media.eq_ignore_ascii_case(f.media_type()))
        {
            Some(format) => Some(Some(format)),
            None => media
                .eq_ignore_ascii_case("application/json")
                .then_some(None),
        }
    })?
}

/// Enters records from a CSV (UTF-8, GB18030 or Big5) or XLSX file. The header row names the
/// columns: volunteer_number, activity_name, service_date, place, content, hours (or
/// minutes) and responsible_person; Chinese headers such as 志愿者编号 and 服务时长, or
/// 志願者編號 and 服務時數, also work (`GET /api/v1/records/batch-template` gives a file
/// headed for upload). Dates may be written 2026-11-05, 2026/11/5, 2026.11.5 or
/// 2026年11月5日, or be date cells of the workbook; time as 2.5 or 2.5小时 (hours), 90 or
/// 90分钟 (minutes).
/// Good rows land; each bad row is reported with its line, the field at fault and why,
/// as a stable code and in the caller's language (`?lang=`, else `Accept-Language`);
/// uploading the same file again adds nothing. With `Accept: text/csv` or the XLSX media
/// type, the answer is instead a table of the refused rows, each as it was sent with its
/// line and why: fixed, it uploads as it is.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/records/batch", tag = "records",
    security(("bearer" = [])),
    params(("id" = i64, Path),
        ("lang" = Option<String>, Query, description = "`zh-CN`, `zh-HK` or `en` for the reasons; else the first of `Accept-Language` that is one of them")),
    request_body(content = String, content_type = "text/csv",
        description = "or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, description = "the report, or the refused rows as a table",
            content((BatchReportView = "application/json"), (Vec<u8> = "text/csv"),
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Language" = String, description = "the reasons' language"))),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "unreadable file or missing columns", body = ErrorBody)))]
pub async fn enter_batch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Language(lang): Language,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "uploads are limited to 20 MiB; split the file",
            )
        } else {
            ApiError::new(e.status(), "malformed", e.body_text())
        }
    })?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    let format = TableFormat::ALL
        .into_iter()
        .find(|f| f.media_type() == content_type)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send text/csv or an XLSX workbook",
            )
        })?;
    // A file refused whole is said in the uploader's language, as its rows would be.
    let report = state
        .app
        .enter_batch(&caller.ctx, OrgId(id), body.clone(), format)
        .await
        .map_err(|e| ApiError::from(e).said_in(lang))?;
    if let Some(wanted) = table_wanted(&headers) {
        let table = state
            .app
            .refused_rows(body, format, &report, lang, wanted)
            .await
            .map_err(|e| ApiError::from(e).said_in(lang))?;
        let name = zhiyuan_service::refused_rows_name(lang);
        return Ok(table_file(
            table,
            wanted,
            (name, "refused-rows"),
            lang,
            "Accept, Accept-Language",
        ));
    }
    let view = BatchReportView {
        inserted: report.inserted,
        duplicates: report.duplicates,
        invalid: report.invalid,
        rows: report
            .rows
            .into_iter()
            .map(|(line, outcome)| match outcome {
                zhiyuan_service::RowOutcome::Inserted(id) => BatchRowView {
                    line,
                    outcome: "inserted",
                    record: Some(id.0),
                    field: None,
                    code: None,
                    reason: None,
                },
                zhiyuan_service::RowOutcome::Duplicate => BatchRowView {
                    line,
                    outcome: "duplicate",
                    record: None,
                    field: None,
                    code: None,
                    reason: None,
                },
                zhiyuan_service::RowOutcome::Invalid(e) => BatchRowView {
                    line,
                    outcome: "invalid",
                    record: None,
                    code: Some(e.code()),
                    reason: Some(e.say(lang)),
                    field: Some(e.field),
                },
            })
            .collect(),
    };
    Ok((
        [
            (header::CONTENT_LANGUAGE, lang.tag()),
            (header::VARY, "Accept, Accept-Language"),
        ],
        Json(view),
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueView {
    pub shift: ShiftView,
    pub project_name: String,
    pub organisation: i64,
    pub region: String,
    /// Accepted volunteers still without an effective record.
    pub missing: i64,
    /// The last day to complete the records (10 working days after the shift).
    #[schema(value_type = String, format = Date)]
    pub due: time::Date,
}

impl From<zhiyuan_service::Overdue> for OverdueView {
    fn from(o: zhiyuan_service::Overdue) -> Self {
        Self {
            shift: o.shift.shift.into(),
            project_name: o.shift.project_name,
            organisation: o.shift.org.0,
            region: o.shift.region.to_string(),
            missing: o.shift.missing,
            due: o.due,
        }
    }
}

/// A team's shifts whose records are overdue (Art. 11).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/overdue", tag = "records",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<OverdueView>), (status = 403, body = ErrorBody)))]
pub async fn org_overdue(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<OverdueView>>> {
    let items = state.app.org_overdue(&caller.ctx, OrgId(id)).await?;
    Ok(Json(items.into_iter().map(OverdueView::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Within {
    /// Region subtree; defaults to the caller's only jurisdiction.
    pub within: Option<String>,
}

/// A jurisdiction's shifts whose records are overdue (Art. 11).
#[utoipa::path(get, path = "/api/v1/overdue", tag = "records", security(("bearer" = [])),
    params(Within),
    responses((status = 200, body = Vec<OverdueView>), (status = 403, body = ErrorBody)))]
pub async fn region_overdue(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<Within>,
) -> ApiResult<Json<Vec<OverdueView>>> {
    let within = q
        .within
        .as_deref()
        .map(|w| crate::routes::regions::parse_region("within", w))
        .transpose()?;
    let items = state.app.region_overdue(&caller.ctx, within).await?;
    Ok(Json(items.into_iter().map(OverdueView::from).collect()))
}

/// The signed-in volunteer's upcoming shifts as an iCalendar file, with a reminder two
/// hours before each.
///
/// The calendar's own words (its name, the marks of a waitlisted, pending or cancelled
/// shift) in the language `lang` names, else the first of `Accept-Language` that is one of
/// the three, else Simplified Chinese; projects and positions as recorded.
#[utoipa::path(get, path = "/api/v1/me/schedule.ics", tag = "participation",
    security(("bearer" = [])),
    params(("lang" = Option<String>, Query,
        description = "`zh-CN`, `zh-HK` or `en`; else the first of `Accept-Language` that is one of them")),
    responses((status = 200, content_type = "text/calendar", body = String),
        (status = 403, body = ErrorBody)))]
pub async fn my_calendar(
    State(state): State<AppState>,
    caller: Caller,
    Language(lang): Language,
) -> ApiResult<axum::response::Response> {
    let items = state.app.my_schedule(&caller.ctx, 200).await?;
    Ok(calendar_file(&state, &items, caller.ctx.now, lang))
}

/// The iCalendar file of `items` in `lang`, as both calendar addresses answer it.
fn calendar_file(
    state: &AppState,
    items: &[zhiyuan_store::SignupDetail],
    now: time::OffsetDateTime,
    lang: Lang,
) -> axum::response::Response {
    let public_url = &state.app.config().public_url;
    let host = public_url
        .parse::<axum::http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_owned))
        .unwrap_or_else(|| "zhiyuan".to_owned());
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CONTENT_LANGUAGE, lang.tag()),
            (header::VARY, "Accept-Language"),
        ],
        crate::ical::calendar(items, now, lang, &host),
    )
        .into_response()
}

/// A calendar link, for a calendar app to subscribe to the volunteer's shifts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarLink {
    /// `{public_url}/calendar/{secret}.ics`: the same file as `GET /api/v1/me/schedule.ics`,
    /// without a token, kept up to date as shifts change.
    pub url: String,
}

/// A new calendar link for the signed-in volunteer; their earlier one stops answering
/// (to end a link shared by mistake).
#[utoipa::path(post, path = "/api/v1/me/calendar-link", tag = "participation",
    security(("bearer" = [])),
    responses((status = 201, body = CalendarLink), (status = 403, body = ErrorBody)))]
pub async fn new_calendar_link(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<CalendarLink>)> {
    let secret = state.app.new_calendar_link(&caller.ctx).await?;
    let base = state
        .app
        .config()
        .public_url
        .trim_end_matches('/')
        .to_owned();
    let url = format!("{base}/calendar/{secret}.ics");
    Ok((StatusCode::CREATED, Json(CalendarLink { url })))
}

/// Ends the signed-in volunteer's calendar link: a calendar subscribed with it gets 404
/// from then on. 204 whether or not there was one.
#[utoipa::path(delete, path = "/api/v1/me/calendar-link", tag = "participation",
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn end_calendar_link(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    state.app.end_calendar_link(&caller.ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The iCalendar file a calendar link answers: its volunteer's upcoming shifts, in the
/// language `lang` names (calendar apps send no `Accept-Language`); 404 for a link
/// replaced or never given.
#[utoipa::path(get, path = "/calendar/{file}", tag = "participation",
    params(("file" = String, Path, description = "the link's secret, then `.ics`"),
        ("lang" = Option<String>, Query,
        description = "`zh-CN`, `zh-HK` or `en`; else the first of `Accept-Language` that is one of them")),
    responses((status = 200, content_type = "text/calendar", body = String),
        (status = 404, body = ErrorBody)))]
pub async fn linked_calendar(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Language(lang): Language,
) -> ApiResult<axum::response::Response> {
    let secret = file.strip_suffix(".ics").unwrap_or(&file);
    let now = time::OffsetDateTime::now_utc();
    let items = state.app.linked_schedule(secret, now, 200).await?;
    Ok(calendar_file(&state, &items, now, lang))
}
