//! Extractors that turn bad input into the API's error shape, naming the field:
//! [`Json`] (content type, size, syntax, unknown and missing fields, types), [`Caller`]
//! (the bearer token behind a request) and [`Paging`] (cursor and limit); and
//! [`Language`], the language a page or document for people is asked in.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use zhiyuan_domain::lang::Lang;
use zhiyuan_domain::{FieldError, Reason};
use zhiyuan_service::{Actor, Ctx};
use zhiyuan_store::{Cursor, PageRequest};

use crate::AppState;
use crate::error::ApiError;

/// A JSON body, parsed strictly.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Field path and reason of a serde error, in request terms.
fn describe(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = inner.to_string();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            "the body is not valid JSON",
        )
        .with_field("body", message);
    }
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |msg: &str| msg.split('`').nth(1).map(str::to_owned);
    if message.starts_with("unknown field ") {
        // The path already ends with the unknown field's name.
        return FieldError::because(path, Reason::UnknownField).into();
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let field = join(&quoted(rest).unwrap_or_default());
        return FieldError::because(field, Reason::Required).into();
    }
    let field = if path == "." { "body".to_owned() } else { path };
    let reason = message.split(" at line ").next().unwrap_or_default();
    ApiError::invalid(field, reason)
}

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim() == "application/json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| match e {
                BytesRejection::FailedToBufferBody(inner)
                    if inner.status() == StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "the body is larger than this endpoint accepts",
                    )
                }
                other => ApiError::new(other.status(), "malformed", other.body_text()),
            })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(describe)?;
        Ok(Self(value))
    }
}

/// The caller of a request: a signed-in principal when a bearer token is sent, else
/// anonymous. A token that is sent but not valid is refused with 401.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: Ctx,
    pub token: Option<String>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let token = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(|t| t.trim().to_owned())
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::UNAUTHORIZED,
                            "unauthenticated",
                            "use `Authorization: Bearer <token>`",
                        )
                    })?,
            ),
        };
        let actor = match &token {
            None => Actor::Anonymous,
            Some(t) => Actor::User(state.app.authenticate(t).await?),
        };
        Ok(Self {
            ctx: Ctx::new(actor, request_id),
            token,
        })
    }
}

/// The page of a listing from its `cursor` and `limit` parameters; the cursor must have
/// the shape of this listing (`keys` sort keys).
pub fn page(
    cursor: Option<&str>,
    limit: Option<u32>,
    keys: usize,
) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(FieldError::because(
            "limit",
            Reason::OutOfRange {
                min: 1,
                max: PageRequest::MAX_LIMIT.into(),
            },
        )
        .into());
    }
    let after = match cursor {
        None => None,
        Some(c) => Some(Cursor::decode(c, keys).ok_or_else(|| {
            ApiError::invalid("cursor", "is not a cursor returned by this listing")
        })?),
    };
    Ok(PageRequest { limit, after })
}

/// Query strings parsed into the error shape (unknown values name the parameter).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let field = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = if field == "." {
                    message
                        .split('`')
                        .nth(1)
                        .map_or_else(|| "query".to_owned(), str::to_owned)
                } else {
                    field
                };
                ApiError::invalid(field, message)
            })
    }
}

/// For PATCH bodies: tells an absent field (`None`) from an explicit `null`
/// (`Some(None)`, which clears the value).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// The language a page or a document for people is asked in: `?lang=` (`zh-CN`, `zh-HK`,
/// `en`), else the request's `Accept-Language`, else Simplified Chinese (see
/// [`Lang::negotiate`]). Never refuses: an unknown language falls back as the browser's
/// would. A handler taking it names `Vary: Accept-Language` in its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let asked = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(key, _)| key == "lang")
                .map(|(_, value)| value.into_owned())
        });
        let accept_language = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Ok(Self(Lang::negotiate(asked.as_deref(), accept_language)))
    }
}
