//! zhiyuan's HTTP API. [`router`] builds the whole application: routes, body limit,
//! request ids and request logs. Handlers are thin: they parse input into domain types,
//! call one use case of [`zhiyuan_service::Zhiyuan`], and map the result to a view.

pub mod activity_views;
pub mod error;
pub mod extract;
pub mod ical;
pub mod idempotency;
pub mod openapi;
pub mod routes;
pub mod views;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::Request;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower_http::LatencyUnit;

use axum::http::HeaderValue;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use zhiyuan_service::Zhiyuan;

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub app: Zhiyuan,
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
        }
    }
}

/// Request ids: a per-process prefix and a counter. Unique across app servers for log
/// correlation, and free of the random-number syscall a UUID costs on every request.
#[derive(Debug, Clone)]
struct RequestIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self {
            prefix: format!("{:x}{:05x}", std::process::id(), nanos & 0xf_ffff).into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// The application router.
pub fn router(app: Zhiyuan, options: &HttpOptions) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            // The matched route, never the raw path: paths carry volunteer numbers, and logs
            // should group by endpoint.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %req.method(), route, request_id)
        })
        .on_response(
            DefaultOnResponse::new()
                .level(tracing::Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        );
    let state = AppState { app };
    routes::api()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::keyed,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RequestIds::new()))
}
