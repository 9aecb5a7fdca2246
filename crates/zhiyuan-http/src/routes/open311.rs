//! Open311 GeoReport v2, JSON form, under `/open311/v2`: the same intake as
//! `/api/v1/needs`, so that city apps and existing Open311 clients can file and follow
//! requests. Requests are filed form-encoded (`service_code`, `lat`/`long` or
//! `attribute[region]`, `description`, `first_name`, `last_name`, `phone`,
//! `attribute[wanted_at]`); errors are GeoReport's `[{"code", "description"}]`.
//! Public reads show a request's status and service, never its description, place or
//! contact.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zhiyuan_domain::ids::SiteId;
use zhiyuan_service::{NeedInput, ServiceError};
use zhiyuan_store::{MenuItemRecord, OrderRecord};

use crate::AppState;

/// A GeoReport error response.
#[derive(Debug)]
pub struct Open311Error(StatusCode, String);

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let body = json!([{"code": self.0.as_u16(), "description": self.1}]);
        (self.0, axum::Json(body)).into_response()
    }
}

impl From<ServiceError> for Open311Error {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(fields) => Self(
                StatusCode::BAD_REQUEST,
                fields
                    .0
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            ServiceError::NotFound(what) => {
                Self(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            ServiceError::Conflict { message, .. } => Self(StatusCode::CONFLICT, message),
            other => {
                let response = crate::error::ApiError::from(other).into_response();
                Self(response.status(), "the request could not be served".into())
            }
        }
    }
}

type Open311Result<T> = Result<T, Open311Error>;

fn bad(description: impl Into<String>) -> Open311Error {
    Open311Error(StatusCode::BAD_REQUEST, description.into())
}

fn json_file(file: &str) -> Open311Result<&str> {
    file.strip_suffix(".json").ok_or_else(|| {
        Open311Error(
            StatusCode::NOT_FOUND,
            "only the JSON format is served".into(),
        )
    })
}

fn datetime(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn service(m: &MenuItemRecord) -> Value {
    json!({
        "service_code": m.item.code,
        "service_name": m.item.name,
        "description": m.item.description,
        "metadata": true,
        "type": "realtime",
        "keywords": m.item.skills.join(","),
        "group": m.item.category.code(),
    })
}

/// `GET /open311/v2/services.json`: every service offered somewhere.
pub async fn services(State(state): State<AppState>) -> Open311Result<axum::Json<Value>> {
    let items = state.app.service_catalogue().await?;
    Ok(axum::Json(Value::Array(
        items.iter().map(service).collect(),
    )))
}

/// `GET /open311/v2/services/{code}.json`: the attributes a request may carry.
pub async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Open311Result<axum::Json<Value>> {
    let code = json_file(&file)?;
    let items = state.app.service_catalogue().await?;
    let item = items
        .iter()
        .find(|m| m.item.code == code)
        .ok_or_else(|| Open311Error(StatusCode::NOT_FOUND, format!("no service {code}")))?;
    Ok(axum::Json(json!({
        "service_code": item.item.code,
        "attributes": [
            {"variable": true, "code": "region", "datatype": "string", "required": false,
             "datatype_description": "12 digits (GB/T 2260 and village code)", "order": 1,
             "description": "The village or community where the service is needed (or give lat and long)"},
            {"variable": true, "code": "wanted_at", "datatype": "datetime", "required": false,
             "datatype_description": "ISO 8601", "order": 2,
             "description": "When the service is wanted"},
        ],
    })))
}

/// `POST /open311/v2/requests.json`, form-encoded.
pub async fn create_request(
    State(state): State<AppState>,
    caller: crate::extract::Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Open311Result<(StatusCode, axum::Json<Value>)> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(Open311Error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as application/x-www-form-urlencoded".into(),
        ));
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let number = |name: &str| {
        field(name)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| bad(format!("{name} is not a number")))
            })
            .transpose()
    };
    let location = match (number("lat")?, number("long")?) {
        (Some(lat), Some(lng)) => Some((lat, lng)),
        (None, None) => None,
        _ => return Err(bad("give both lat and long")),
    };
    let wanted_at = field("attribute[wanted_at]")
        .map(|t| {
            OffsetDateTime::parse(&t, &Rfc3339)
                .map_err(|_| bad("attribute[wanted_at] is not an ISO 8601 date-time"))
        })
        .transpose()?;
    let name = [field("first_name"), field("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let input = NeedInput {
        service_code: field("service_code").ok_or_else(|| bad("service_code is required"))?,
        description: field("description").unwrap_or_default(),
        region: field("attribute[region]"),
        address: field("address_string"),
        location,
        wanted_at,
        contact_name: name,
        contact_phone: field("phone").unwrap_or_default(),
    };
    let submitted = state.app.submit_need(&caller.ctx, input).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!([{
            "service_request_id": submitted.order.order.tracking,
            "service_notice": "Keep the secret: it lets you cancel and rate the request at /api/v1/needs/{id}.",
            "account_id": null,
            "secret": submitted.secret,
        }])),
    ))
}

/// Requests in GeoReport's shape, each site's name (`agency_responsible`) read once.
async fn request_views(state: &AppState, orders: &[OrderRecord]) -> Value {
    let mut agencies: HashMap<SiteId, String> = HashMap::new();
    let mut out = Vec::with_capacity(orders.len());
    for o in orders {
        if let Entry::Vacant(slot) = agencies.entry(o.order.site) {
            let site = state.app.get_site(o.order.site).await;
            slot.insert(site.map(|s| s.site.name).unwrap_or_default());
        }
        out.push(request_view(o, &agencies[&o.order.site]));
    }
    Value::Array(out)
}

fn request_view(o: &OrderRecord, agency: &str) -> Value {
    json!({
        "service_request_id": o.order.tracking,
        "status": if o.state.status.is_closed() { "closed" } else { "open" },
        "status_notes": o.note.clone().unwrap_or_else(|| o.state.status.as_str().to_owned()),
        "service_name": o.order.need.service_name,
        "service_code": o.order.need.service_code,
        "agency_responsible": agency,
        "requested_datetime": datetime(o.order.created_at),
        "updated_datetime": datetime(o.updated_at),
        "expected_datetime": o.order.need.wanted_at.map(datetime),
    })
}

#[derive(Debug, Deserialize)]
pub struct RequestsQuery {
    /// Comma-separated tracking numbers.
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    /// `open` or `closed`.
    pub status: Option<String>,
}

/// `GET /open311/v2/requests.json`: the requests named, or the 50 most recent.
pub async fn requests(
    State(state): State<AppState>,
    Query(q): Query<RequestsQuery>,
) -> Open311Result<axum::Json<Value>> {
    let orders = match &q.service_request_id {
        Some(ids) => {
            let mut found = Vec::new();
            for id in ids
                .split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .take(50)
            {
                match state.app.track_order(id).await {
                    Ok(o) => found.push(o),
                    Err(ServiceError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            found
        }
        None => state.app.recent_orders(50).await?,
    };
    let closed = match q.status.as_deref() {
        None => None,
        Some("open") => Some(false),
        Some("closed") => Some(true),
        Some(_) => return Err(bad("status is open or closed")),
    };
    let orders: Vec<OrderRecord> = orders
        .into_iter()
        .filter(|o| {
            closed.is_none_or(|c| o.state.status.is_closed() == c)
                && q.service_code
                    .as_deref()
                    .is_none_or(|code| o.order.need.service_code == code)
        })
        .collect();
    Ok(axum::Json(request_views(&state, &orders).await))
}

/// `GET /open311/v2/requests/{id}.json`.
pub async fn request(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Open311Result<axum::Json<Value>> {
    let id = json_file(&file)?;
    let o = state.app.track_order(id).await?;
    Ok(axum::Json(request_views(&state, &[o]).await))
}
