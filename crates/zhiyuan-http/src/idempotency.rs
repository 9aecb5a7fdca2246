//! `Idempotency-Key` on `POST` and `PATCH` (the IETF's `draft-ietf-httpapi-idempotency-
//! key-header`). A client that may retry (a phone on a train, a partner's queue) sends a
//! key of its own choosing, random per operation; the first request with it is run and,
//! when it succeeds, its answer kept for a day. A retry with the same key and the same
//! request gets that answer again (`Idempotent-Replayed: true`) and does nothing twice;
//! with another request, 422; while the first is still running, 409. A request refused
//! (any status but 2xx) wrote nothing, so its key is forgotten and a retry runs again.
//! Keys are the caller's own: the scope is a digest of the credentials sent with them.
//! The answer is kept encrypted under the key (see `zhiyuan_service::idempotency`).

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use zhiyuan_domain::{FieldError, Reason};
use zhiyuan_service::ServiceError;
use zhiyuan_service::idempotency::digest;
use zhiyuan_store::{KeptResponse, KeyedRequest};

use crate::AppState;
use crate::error::ApiError;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// The largest body buffered to fingerprint a request: the largest any route takes.
const BODY_LIMIT: usize = crate::routes::participation::UPLOAD_LIMIT;

/// Answers larger than this are not kept: their request is forgotten, as a refused one is.
/// (The largest are batch uploads' reports, and a batch upload adds nothing twice anyway.)
const ANSWER_LIMIT: usize = 4 * 1024 * 1024;

/// The headers kept with an answer: those that say what its body is.
const KEPT_HEADERS: [header::HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::CONTENT_DISPOSITION,
    header::CONTENT_LANGUAGE,
    header::LOCATION,
    header::VARY,
];

/// The middleware: requests without the header, or of other methods, pass untouched.
pub async fn keyed(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(raw) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    if !matches!(*request.method(), Method::POST | Method::PATCH) {
        return next.run(request).await;
    }
    let Some(key) = parse_key(raw) else {
        return ApiError::from(FieldError::because(
            "Idempotency-Key",
            Reason::NotAnIdempotencyKey,
        ))
        .into_response();
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, BODY_LIMIT).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large",
        )
        .into_response();
    };
    let scope = digest(&[parts
        .headers
        .get(header::AUTHORIZATION)
        .map_or(&b""[..], HeaderValue::as_bytes)]);
    let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let fingerprint = digest(&[parts.method.as_str().as_bytes(), target.as_bytes(), &body]);
    let app = &state.app;
    match app.begin_keyed(&scope, &key, &fingerprint).await {
        Ok(KeyedRequest::Started) => {}
        Ok(KeyedRequest::Answered(kept)) => return replay(kept),
        Ok(KeyedRequest::InProgress) => {
            return ApiError::from(ServiceError::conflict_because(
                "Idempotency-Key",
                Reason::KeyInProgress,
            ))
            .into_response();
        }
        Ok(KeyedRequest::Mismatch) => {
            return ApiError::from(FieldError::because("Idempotency-Key", Reason::KeyReused))
                .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            // The answer could not be read: forget the request, so that a retry runs it.
            tracing::warn!(error = %e, "an answer to a keyed request could not be read");
            let _ = app.finish_keyed(&scope, &key, None).await;
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let answer = (parts.status.is_success() && body.len() <= ANSWER_LIMIT).then(|| KeptResponse {
        status: parts.status.as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(name)?.to_str().ok()?;
                Some((name.as_str().to_owned(), value.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    });
    if let Err(e) = app.finish_keyed(&scope, &key, answer).await {
        // What was done is done; the answer goes out. A retry within the key's lease is
        // told it is in progress, after it the request runs again.
        tracing::warn!(error = ?e, "keeping the answer to a keyed request failed");
    }
    Response::from_parts(parts, Body::from(body))
}

/// A key as the draft writes it (a quoted string) or bare: 1 to 255 printable ASCII
/// characters (a structured-field string's).
fn parse_key(raw: &HeaderValue) -> Option<String> {
    let s = raw.to_str().ok()?.trim();
    let s = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    let fits = (1..=255).contains(&s.len()) && s.bytes().all(|b| (b' '..=b'~').contains(&b));
    fits.then(|| s.to_owned())
}

fn replay(kept: KeptResponse) -> Response {
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let mut response = (status, kept.body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    for (name, value) in kept.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_quoted_or_bare_and_refused_when_empty_long_or_not_printable_ascii() {
        let read = |s: &str| parse_key(&HeaderValue::from_str(s).unwrap());
        assert_eq!(read("\"8e03978e-40d5\"").as_deref(), Some("8e03978e-40d5"));
        assert_eq!(read("8e03978e-40d5").as_deref(), Some("8e03978e-40d5"));
        assert_eq!(read("\"\""), None);
        assert_eq!(read("\"a b\"").as_deref(), Some("a b"));
        assert_eq!(read("a\tb"), None);
        assert_eq!(read(&"k".repeat(256)), None);
        assert_eq!(read(&"k".repeat(255)).map(|k| k.len()), Some(255));
    }
}
