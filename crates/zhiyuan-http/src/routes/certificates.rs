//! Record certificates: issue, download, revoke, and public verification (JSON and a
//! page for people who scan the QR code).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use zhiyuan_domain::hours::hours;
use zhiyuan_domain::lang::Lang;
use zhiyuan_domain::registration::parse_date;
use zhiyuan_service::{
    CertificateRequest, ServiceError, certificate_words, typed_number, verification_url,
};
use zhiyuan_store::CertificateRecord;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Language, Query, page};
use crate::routes::volunteers::PageOnly;
use crate::views::PageView;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificate {
    /// List each record (at most 500); otherwise totals per recording unit.
    #[serde(default)]
    pub list_records: bool,
    /// `YYYY-MM-DD`; the whole history when absent.
    pub from: Option<String>,
    pub until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    pub number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub hours: f64,
    pub records: i64,
    /// Where anyone can verify it (the QR code on the PDF).
    pub verify_url: String,
    /// Where its volunteer downloads it.
    pub pdf_url: String,
}

fn view(c: CertificateRecord, public_url: &str) -> CertificateView {
    let number = c.certificate.number;
    CertificateView {
        verify_url: verification_url(public_url, &number),
        pdf_url: format!("/api/v1/certificates/{number}/pdf"),
        number,
        issued_at: c.certificate.issued_at,
        revoked_at: c.revoked_at,
        hours: hours(c.certificate.facts.minutes),
        records: c.certificate.facts.records,
    }
}

/// The signed-in volunteer issues a free certificate of their effective records.
#[utoipa::path(post, path = "/api/v1/me/certificates", tag = "certificates",
    security(("bearer" = [])), request_body = IssueCertificate,
    responses((status = 201, body = CertificateView),
        (status = 409, description = "no records in the period", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<IssueCertificate>,
) -> ApiResult<(StatusCode, Json<CertificateView>)> {
    let date = |field: &'static str, v: &Option<String>| {
        v.as_deref()
            .map(|d| parse_date(d).map_err(|e| e.under(field)))
            .transpose()
            .map_err(ServiceError::from)
    };
    let request = CertificateRequest {
        list_records: b.list_records,
        from: date("from", &b.from)?,
        until: date("until", &b.until)?,
    };
    let c = state.app.issue_certificate(&caller.ctx, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(c, &state.app.config().public_url)),
    ))
}

/// The signed-in volunteer's certificates, newest first.
#[utoipa::path(get, path = "/api/v1/me/certificates", tag = "certificates",
    security(("bearer" = [])), params(PageOnly),
    responses((status = 200, body = PageView<CertificateView>)))]
pub async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PageOnly>,
) -> ApiResult<Json<PageView<CertificateView>>> {
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state.app.my_certificates(&caller.ctx, &page).await?;
    let url = state.app.config().public_url.clone();
    Ok(Json(PageView::from_page(result, |c| view(c, &url))))
}

/// The certificate as PDF (its volunteer and their jurisdiction).
///
/// Printed in the language `lang` names, else the first of `Accept-Language` that is one of
/// the three, else Simplified Chinese. Every language certifies the same facts under the
/// same number and QR code.
#[utoipa::path(get, path = "/api/v1/certificates/{number}/pdf", tag = "certificates",
    security(("bearer" = [])),
    params(("number" = String, Path), ("lang" = Option<String>, Query,
        description = "`zh-CN`, `zh-HK` or `en`; else the first of `Accept-Language` that is one of them")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>,
            headers(("Content-Language" = String, description = "`zh-CN`, `zh-HK` or `en`"))),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Language(lang): Language,
) -> ApiResult<impl IntoResponse> {
    let bytes = state
        .app
        .certificate_pdf(&caller.ctx, &number, lang)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{number}.pdf\""),
            ),
            (header::CONTENT_LANGUAGE, lang.tag().to_owned()),
            (header::VARY, "Accept-Language".to_owned()),
        ],
        bytes,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revoke {
    pub reason: String,
}

/// The volunteer or their jurisdiction revokes a certificate.
#[utoipa::path(post, path = "/api/v1/certificates/{number}/revoke", tag = "certificates",
    security(("bearer" = [])), params(("number" = String, Path)), request_body = Revoke,
    responses((status = 200, body = CertificateView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Json(b): Json<Revoke>,
) -> ApiResult<Json<CertificateView>> {
    let c = state
        .app
        .revoke_certificate(&caller.ctx, &number, &b.reason)
        .await?;
    Ok(Json(view(c, &state.app.config().public_url)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitView {
    pub name: String,
    pub hours: f64,
    pub records: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListedView {
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub activity: String,
    pub content: String,
    pub hours: f64,
    pub unit: String,
}

/// What a verification confirms: validity and the certified facts, nothing more (no
/// identity document, no contact).
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub number: String,
    /// `valid` or `revoked`.
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub name: String,
    pub volunteer_number: String,
    pub hours: f64,
    pub records: i64,
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    pub units: Vec<UnitView>,
    pub listed: Vec<ListedView>,
    pub issuer: String,
}

impl From<CertificateRecord> for VerificationView {
    fn from(c: CertificateRecord) -> Self {
        let f = c.certificate.facts;
        Self {
            number: c.certificate.number,
            status: if c.revoked_at.is_some() {
                "revoked"
            } else {
                "valid"
            },
            issued_at: c.certificate.issued_at,
            revoked_at: c.revoked_at,
            name: f.name,
            volunteer_number: f.volunteer_number,
            hours: hours(f.minutes),
            records: f.records,
            from: f.from,
            until: f.until,
            units: f
                .units
                .into_iter()
                .map(|u| UnitView {
                    name: u.name,
                    hours: hours(u.minutes),
                    records: u.records,
                })
                .collect(),
            listed: f
                .listed
                .into_iter()
                .map(|r| ListedView {
                    date: r.date,
                    activity: r.activity,
                    content: r.content,
                    hours: hours(r.minutes),
                    unit: r.unit,
                })
                .collect(),
            issuer: f.issuer,
        }
    }
}

/// Verifies a certificate by its number. Public.
#[utoipa::path(get, path = "/api/v1/certificates/{number}/verification", tag = "certificates",
    params(("number" = String, Path)),
    responses((status = 200, body = VerificationView), (status = 404, body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> ApiResult<Json<VerificationView>> {
    Ok(Json(state.app.verify_certificate(&number).await?.into()))
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The verification page's own words, in one language; the certificate's labels (name,
/// number, hours, units) are the PDF's ([`certificate_words`]).
struct PageWords {
    title: &'static str,
    heading: &'static str,
    valid: &'static str,
    revoked: &'static str,
    not_found: &'static str,
    credential: &'static str,
    /// The form's: what to type, and its button.
    ask: &'static str,
    check: &'static str,
}

fn page_words(lang: Lang) -> PageWords {
    match lang {
        Lang::ZhHans => PageWords {
            title: "证明核验",
            heading: "志愿服务记录证明核验",
            valid: "有效 · Valid",
            revoked: "已撤销 · Revoked",
            not_found: "未找到该证明 · Not found",
            credential: "可验证凭证 · Verifiable Credential",
            ask: "输入证明上的编号（如 ZY-7K3M-…），或扫描证明上的二维码",
            check: "核验",
        },
        Lang::ZhHk => PageWords {
            title: "證明核驗",
            heading: "志願服務記錄證明核驗",
            valid: "有效 · Valid",
            revoked: "已撤銷 · Revoked",
            not_found: "找不到該證明 · Not found",
            credential: "可驗證憑證 · Verifiable Credential",
            ask: "輸入證明上的編號（如 ZY-7K3M-…），或掃描證明上的二維碼",
            check: "核驗",
        },
        Lang::En => PageWords {
            title: "Certificate verification",
            heading: "Volunteer service record certificate: verification",
            valid: "Valid",
            revoked: "Revoked",
            not_found: "Certificate not found",
            credential: "Verifiable Credential",
            ask: "Type the number printed on the certificate (such as ZY-7K3M-…), or scan its QR code",
            check: "Verify",
        },
    }
}

/// The page a scanned QR code opens, in Simplified Chinese, Hong Kong's Traditional
/// Chinese or English (see [`Lang::negotiate`]), with links to the other two; a client
/// that asks for a credential (`Accept: application/vc+ld+json`, `application/ld+json`
/// or `application/json`) gets the certificate as a Verifiable Credential instead.
pub async fn verify_page(
    State(state): State<AppState>,
    Path(number): Path<String>,
    Language(lang): Language,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if [
        "application/vc+ld+json",
        "application/ld+json",
        "application/json",
    ]
    .iter()
    .any(|t| accept.contains(t))
    {
        return match state.app.certificate_credential(&number).await {
            Ok(c) => crate::routes::credentials::credential_response(c),
            Err(e) => crate::error::ApiError::from(e).into_response(),
        };
    }
    let w = page_words(lang);
    let labels = certificate_words(lang);
    let (status, body) = match state.app.verify_certificate(&number).await {
        Ok(c) => {
            let v = VerificationView::from(c);
            let (badge, colour) = match v.status {
                "valid" => (w.valid, "#1a7f37"),
                _ => (w.revoked, "#b42318"),
            };
            let units: String = v
                .units
                .iter()
                .map(|u| {
                    format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(&u.name),
                        u.hours,
                        u.records
                    )
                })
                .collect();
            let body = format!(
                "<h1>{}</h1>\
                 <p class=\"badge\" style=\"background:{colour}\">{badge}</p>\
                 <dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
                 <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
                 <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl>\
                 <table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{units}</table>",
                w.heading,
                labels.number,
                escape(&v.number),
                labels.name,
                escape(&v.name),
                labels.volunteer_number,
                escape(&v.volunteer_number),
                labels.total,
                (labels.hours_in_records)(v.hours, v.records),
                labels.issuer,
                escape(&v.issuer),
                labels.issued_on,
                zhiyuan_domain::clock::china_date(v.issued_at),
                labels.unit,
                labels.unit_hours,
                labels.records,
            );
            (StatusCode::OK, body)
        }
        Err(ServiceError::NotFound(_)) => (
            StatusCode::NOT_FOUND,
            format!(
                "<h1>{}</h1><p class=\"badge\" style=\"background:#b42318\">{}</p>{}",
                w.heading,
                w.not_found,
                number_form(lang, &w, &number),
            ),
        ),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    // As a path segment: percent-encoded, so nothing in it is markup either.
    let number = percent_encoding::utf8_percent_encode(&number, PATH_SEGMENT);
    let credential = format!(
        "<p><a href=\"/api/v1/certificates/{number}/credential\">{}</a></p>",
        w.credential
    );
    html_page(
        lang,
        &w,
        status,
        &format!("{body}{credential}"),
        &format!("/verify/{number}"),
    )
}

/// Where someone with a certificate on paper starts (`/` and `/verify`): a form for its
/// number. Sent with `?number=`, the certificate's own page, the number read as
/// [`typed_number`] reads it.
pub async fn verify_form(
    Query(asked): Query<NumberAsked>,
    Language(lang): Language,
) -> axum::response::Response {
    let typed = asked.number.as_deref().map(str::trim).unwrap_or_default();
    if !typed.is_empty() {
        let number = typed_number(typed).unwrap_or_else(|| typed.to_owned());
        let path = percent_encoding::utf8_percent_encode(&number, PATH_SEGMENT);
        let to = format!("/verify/{path}?lang={}", lang.tag());
        return axum::response::Redirect::to(&to).into_response();
    }
    let w = page_words(lang);
    let body = format!("<h1>{}</h1>{}", w.heading, number_form(lang, &w, ""));
    html_page(lang, &w, StatusCode::OK, &body, "/verify")
}

/// The query of [`verify_form`]; `lang` is read by [`Language`].
#[derive(Debug, Deserialize)]
pub struct NumberAsked {
    number: Option<String>,
}

/// What a number may not hold raw in a path segment (RFC 3986's unreserved characters
/// may).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The form a certificate's number is typed into, holding `value` (the number tried).
fn number_form(lang: Lang, w: &PageWords, value: &str) -> String {
    format!(
        "<form action=\"/verify\" method=\"get\"><label for=\"number\">{}</label>\
         <p><input id=\"number\" name=\"number\" value=\"{}\" required autocomplete=\"off\" \
         autocapitalize=\"characters\" spellcheck=\"false\" placeholder=\"ZY-0000-0000-0000-0000\">\
         <input type=\"hidden\" name=\"lang\" value=\"{}\"> <button>{}</button></p></form>",
        w.ask,
        escape(value),
        lang.tag(),
        w.check,
    )
}

/// A page for people in `lang`, with links to the same `path` in the other two languages.
fn html_page(
    lang: Lang,
    w: &PageWords,
    status: StatusCode,
    body: &str,
    path: &str,
) -> axum::response::Response {
    let others: String = Lang::ALL
        .into_iter()
        .filter(|&l| l != lang)
        .map(|l| format!(" · <a href=\"{path}?lang={}\">{}</a>", l.tag(), l.name()))
        .collect();
    let mut page = (
        status,
        Html(format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>body{{font-family:sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}\
         .badge{{color:#fff;display:inline-block;padding:.3rem .8rem;border-radius:1rem}}\
         dt{{color:#555;margin-top:.6rem}}dd{{margin:0;font-size:1.1rem}}\
         table{{border-collapse:collapse;margin-top:1rem;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}}\
         input{{font-size:1.1rem;padding:.3rem;width:16rem;max-width:100%}}button{{font-size:1.1rem}}\
         </style></head><body>{body}<p>{}</p></body></html>",
            lang.tag(),
            w.title,
            others.trim_start_matches(" · "),
        )),
    )
        .into_response();
    page.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        header::HeaderValue::from_static(lang.tag()),
    );
    // The page differs by the browser's language: caches must not serve one to another.
    page.headers_mut().insert(
        header::VARY,
        header::HeaderValue::from_static("Accept, Accept-Language"),
    );
    page
}
