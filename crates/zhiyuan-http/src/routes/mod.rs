//! The API as a map: every route, its method and its handler.

pub mod auth;
pub mod certificates;
pub mod corrections;
pub mod credentials;
pub mod health;
pub mod ledger;
pub mod notify;
pub mod open311;
pub mod orders;
pub mod organisations;
pub mod participation;
pub mod projects;
pub mod recognition;
pub mod regions;
pub mod sites;
pub mod staff;
pub mod stars;
pub mod talent;
pub mod volunteers;

use axum::Router;
use axum::extract::DefaultBodyLimit;
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
        .route("/api/v1/me/password", post(auth::change_password))
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
        .route(
            "/api/v1/staff",
            get(staff::list_staff).post(staff::create_staff),
        )
        .route(
            "/api/v1/staff/{login}",
            get(staff::get_staff).patch(staff::update_staff),
        )
        .route(
            "/api/v1/staff/{login}/roles",
            axum::routing::put(staff::set_staff_roles),
        )
        .route(
            "/api/v1/projects",
            get(projects::list_projects).post(projects::create_project),
        )
        .route(
            "/api/v1/projects/{id}",
            get(projects::get_project).patch(projects::update_project),
        )
        .route(
            "/api/v1/projects/{id}/status",
            post(projects::change_project_status),
        )
        .route(
            "/api/v1/projects/{id}/shifts",
            get(projects::list_shifts).post(projects::create_shift),
        )
        .route("/api/v1/shifts/{id}", patch(projects::update_shift))
        .route(
            "/api/v1/shifts/{id}/signups",
            get(participation::list_signups).post(participation::sign_up),
        )
        .route("/api/v1/shifts/{id}/code", get(participation::shift_code))
        .route(
            "/api/v1/shifts/{id}/check-in",
            post(participation::check_in),
        )
        .route(
            "/api/v1/shifts/{id}/check-out",
            post(participation::check_out),
        )
        .route(
            "/api/v1/shifts/{id}/reports",
            post(participation::report_time),
        )
        .route(
            "/api/v1/signups/{id}/cancel",
            post(participation::cancel_signup),
        )
        .route(
            "/api/v1/signups/{id}/absence",
            post(participation::mark_absent).delete(participation::withdraw_absence),
        )
        .route(
            "/api/v1/signups/{id}/decision",
            post(participation::decide_signup),
        )
        .route(
            "/api/v1/records/{id}/decision",
            post(participation::decide_record),
        )
        .route(
            "/api/v1/organisations/{id}/records",
            get(participation::org_records).post(participation::enter_record),
        )
        .route(
            "/api/v1/records/batch-template",
            get(participation::batch_template),
        )
        .route(
            "/api/v1/organisations/{id}/records/batch",
            post(participation::enter_batch)
                .layer(DefaultBodyLimit::max(participation::UPLOAD_LIMIT)),
        )
        .route(
            "/api/v1/volunteers/{number}/records",
            get(participation::volunteer_records),
        )
        .route(
            "/api/v1/volunteers/{number}/totals",
            get(participation::volunteer_totals),
        )
        .route(
            "/api/v1/records/{id}/corrections",
            post(corrections::request_correction),
        )
        .route(
            "/api/v1/records/{id}/history",
            get(corrections::record_history),
        )
        .route(
            "/api/v1/corrections/{id}/decision",
            post(corrections::decide_correction),
        )
        .route(
            "/api/v1/organisations/{id}/omissions",
            post(corrections::report_omission),
        )
        .route(
            "/api/v1/organisations/{id}/corrections",
            get(corrections::org_corrections),
        )
        .route(
            "/api/v1/organisations/{id}/entries",
            post(corrections::create_entry),
        )
        .route(
            "/api/v1/volunteers/{number}/corrections",
            get(corrections::volunteer_corrections),
        )
        .route(
            "/api/v1/volunteers/{number}/entries",
            get(corrections::volunteer_entries),
        )
        .route(
            "/api/v1/organisations/{id}/overdue",
            get(participation::org_overdue),
        )
        .route("/api/v1/overdue", get(participation::region_overdue))
        .route(
            "/api/v1/volunteers/{number}/star",
            get(stars::star_standing),
        )
        .route("/api/v1/me/star-applications", post(stars::apply_for_star))
        .route(
            "/api/v1/star-applications",
            get(stars::list_star_applications),
        )
        .route("/api/v1/star-notices", get(stars::star_notices))
        .route(
            "/api/v1/star-applications/{id}/notice",
            post(stars::start_notice),
        )
        .route(
            "/api/v1/star-applications/{id}/objections",
            get(stars::list_objections).post(stars::object),
        )
        .route(
            "/api/v1/star-applications/{id}/decision",
            post(stars::decide),
        )
        .route("/api/v1/star-applications/{id}/revoke", post(stars::revoke))
        .route(
            "/api/v1/regions/{code}/star-rules",
            get(stars::get_rules).put(stars::set_rules),
        )
        .route(
            "/api/v1/me/certificates",
            get(certificates::mine).post(certificates::issue),
        )
        .route("/api/v1/certificates/{number}/pdf", get(certificates::pdf))
        .route(
            "/api/v1/certificates/{number}/revoke",
            post(certificates::revoke),
        )
        .route(
            "/api/v1/certificates/{number}/verification",
            get(certificates::verify),
        )
        .route("/", get(certificates::verify_form))
        .route("/verify", get(certificates::verify_form))
        .route("/verify/{number}", get(certificates::verify_page))
        .route("/api/v1/me/code", get(participation::my_code))
        .route("/api/v1/me/signups", get(participation::my_signups))
        .route("/api/v1/me/schedule", get(participation::my_schedule))
        .route("/api/v1/me/schedule.ics", get(participation::my_calendar))
        .route(
            "/api/v1/me/calendar-link",
            post(participation::new_calendar_link).delete(participation::end_calendar_link),
        )
        .route("/calendar/{file}", get(participation::linked_calendar))
        .route("/api/v1/audit", get(staff::list_audit))
        .route("/api/v1/ledger", get(ledger::state))
        .route("/api/v1/ledger/inclusion", get(ledger::inclusion))
        .route("/api/v1/ledger/consistency", get(ledger::consistency))
        .route("/api/v1/records/{id}/ledger", get(ledger::record))
        .route("/ledger/checkpoint", get(ledger::checkpoint))
        .route("/ledger/keys", get(ledger::keys))
        .route("/ledger/tile/{*path}", get(ledger::tile))
        .route("/.well-known/did.json", get(credentials::did_document))
        .route(
            "/api/v1/certificates/{number}/credential",
            get(credentials::certificate),
        )
        .route(
            "/api/v1/star-applications/{id}/credential",
            get(credentials::star),
        )
        .route("/credentials/status/{list}", get(credentials::status_list))
        .route(
            "/api/v1/partners",
            get(recognition::list_partners).post(recognition::create_partner),
        )
        .route("/api/v1/partners/{id}", patch(recognition::update_partner))
        .route(
            "/api/v1/me/recognition-challenges",
            post(recognition::challenge),
        )
        .route("/api/v1/me/recognition-bundles", post(recognition::bundle))
        .route("/api/v1/me/recognitions", post(recognition::import))
        .route(
            "/api/v1/me/recognitions/{id}",
            axum::routing::delete(recognition::withdraw),
        )
        .route(
            "/api/v1/volunteers/{number}/recognitions",
            get(recognition::list),
        )
        .route("/api/v1/sites/{id}/menu", get(orders::site_menu))
        .route(
            "/api/v1/sites/{id}/menu/{code}",
            axum::routing::put(orders::put_menu_item),
        )
        .route("/api/v1/menu", get(orders::menu_at))
        .route("/api/v1/needs", post(orders::submit_need))
        .route("/api/v1/needs/{tracking}", get(orders::track))
        .route("/api/v1/needs/{tracking}/cancel", post(orders::cancel_need))
        .route("/api/v1/needs/{tracking}/rating", post(orders::rate))
        .route("/api/v1/orders", get(orders::list_orders))
        .route("/api/v1/orders/{id}", get(orders::get_order))
        .route("/api/v1/orders/{id}/actions", post(orders::act))
        .route("/api/v1/orders/{id}/candidates", get(orders::candidates))
        .route("/api/v1/orders/{id}/activity", post(orders::carry_out))
        .route("/api/v1/order-stats", get(orders::stats))
        .route("/open311/v2/services.json", get(open311::services))
        .route(
            "/open311/v2/services/{file}",
            get(open311::service_definition),
        )
        .route(
            "/open311/v2/requests.json",
            get(open311::requests).post(open311::create_request),
        )
        .route("/open311/v2/requests/{file}", get(open311::request))
        .route("/api/v1/me/qualifications", post(talent::add))
        .route(
            "/api/v1/volunteers/{number}/qualifications",
            get(talent::list),
        )
        .route("/api/v1/qualifications/{id}/decision", post(talent::decide))
        .route("/api/v1/talent-pool", get(talent::pool))
        .route("/api/v1/calls", post(talent::issue_call))
        .route("/api/v1/calls/{id}", get(talent::get_call))
        .route("/api/v1/calls/{id}/members", get(talent::call_members))
        .route("/api/v1/calls/{id}/response", post(talent::answer))
        .route("/api/v1/me/calls", get(talent::my_calls))
        .route("/api/v1/me/notifications", get(notify::inbox))
        .route("/api/v1/me/notifications/unread", get(notify::unread))
        .route("/api/v1/me/notifications/read", post(notify::read_all))
        .route("/api/v1/me/notifications/{id}/read", post(notify::read))
        .route(
            "/api/v1/subscriptions",
            get(notify::subscriptions).post(notify::subscribe),
        )
        .route(
            "/api/v1/subscriptions/{id}",
            axum::routing::delete(notify::unsubscribe),
        )
        .route(
            "/api/v1/subscriptions/{id}/deliveries",
            get(notify::deliveries),
        )
}
