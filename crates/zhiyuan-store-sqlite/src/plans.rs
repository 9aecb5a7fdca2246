//! The query plans that matter, checked on a migrated database with the connection
//! settings the store uses (the planner's stability guarantee on): a list filtered by a
//! volunteer, a team, a site or an order's holder must search its index, never scan the
//! table, or it costs a scan of every record in the province; a list of a county's (or
//! wider) rows newest first walks them by id, not through the region index and a sort;
//! pending ledger entries are found in id order through the unique index on `seq`;
//! housekeeping's purge of failed sign-ins reads a range of their start times; a freed
//! place finds the first on the waitlist without sorting the waitlist.

use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::order::Holder;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::OrderQuery;

use crate::SqliteStore;

async fn plan(store: &SqliteStore, sql: String) -> String {
    store
        .read(move |c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
            let rows =
                stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
        .expect("plan")
        .join("; ")
}

#[tokio::test]
async fn lists_reach_their_rows_through_the_index_that_fits_the_filter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let store = SqliteStore::open(&url).await.expect("open");

    // A volunteer's page: their ids sorted from their index alone, then its rows read.
    let by_volunteer = plan(&store, crate::records::list_sql(true, false)).await;
    assert!(
        by_volunteer.contains("USING COVERING INDEX records_volunteer (volunteer_id=?"),
        "{by_volunteer}"
    );
    assert!(
        by_volunteer.contains("SEARCH service_records USING INTEGER PRIMARY KEY (rowid=?)"),
        "{by_volunteer}"
    );
    // The per-day cap, from the same index alone.
    let day = plan(&store, crate::records::DAY_MINUTES.to_owned()).await;
    assert!(
        day.contains("USING COVERING INDEX records_volunteer (volunteer_id=? AND service_date=?)"),
        "{day}"
    );
    // An upload's days of one volunteer, in one walk of the same index, without a sort.
    let days = plan(&store, crate::records::DAYS_MINUTES.to_owned()).await;
    assert!(
        days.contains("USING COVERING INDEX records_volunteer (volunteer_id=? AND service_date>? AND service_date<?)"),
        "{days}"
    );
    assert!(!days.contains("TEMP B-TREE"), "{days}");
    let by_org = plan(&store, crate::records::list_sql(false, true)).await;
    assert!(by_org.contains("records_org (org_id=?"), "{by_org}");
    // A team's index is in id order: its page is read as it is walked, once.
    assert!(!by_org.contains("SUBQUERY"), "{by_org}");

    // A jurisdiction's staff, in region order without a sort.
    let staff = plan(&store, crate::accounts::STAFF_SQL.to_owned()).await;
    assert!(staff.contains("g USING INDEX grants_region"), "{staff}");
    assert!(!staff.contains("TEMP B-TREE"), "{staff}");

    // Housekeeping's purge of failed sign-ins, by the window's start.
    let purge = plan(&store, crate::accounts::PURGE_LOGIN_ATTEMPTS.to_owned()).await;
    assert!(
        purge.contains("USING INDEX login_failures_first_at (first_at<?)"),
        "{purge}"
    );

    // The first on a shift's waitlist, without reading and sorting the others.
    let waitlist = plan(&store, crate::signups::NEXT_WAITLISTED.to_owned()).await;
    assert!(
        waitlist.contains("USING INDEX signups_waitlist (shift_id=?)"),
        "{waitlist}"
    );
    assert!(!waitlist.contains("TEMP B-TREE"), "{waitlist}");

    let members = plan(&store, crate::orgs::memberships_sql(true, false)).await;
    // Through the unique (org_id, volunteer_id) constraint's index.
    assert!(members.contains("SEARCH m USING INDEX"), "{members}");
    assert!(members.contains("(org_id=?)"), "{members}");
    let joined = plan(&store, crate::orgs::memberships_sql(false, true)).await;
    assert!(
        joined.contains("memberships_volunteer (volunteer_id=?"),
        "{joined}"
    );

    let orders = |f: fn(&mut OrderQuery)| {
        let mut q = OrderQuery::default();
        f(&mut q);
        crate::orders::list_sql(&q)
    };
    let by_site = plan(&store, orders(|q| q.site = Some(SiteId(1)))).await;
    assert!(by_site.contains("orders_site (site_id=?"), "{by_site}");
    let by_holder = plan(&store, orders(|q| q.holder = Some(Holder::Site(SiteId(1))))).await;
    assert!(
        by_holder.contains("orders_holder (holder_kind=? AND holder_id=?"),
        "{by_holder}"
    );
    // A village's few orders through the region index; a county's many newest first.
    let village = RegionCode::parse("440106001001").expect("a village");
    let county = RegionCode::parse("440106").expect("a county");
    let in_village = plan(
        &store,
        orders(|q| q.within = RegionCode::parse("440106001001").ok()),
    )
    .await;
    assert!(
        in_village.contains("orders_region (region_code>?"),
        "{in_village}"
    );
    let in_county = plan(
        &store,
        orders(|q| q.within = RegionCode::parse("440106").ok()),
    )
    .await;
    assert!(
        in_county.contains("USING INTEGER PRIMARY KEY (rowid<?)")
            && !in_county.contains("TEMP B-TREE"),
        "{in_county}"
    );
    let at_site = plan(&store, orders(|q| q.at_site = Some(SiteId(1)))).await;
    // Received or held: a page from each index, merged.
    assert!(
        at_site.contains("orders_site (site_id=? AND id<?)")
            && at_site.contains("orders_holder (holder_kind=? AND holder_id=? AND id<?)"),
        "{at_site}"
    );
    let audited = plan(&store, crate::audit::list_sql(Some(village), false)).await;
    assert!(audited.contains("audit_region (region_code>?"), "{audited}");
    let audited = plan(&store, crate::audit::list_sql(Some(county), false)).await;
    assert!(
        audited.contains("USING INTEGER PRIMARY KEY (rowid<?)"),
        "{audited}"
    );
    let subject = plan(&store, crate::audit::list_sql(Some(county), true)).await;
    assert!(
        subject.contains("audit_subject (subject_type=?"),
        "{subject}"
    );

    let overdue = plan(&store, crate::records::unrecorded_sql(true, false)).await;
    // A team's overdue records: from its projects to their shifts that owe records,
    // not every shift that ever ended, nor any sign-up.
    assert!(
        overdue.starts_with("SEARCH p USING INDEX projects_org (org_id=?)"),
        "{overdue}"
    );
    assert!(
        overdue.contains("SEARCH sh USING INDEX shifts_owing_project (project_id=?)"),
        "{overdue}"
    );
    // A jurisdiction's: the shifts that owe records, oldest first, without a sort; and
    // housekeeping's, those not yet flagged.
    for (unflagged, index) in [(false, "shifts_owing"), (true, "shifts_unflagged")] {
        let overdue = plan(&store, crate::records::unrecorded_sql(false, unflagged)).await;
        assert!(
            overdue.starts_with(&format!("SEARCH sh USING INDEX {index} (ends_at<?)")),
            "{overdue}"
        );
        assert!(!overdue.contains("TEMP B-TREE"), "{overdue}");
        assert!(!overdue.contains("signups"), "{overdue}");
    }
    // A new sign-up's overlap check: the volunteer's sign-ups that do not overlap are
    // passed over in the index (what the filter reads, the index covers).
    let overlaps = crate::signups::OVERLAPS;
    let filter = plan(
        &store,
        format!("SELECT s.id FROM signups s WHERE {overlaps}"),
    )
    .await;
    assert_eq!(
        filter,
        "SEARCH s USING COVERING INDEX signups_volunteer_time (volunteer_id=? AND ends_at>?)"
    );
    let detail = plan(&store, crate::signups::overlaps_sql()).await;
    assert!(
        detail
            .contains("SEARCH s USING INDEX signups_volunteer_time (volunteer_id=? AND ends_at>?)"),
        "{detail}"
    );
    let projects = plan(&store, crate::projects::list_sql(true)).await;
    assert!(projects.contains("projects_org (org_id=?"), "{projects}");

    // What the filters used to be: with the stability guarantee on, the plan cannot
    // depend on the parameter being NULL, so it walks the table by id.
    let old = plan(
        &store,
        "SELECT id FROM service_records WHERE id < ?1 AND (?2 IS NULL OR volunteer_id = ?2)
         ORDER BY id DESC LIMIT 10"
            .into(),
    )
    .await;
    assert!(!old.contains("volunteer_id=?"), "{old}");
}

#[tokio::test]
async fn pending_ledger_entries_are_read_in_order_through_the_index_on_seq() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let store = SqliteStore::open(&url).await.expect("open");

    // NULL keys come first in the unique index on seq, in rowid order: no sort, no scan,
    // and no other index needed (migration 0025 dropped the partial one).
    let seq_index = "USING INDEX sqlite_autoindex_ledger_entries_1 (seq=?)";
    let pending = plan(&store, crate::ledger::PENDING.to_owned()).await;
    assert!(pending.contains(seq_index), "{pending}");
    assert!(!pending.contains("TEMP B-TREE"), "{pending}");
    let has_work = plan(&store, crate::ledger::HAS_WORK.to_owned()).await;
    assert!(
        has_work.contains("USING COVERING INDEX sqlite_autoindex_ledger_entries_1 (seq=?)"),
        "{has_work}"
    );
    assert!(!has_work.contains("SCAN ledger_entries"), "{has_work}");
}
