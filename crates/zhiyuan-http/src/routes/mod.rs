//! The API as a map: every route, its method and its handler.

pub mod auth;
pub mod health;
pub mod organisations;
pub mod regions;
pub mod sites;
pub mod staff;
pub mod volunteers;

use axum::Router;
use axum::routing::{get, patch, post};

use crate::AppState;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me))
        .route(
            "/api/v1/volunteers",
            post(volunteers::register_volunteer).get(volunteers::list_volunteers),
        )
        .route(
            "/api/v1/volunteers/{number}",
            get(volunteers::get_volunteer).patch(volunteers::update_volunteer),
        )
        .route(
            "/api/v1/volunteers/{number}/memberships",
            get(volunteers::list_volunteer_memberships),
        )
        .route(
            "/api/v1/regions",
            get(regions::list_regions).post(regions::create_region),
        )
        .route(
            "/api/v1/regions/{code}",
            get(regions::get_region).patch(regions::update_region),
        )
        .route(
            "/api/v1/sites",
            get(sites::list_sites).post(sites::create_site),
        )
        .route(
            "/api/v1/sites/{id}",
            get(sites::get_site).patch(sites::update_site),
        )
        .route(
            "/api/v1/organisations",
            get(organisations::list_orgs).post(organisations::create_org),
        )
        .route(
            "/api/v1/organisations/{id}",
            get(organisations::get_org).patch(organisations::update_org),
        )
        .route(
            "/api/v1/organisations/{id}/memberships",
            get(organisations::list_org_memberships).post(organisations::apply_for_membership),
        )
        .route(
            "/api/v1/memberships/{id}",
            patch(organisations::decide_membership),
        )
        .route("/api/v1/staff", post(staff::create_staff))
        .route("/api/v1/audit", get(staff::list_audit))
}
