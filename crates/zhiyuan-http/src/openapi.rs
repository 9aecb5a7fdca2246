//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `/api/v1/openapi.json`. `docs/openapi.json` is a committed copy a test keeps equal.

use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    auth, certificates, corrections, credentials, health, ledger, notify, orders, organisations,
    participation, projects, recognition, regions, sites, staff, stars, talent, volunteers,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "zhiyuan",
        description = "Volunteer service information platform: registration, organisations, sites and records.",
        license(name = "Apache-2.0")
    ),
    paths(
        health::healthz, health::readyz,
        auth::login, auth::logout, auth::me, auth::change_password,
        volunteers::register_volunteer, volunteers::get_volunteer, volunteers::update_volunteer,
        volunteers::list_volunteers, volunteers::list_volunteer_memberships,
        regions::list_regions, regions::get_region, regions::create_region, regions::update_region,
        sites::list_sites, sites::get_site, sites::create_site, sites::update_site,
        organisations::list_orgs, organisations::get_org, organisations::create_org,
        organisations::update_org, organisations::list_org_memberships,
        organisations::apply_for_membership, organisations::decide_membership,
        staff::create_staff, staff::list_staff, staff::get_staff, staff::update_staff,
        staff::set_staff_roles,
        staff::list_audit,
        projects::create_project, projects::list_projects, projects::get_project,
        projects::update_project, projects::change_project_status, projects::create_shift,
        projects::list_shifts, projects::update_shift,
        participation::sign_up, participation::list_signups, participation::cancel_signup,
        participation::mark_absent,
        participation::withdraw_absence,
        participation::decide_signup, participation::shift_code, participation::my_code,
        participation::check_in, participation::check_out, participation::report_time,
        participation::decide_record, participation::enter_record, participation::org_records,
        participation::volunteer_records, participation::volunteer_totals,
        participation::my_signups, participation::my_schedule, participation::my_calendar, participation::new_calendar_link, participation::end_calendar_link, participation::linked_calendar, participation::enter_batch, participation::batch_template, participation::org_overdue,
        participation::region_overdue,
        corrections::request_correction, corrections::report_omission,
        corrections::decide_correction, corrections::org_corrections,
        corrections::volunteer_corrections, corrections::record_history,
        corrections::create_entry, corrections::volunteer_entries,
        stars::star_standing, stars::apply_for_star, stars::list_star_applications,
        stars::star_notices, stars::start_notice, stars::object, stars::list_objections,
        stars::decide, stars::revoke, stars::get_rules, stars::set_rules,
        certificates::issue, certificates::mine, certificates::pdf, certificates::revoke,
        certificates::verify,
        ledger::checkpoint, ledger::keys, ledger::tile, ledger::state, ledger::inclusion,
        ledger::consistency, ledger::record, credentials::did_document, credentials::certificate,
        credentials::star, credentials::status_list,
        recognition::list_partners, recognition::create_partner, recognition::update_partner,
        recognition::challenge, recognition::bundle, recognition::import, recognition::list,
        recognition::withdraw,
        orders::site_menu, orders::menu_at, orders::put_menu_item, orders::submit_need,
        orders::track, orders::cancel_need, orders::rate, orders::list_orders,
        orders::get_order, orders::act, orders::stats, orders::candidates, orders::carry_out,
        talent::add, talent::list, talent::decide, talent::pool, talent::issue_call,
        talent::get_call, talent::call_members, talent::my_calls, talent::answer,
        notify::inbox, notify::unread, notify::read_all, notify::read, notify::subscribe,
        notify::subscriptions,
        notify::unsubscribe, notify::deliveries,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "volunteers", description = "Registration and profiles"),
        (name = "notifications", description = "Inbox, webhooks and e-mail subscriptions"),
        (name = "auth", description = "Sessions"),
        (name = "regions", description = "Administrative regions (GB/T 2260)"),
        (name = "sites", description = "Civilization-practice centers, institutes, stations"),
        (name = "organisations", description = "Organisations and teams"),
        (name = "memberships", description = "Volunteers in teams"),
        (name = "staff", description = "Administration and audit"),
        (name = "projects", description = "Projects and shifts"),
        (name = "participation", description = "Sign-ups and attendance"),
        (name = "records", description = "Service records and hours"),
        (name = "stars", description = "Star levels and their certification"),
        (name = "certificates", description = "Record certificates and their verification"),
        (name = "credentials", description = "Verifiable credentials (W3C VC 2.0, eddsa-jcs-2022; Open Badges 3.0), did:web, status lists"),
        (name = "recognition", description = "Mutual recognition of records with partner platforms (Guangdong, Hong Kong, Macau): trust registry, bundles, imports"),
        (name = "orders", description = "Service menus and orders: the public orders, sites make orders, orders go down the levels, volunteers take them, the public rates (Open311 GeoReport v2 at /open311/v2)"),
        (name = "talent", description = "The professional talent pool: qualifications and their verification"),
        (name = "ledger", description = "The tamper-evident ledger: C2SP checkpoints and tiles, RFC 9162 proofs"),
        (name = "operations", description = "Health"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// The document as pretty JSON.
pub fn json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub async fn document() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json(),
    )
}
