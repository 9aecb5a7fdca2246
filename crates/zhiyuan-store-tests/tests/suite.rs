//! The storage suite. Every test runs on the backend `ZHIYUAN_TEST_BACKEND` names, on a
//! database of its own; `scripts/test` runs the suite once per backend.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use zhiyuan_domain::access::{Grant, GrantedRole};
use zhiyuan_domain::ids::{AccountId, OrgId, SiteId, VolunteerId};
use zhiyuan_domain::org::{MembershipRole, MembershipStatus, OrgKind};
use zhiyuan_domain::project::SignupStatus;
use zhiyuan_domain::region::{Region, RegionLevel, reference_regions};
use zhiyuan_domain::site::{GeoPoint, SiteKind};
use zhiyuan_store::*;
use zhiyuan_store_tests::{audit, code};
use zhiyuan_testkit::TestDb;
use zhiyuan_testkit::volunteer_row as volunteer;

async fn store() -> (TestDb, Arc<dyn Store>) {
    let db = TestDb::new().await;
    let store = db.store().await;
    store
        .ensure_regions(&reference_regions())
        .await
        .expect("reference regions");
    (db, store)
}

async fn add_region(store: &Arc<dyn Store>, c: &str) {
    store
        .insert_region(
            &Region {
                code: code(c),
                name: format!("区域{c}"),
            },
            &audit("region.create", c),
        )
        .await
        .expect("insert region");
}

/// A practice center in Tianhe, 440106 (the region added first).
async fn a_center_in_tianhe(store: &Arc<dyn Store>) -> SiteRecord {
    add_region(store, "440106").await;
    store
        .insert_site(
            &new_site("440106", SiteKind::PracticeCenter),
            &audit("site.create", "440106"),
        )
        .await
        .expect("create the center")
}

async fn audit_count(store: &Arc<dyn Store>) -> usize {
    let mut n = 0;
    let mut page = PageRequest::first(200);
    loop {
        let p = store
            .list_audit(&AuditQuery::default(), &page)
            .await
            .expect("list audit");
        n += p.items.len();
        match p.next {
            Some(c) => page.after = Some(c),
            None => return n,
        }
    }
}

/// The default daily cap, 12 hours.
const CAP: Option<DayCap> = Some(DayCap(12 * 60));

/// A volunteer and a team (without an admin) in Tianhe, 440106.
async fn a_volunteer_and_a_team(store: &Arc<dyn Store>) -> (VolunteerRecord, OrgRecord) {
    add_region(store, "440106").await;
    let v = store
        .insert_volunteer(
            &volunteer(1, "440106"),
            &audit("volunteer.register", "440106"),
        )
        .await
        .expect("register the volunteer");
    let org = store
        .insert_org(
            &new_org("440106"),
            None,
            &audit("organisation.create", "440106"),
        )
        .await
        .expect("create the team");
    (v, org)
}

/// `n` volunteers (the first as `a_volunteer_and_a_team` makes it) and a team, in Tianhe.
async fn volunteers_and_a_team(
    store: &Arc<dyn Store>,
    n: u64,
) -> (Vec<VolunteerRecord>, OrgRecord) {
    let (first, org) = a_volunteer_and_a_team(store).await;
    let mut volunteers = vec![first];
    for i in 2..=n {
        volunteers.push(
            store
                .insert_volunteer(
                    &volunteer(i, "440106"),
                    &audit("volunteer.register", "440106"),
                )
                .await
                .expect("register a volunteer"),
        );
    }
    (volunteers, org)
}

fn new_site(region: &str, kind: SiteKind) -> NewSite {
    NewSite {
        region: code(region),
        kind,
        name: "站点".into(),
        address: "文明路1号".into(),
        location: Some(GeoPoint {
            lat: 23.1,
            lng: 113.2,
        }),
        phone: None,
    }
}

fn new_org(region: &str) -> NewOrg {
    NewOrg {
        kind: OrgKind::GrassrootsTeam,
        name: "志愿服务队".into(),
        credit_code: None,
        parent: None,
        region: code(region),
        site: None,
        description: String::new(),
        contact_name: None,
        contact_phone: None,
        service_categories: vec![],
    }
}

#[test]
fn every_migration_file_is_applied_by_both_backends_in_order() {
    let names = |m: &[(i64, &str, &str)]| -> Vec<(i64, String)> {
        m.iter().map(|(v, n, _)| (*v, n.to_string())).collect()
    };
    let on_disk = |crate_dir: &str| -> Vec<(i64, String)> {
        let dir = format!("{}/../{crate_dir}/migrations", env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations folder")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|f| f.strip_suffix(".sql").map(str::to_owned))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|f| (f[..4].parse().expect("numbered migration"), f))
            .collect()
    };
    let sqlite = names(zhiyuan_store_sqlite::MIGRATIONS);
    assert_eq!(sqlite, on_disk("zhiyuan-store-sqlite"));
    assert_eq!(
        names(zhiyuan_store_postgres::MIGRATIONS),
        on_disk("zhiyuan-store-postgres")
    );
    assert_eq!(sqlite, names(zhiyuan_store_postgres::MIGRATIONS));
}

#[tokio::test]
async fn opening_twice_migrates_once_and_keeps_the_data() {
    let db = TestDb::new().await;
    let first = db.store().await;
    assert_eq!(
        first.ensure_regions(&reference_regions()).await.unwrap(),
        22
    );
    drop(first);
    let again = db.store().await;
    assert_eq!(again.ensure_regions(&reference_regions()).await.unwrap(), 0);
    assert!(again.get_region(code("441900")).await.unwrap().is_some());
}

#[tokio::test]
async fn regions_list_by_subtree_parent_and_level_with_cursors() {
    let (_db, store) = store().await;
    for c in [
        "440106",
        "440106001",
        "440106001001",
        "440106001002",
        "440304",
        "441900003",
    ] {
        add_region(&store, c).await;
    }
    let within = |w: &str| RegionQuery {
        within: Some(code(w)),
        ..Default::default()
    };
    let all = store
        .list_regions(&within("440100"), &PageRequest::first(200))
        .await
        .unwrap();
    let codes: Vec<String> = all.items.iter().map(|r| r.code.to_string()).collect();
    assert_eq!(
        codes,
        [
            "440100",
            "440106",
            "440106001",
            "440106001001",
            "440106001002"
        ]
    );
    let dongguan = store
        .list_regions(
            &RegionQuery {
                parent: Some(code("441900")),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(dongguan.items[0].code.to_string(), "441900003");
    let villages = store
        .list_regions(
            &RegionQuery {
                level: Some(RegionLevel::Village),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(villages.items.len(), 2);
    // Paging two at a time visits every region of the subtree exactly once.
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let p = store.list_regions(&within("440100"), &page).await.unwrap();
        seen.extend(p.items.iter().map(|r| r.code));
        match p.next {
            Some(c) => page.after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, all.items.iter().map(|r| r.code).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_taken_region_code_is_a_conflict_and_writes_no_audit() {
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    let before = audit_count(&store).await;
    let err = store
        .insert_region(
            &Region {
                code: code("440106"),
                name: "again".into(),
            },
            &audit("region.create", "440106"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { field: "code" }));
    assert_eq!(audit_count(&store).await, before);
}

#[tokio::test]
async fn sites_update_with_their_version_and_refuse_a_stale_one() {
    let (_db, store) = store().await;
    let site = a_center_in_tianhe(&store).await;
    assert_eq!(site.version, 1);
    assert_eq!(store.get_site(site.id).await.unwrap().unwrap(), site);
    let mut changed = site.clone();
    changed.site.name = "新名称".into();
    let updated = store
        .update_site(&changed, &audit("site.update", "440106"))
        .await
        .unwrap();
    assert_eq!((updated.version, updated.site.name.as_str()), (2, "新名称"));
    // A second writer still holding version 1 is refused and changes nothing.
    let mut stale = site.clone();
    stale.site.name = "过时".into();
    let err = store
        .update_site(&stale, &audit("site.update", "440106"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { field: "version" }));
    assert_eq!(
        store.get_site(site.id).await.unwrap().unwrap().site.name,
        "新名称"
    );
}

#[tokio::test]
async fn sites_list_within_a_subtree_only() {
    let (_db, store) = store().await;
    for c in ["440106", "440304"] {
        add_region(&store, c).await;
        store
            .insert_site(
                &new_site(c, SiteKind::PracticeCenter),
                &audit("site.create", c),
            )
            .await
            .unwrap();
    }
    let gz = store
        .list_sites(
            &SiteQuery {
                within: Some(code("440100")),
                kind: None,
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(gz.items.len(), 1);
    assert_eq!(gz.items[0].site.region, code("440106"));
}

#[tokio::test]
async fn a_team_with_an_admin_grants_the_admin_a_team_role_in_the_session() {
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    let v = store
        .insert_volunteer(
            &volunteer(1, "440106"),
            &audit("volunteer.register", "440106"),
        )
        .await
        .unwrap();
    let org = store
        .insert_org(
            &new_org("440106"),
            Some(v.id),
            &audit("organisation.create", "440106"),
        )
        .await
        .unwrap();
    let members = store
        .list_memberships(
            &MembershipQuery {
                org: Some(org.id),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(members.items.len(), 1);
    assert_eq!(
        (members.items[0].role, members.items[0].status),
        (MembershipRole::Admin, MembershipStatus::Active)
    );
    let account = store
        .find_account(&v.number.to_string())
        .await
        .unwrap()
        .unwrap();
    let now = OffsetDateTime::now_utc();
    store
        .insert_session(&NewSession {
            token_hash: [7; 32],
            account: account.id,
            created_at: now,
            expires_at: now + Duration::hours(1),
        })
        .await
        .unwrap();
    let principal = store.load_principal(&[7; 32], now).await.unwrap().unwrap();
    assert_eq!(principal.volunteer, Some(v.id));
    assert_eq!(
        principal.grants,
        vec![Grant::Team {
            org: org.id,
            team_role: MembershipRole::Admin
        }]
    );
    assert_eq!(store.volunteer_orgs(v.id).await.unwrap(), vec![org.facts()]);
}

#[tokio::test]
async fn one_volunteer_has_at_most_one_membership_per_team() {
    let (_db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    let m = NewMembership {
        org: org.id,
        volunteer: v.id,
        role: MembershipRole::Member,
        status: MembershipStatus::Pending,
        at: OffsetDateTime::now_utc(),
        decided_by: None,
    };
    let first = store
        .insert_membership(&m, &audit("membership.apply", "440106"))
        .await
        .unwrap();
    let err = store
        .insert_membership(&m, &audit("membership.apply", "440106"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { field: "volunteer" }));
    let mut approved = first.clone();
    approved.status = MembershipStatus::Active;
    let approved = store
        .update_membership(&approved, &audit("membership.update", "440106"))
        .await
        .unwrap();
    assert_eq!(
        (approved.status, approved.version),
        (MembershipStatus::Active, 2)
    );
    assert!(matches!(
        store
            .update_membership(&first, &audit("membership.update", "440106"))
            .await
            .unwrap_err(),
        StoreError::Conflict { field: "version" }
    ));
}

#[tokio::test]
async fn a_registered_document_cannot_register_again_and_nothing_is_half_written() {
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    let v = store
        .insert_volunteer(
            &volunteer(1, "440106"),
            &audit("volunteer.register", "440106"),
        )
        .await
        .unwrap();
    assert_eq!(
        v.number.to_string(),
        volunteer(1, "440106").number.to_string()
    );
    let before = audit_count(&store).await;
    // Same document fingerprint, new number.
    let mut dup = volunteer(2, "440106");
    dup.document.identity_hmac = volunteer(1, "440106").document.identity_hmac;
    let err = store
        .insert_volunteer(&dup, &audit("volunteer.register", "440106"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Conflict {
            field: "id_document.number"
        }
    ));
    // Same number, new document.
    let mut same_number = volunteer(3, "440106");
    same_number.number = v.number;
    let err = store
        .insert_volunteer(&same_number, &audit("volunteer.register", "440106"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { field: "number" }));
    assert_eq!(store.count_volunteers().await.unwrap(), 1);
    assert_eq!(audit_count(&store).await, before);
    assert!(
        store
            .find_account(&dup.number.to_string())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_volunteer_reads_back_as_written_and_updates_with_its_version() {
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    add_region(&store, "440304").await;
    let mut new = volunteer(5, "440106");
    new.guardian = Some(zhiyuan_domain::registration::Guardian {
        name: "监护人".into(),
        phone: "13900139000".into(),
        consented_at: time::macros::datetime!(2026-11-01 10:00 UTC),
    });
    let v = store
        .insert_volunteer(&new, &audit("volunteer.register", "440106"))
        .await
        .unwrap();
    let read = store
        .get_volunteer_by_number(v.number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, v);
    assert_eq!(read.profile, new.profile);
    assert_eq!(read.guardian, new.guardian);
    assert_eq!(read.document_masked, "4401**********0000");
    assert_eq!(
        store.document_ciphertext(v.id).await.unwrap(),
        Some(new.document.ciphertext.clone())
    );
    let mut moved = read.clone();
    moved.profile.residence_region = code("440304");
    let moved = store
        .update_volunteer(&moved, &[audit("volunteer.update", "440106")])
        .await
        .unwrap();
    assert_eq!(moved.version, 2);
    let sz = store
        .list_volunteers(
            &VolunteerQuery {
                within: Some(code("440300")),
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(sz.items.len(), 1);
    assert!(
        store
            .list_volunteers(
                &VolunteerQuery {
                    within: Some(code("440100"))
                },
                &PageRequest::first(10)
            )
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn bulk_loading_writes_volunteers_and_memberships_in_one_batch() {
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    let org = store
        .insert_org(
            &new_org("440106"),
            None,
            &audit("organisation.create", "440106"),
        )
        .await
        .unwrap();
    let batch: Vec<(NewVolunteer, Option<OrgId>)> = (10..1010)
        .map(|n| (volunteer(n, "440106"), (n % 2 == 0).then_some(org.id)))
        .collect();
    let before = audit_count(&store).await;
    store
        .insert_volunteers_bulk(&batch, &audit("volunteer.seed", "440106"))
        .await
        .unwrap();
    assert_eq!(store.count_volunteers().await.unwrap(), 1000);
    assert_eq!(audit_count(&store).await, before + 1);
    let members = store
        .list_memberships(
            &MembershipQuery {
                org: Some(org.id),
                ..Default::default()
            },
            &PageRequest::first(200),
        )
        .await
        .unwrap();
    assert_eq!(members.items.len(), 200);
    assert!(members.next.is_some());
    // A batch with one duplicate inside writes nothing at all.
    let mut bad: Vec<(NewVolunteer, Option<OrgId>)> = (2000..2010)
        .map(|n| (volunteer(n, "440106"), None))
        .collect();
    bad.push((volunteer(10, "440106"), None));
    assert!(
        store
            .insert_volunteers_bulk(&bad, &audit("volunteer.seed", "440106"))
            .await
            .is_err()
    );
    assert_eq!(store.count_volunteers().await.unwrap(), 1000);
}

/// Sessions of `account` for an hour from `now`.
async fn open_sessions(
    store: &Arc<dyn Store>,
    account: AccountId,
    hashes: &[[u8; 32]],
    now: OffsetDateTime,
) {
    for &token_hash in hashes {
        let session = NewSession {
            token_hash,
            account,
            created_at: now,
            expires_at: now + Duration::hours(1),
        };
        store
            .insert_session(&session)
            .await
            .expect("open a session");
    }
}

#[tokio::test]
async fn sessions_expire_end_are_purged_and_carry_granted_roles() {
    let (_db, store) = store().await;
    let site = a_center_in_tianhe(&store).await;
    let account = store
        .insert_account(
            &NewAccount {
                login: "gz-admin".into(),
                display_name: "管理员".into(),
                password_hash: "$argon2id$fake".into(),
                volunteer: None,
                grants: vec![
                    GrantRow {
                        role: GrantedRole::JurisdictionAdmin,
                        region: code("440100"),
                        site: None,
                    },
                    GrantRow {
                        role: GrantedRole::SiteStaff,
                        region: code("440106"),
                        site: Some(site.id),
                    },
                ],
            },
            &audit("account.create", "440100"),
        )
        .await
        .unwrap();
    let dup = store
        .insert_account(
            &NewAccount {
                login: "gz-admin".into(),
                display_name: "x".into(),
                password_hash: "x".into(),
                volunteer: None,
                grants: vec![],
            },
            &audit("account.create", "440100"),
        )
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { field: "login" }));
    let now = OffsetDateTime::now_utc();
    for (hash, expires) in [
        ([1u8; 32], now + Duration::hours(1)),
        ([2u8; 32], now - Duration::seconds(1)),
    ] {
        store
            .insert_session(&NewSession {
                token_hash: hash,
                account: account.id,
                created_at: now,
                expires_at: expires,
            })
            .await
            .unwrap();
    }
    let p = store.load_principal(&[1; 32], now).await.unwrap().unwrap();
    assert_eq!(
        p.grants,
        vec![
            Grant::JurisdictionAdmin {
                region: code("440100")
            },
            Grant::SiteStaff { site: site.id }
        ]
    );
    assert_eq!(store.account_grants(account.id).await.unwrap().len(), 2);
    assert!(store.load_principal(&[2; 32], now).await.unwrap().is_none());
    assert!(store.load_principal(&[3; 32], now).await.unwrap().is_none());
    // Purging takes expired sessions only, at most `limit` at a time.
    store
        .insert_session(&NewSession {
            token_hash: [4; 32],
            account: account.id,
            created_at: now,
            expires_at: now - Duration::hours(1),
        })
        .await
        .unwrap();
    assert_eq!(store.delete_expired_sessions(now, 1).await.unwrap(), 1);
    assert_eq!(store.delete_expired_sessions(now, 1).await.unwrap(), 1);
    assert_eq!(store.delete_expired_sessions(now, 1).await.unwrap(), 0);
    assert!(store.load_principal(&[1; 32], now).await.unwrap().is_some());
    store.delete_session(&[1; 32]).await.unwrap();
    assert!(store.load_principal(&[1; 32], now).await.unwrap().is_none());
    // Disabling an account ends every session of it, with its audit entry; enabling it
    // again brings none back.
    open_sessions(&store, account.id, &[[5; 32], [6; 32]], now).await;
    let about = |action| {
        let mut entry = audit(action, "440100");
        entry.subject_type = "account";
        entry.subject_id = account.id.0.to_string();
        entry
    };
    let entry = about("account.disable");
    let off = store
        .set_account_disabled(account.id, true, &entry)
        .await
        .unwrap();
    assert!(off.disabled);
    // Again: nothing to change, no second entry.
    let again = store
        .set_account_disabled(account.id, true, &entry)
        .await
        .unwrap();
    assert!(again.disabled);
    let on = store
        .set_account_disabled(account.id, false, &about("account.enable"))
        .await
        .unwrap();
    assert!(!on.disabled);
    for hash in [[5; 32], [6; 32]] {
        assert!(store.load_principal(&hash, now).await.unwrap().is_none());
    }
    let subject = Some(("account".to_owned(), account.id.0.to_string()));
    let trail = store
        .list_audit(
            &AuditQuery {
                within: None,
                subject,
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    let actions: Vec<&str> = trail.items.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["account.enable", "account.disable"]);
    let unknown = store
        .set_account_disabled(AccountId(account.id.0 + 1000), true, &entry)
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    // A new password keeps the session it was set from and ends the others.
    open_sessions(&store, account.id, &[[7; 32], [8; 32]], now).await;
    let entry = about("account.password");
    store
        .set_password(account.id, "$argon2id$new", &[7; 32], &entry)
        .await
        .unwrap();
    assert!(store.load_principal(&[7; 32], now).await.unwrap().is_some());
    assert!(store.load_principal(&[8; 32], now).await.unwrap().is_none());
    let stored = store.get_account(account.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some("$argon2id$new"));
    let unknown = AccountId(account.id.0 + 1000);
    assert!(store.get_account(unknown).await.unwrap().is_none());
    let missing = store.set_password(unknown, "x", &[7; 32], &entry).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

#[tokio::test]
async fn replacing_roles_keeps_the_rows_kept_and_refuses_a_stale_view() {
    let (_db, store) = store().await;
    let site = a_center_in_tianhe(&store).await;
    let admin = |region: &str| GrantRow {
        role: GrantedRole::JurisdictionAdmin,
        region: code(region),
        site: None,
    };
    let station = GrantRow {
        role: GrantedRole::SiteStaff,
        region: code("440106"),
        site: Some(site.id),
    };
    let account = store
        .insert_account(
            &NewAccount {
                login: "mover".into(),
                display_name: "调动".into(),
                password_hash: "$argon2id$fake".into(),
                volunteer: None,
                grants: vec![admin("440100"), station.clone()],
            },
            &audit("account.create", "440000"),
        )
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    open_sessions(&store, account.id, &[[9; 32]], now).await;
    let grant_ids = |store: Arc<dyn Store>| async move {
        let page = store
            .list_staff(code("440000"), &PageRequest::first(10))
            .await
            .unwrap();
        page.items
            .into_iter()
            .map(|s| (s.grant, s.grant_id))
            .collect::<Vec<_>>()
    };
    let before = grant_ids(store.clone()).await;
    let audits = audit_count(&store).await;
    // Guangzhou's admin moves to Shenzhen; the station stays, with its row.
    let moved = vec![station.clone(), admin("440300")];
    let held = store
        .replace_grants(
            account.id,
            &[station.clone(), admin("440100")],
            &moved,
            &[
                audit("account.roles", "440100"),
                audit("account.roles", "440300"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(held, [station.clone(), admin("440300")]);
    let after = grant_ids(store.clone()).await;
    let kept = |rows: &[(GrantRow, i64)]| rows.iter().find(|(g, _)| *g == station).map(|r| r.1);
    assert_eq!(kept(&after), kept(&before));
    assert!(!after.iter().any(|(g, _)| *g == admin("440100")));
    // Filed under each city; the whole trail shows the change once.
    assert_eq!(audit_count(&store).await, audits + 1);
    // The session goes on, with the new roles.
    let p = store.load_principal(&[9; 32], now).await.unwrap().unwrap();
    assert!(p.grants.contains(&Grant::JurisdictionAdmin {
        region: code("440300")
    }));
    assert!(!p.grants.contains(&Grant::JurisdictionAdmin {
        region: code("440100")
    }));
    // The same roles again: nothing written.
    let same = store
        .replace_grants(
            account.id,
            &moved,
            &moved,
            &[audit("account.roles", "440000")],
        )
        .await
        .unwrap();
    assert_eq!(same, held);
    assert_eq!(audit_count(&store).await, audits + 1);
    // A change without an audit entry is a caller's bug: refused, nothing changed.
    let unaudited = store
        .replace_grants(account.id, &moved, &[admin("440100")], &[])
        .await;
    assert!(
        matches!(unaudited, Err(StoreError::Internal(_))),
        "{unaudited:?}"
    );
    assert_eq!(store.account_grants(account.id).await.unwrap(), held);
    // Planned on the roles as they were: refused, nothing changed.
    let stale = store
        .replace_grants(
            account.id,
            &[admin("440100"), station.clone()],
            &[admin("440100")],
            &[audit("account.roles", "440000")],
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { field: "roles" })),
        "{stale:?}"
    );
    assert_eq!(store.account_grants(account.id).await.unwrap(), held);
    // Two administrators at once, both planning on what they read: one wins.
    let attempts = ["440100", "440400"].map(|region| {
        let (store, moved) = (store.clone(), moved.clone());
        tokio::spawn(async move {
            store
                .replace_grants(
                    account.id,
                    &moved,
                    &[admin(region)],
                    &[audit("account.roles", "440000")],
                )
                .await
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let won: Vec<_> = outcomes.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|r| matches!(r, Err(StoreError::Conflict { field: "roles" })))
    );
    assert_eq!(&store.account_grants(account.id).await.unwrap(), won[0]);
    assert_eq!(audit_count(&store).await, audits + 2);
    let unknown = store
        .replace_grants(
            AccountId(account.id.0 + 1000),
            &[],
            &[admin("440100")],
            &[audit("account.roles", "440000")],
        )
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

#[tokio::test]
async fn announcements_are_read_in_order_from_a_stamp_and_purged_by_age() {
    let (_db, store) = store().await;
    let start = store.announcement_clock().await.unwrap();
    store.announce("a principals").await.unwrap();
    // Apart by more than a clock tick, so that the second's stamp is later.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    store.announce("a site 7").await.unwrap();
    let read = store.announcements_since(start, 10).await.unwrap();
    let texts: Vec<&str> = read.iter().map(|a| a.message.as_str()).collect();
    assert_eq!(texts, ["a principals", "a site 7"]);
    assert!(read[0].id < read[1].id && read[0].at < read[1].at);
    assert!(
        read[0].at >= start,
        "stamped by the same clock as the start"
    );
    // From the second's stamp, the first is not read; a limit cuts the oldest first.
    let later = store.announcements_since(read[1].at, 10).await.unwrap();
    assert!(later.iter().all(|a| a.id != read[0].id));
    let first = store.announcements_since(start, 1).await.unwrap();
    assert_eq!(first, read[..1]);
    // Purging takes those stamped before the time given.
    assert_eq!(store.purge_announcements(start).await.unwrap(), 0);
    let after = read[1].at + Duration::microseconds(1);
    assert_eq!(store.purge_announcements(after).await.unwrap(), 2);
    assert!(
        store
            .announcements_since(start, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn login_attempts_count_up_to_a_lock_and_start_again_after_it_or_the_window() {
    let (_db, store) = store().await;
    let t0 = time::macros::datetime!(2026-11-25 10:00 UTC);
    let limits = LoginLimits {
        max: 3,
        window: Duration::minutes(15),
        lockout: Duration::minutes(30),
    };
    let at = |mins: i64| t0 + Duration::minutes(mins);
    let mut seen = Vec::new();
    for mins in [0, 1, 2, 3, 4] {
        let a = store
            .count_login_attempt("someone", at(mins), limits)
            .await
            .unwrap();
        seen.push((a.count, a.first_at, a.locked_until));
    }
    // The third locks for the lockout from itself; later ones count on under the lock.
    let lock = Some(at(2 + 30));
    assert_eq!(
        seen,
        [
            (1, t0, None),
            (2, t0, None),
            (3, t0, lock),
            (4, t0, lock),
            (5, t0, lock)
        ]
    );
    // Past the lock (and the window): a fresh count.
    let after = store
        .count_login_attempt("someone", at(33), limits)
        .await
        .unwrap();
    assert_eq!(
        (after.count, after.first_at, after.locked_until),
        (1, at(33), None)
    );
    // Past the window without a lock: fresh too.
    let later = store
        .count_login_attempt("someone", at(49), limits)
        .await
        .unwrap();
    assert_eq!((later.count, later.first_at), (1, at(49)));
    // Cleared after a right password; other logins have counts of their own.
    store.clear_login_attempts("someone").await.unwrap();
    let other = store
        .count_login_attempt("another", at(50), limits)
        .await
        .unwrap();
    let again = store
        .count_login_attempt("someone", at(50), limits)
        .await
        .unwrap();
    assert_eq!((other.count, again.count), (1, 1));
    // Purging takes counts whose window has passed and that no lock holds.
    for _ in 0..3 {
        store
            .count_login_attempt("locked", at(51), limits)
            .await
            .unwrap();
    }
    let purged = store
        .purge_login_attempts(at(70) - limits.window, at(70))
        .await
        .unwrap();
    assert_eq!(purged, 2, "someone and another; locked until 81");
    let locked = store
        .count_login_attempt("locked", at(70), limits)
        .await
        .unwrap();
    assert_eq!(locked.count, 4);
    let fresh = store
        .count_login_attempt("someone", at(70), limits)
        .await
        .unwrap();
    assert_eq!(fresh.count, 1);
}

#[tokio::test]
async fn concurrent_login_attempts_each_count() {
    let (_db, store) = store().await;
    let now = OffsetDateTime::now_utc();
    let limits = LoginLimits {
        max: 5,
        window: Duration::minutes(15),
        lockout: Duration::minutes(15),
    };
    let attempts = (0..20).map(|_| store.count_login_attempt("someone", now, limits));
    let mut counts: Vec<u32> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|a| a.unwrap().count)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<u32>>());
}

#[tokio::test]
async fn the_audit_trail_lists_newest_first_by_region_and_subject() {
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    add_region(&store, "440304").await;
    let mut registered = audit("volunteer.register", "440106");
    registered.subject_type = "volunteer";
    let v = store
        .insert_volunteer(&volunteer(1, "440106"), &registered)
        .await
        .unwrap();
    let mut changed = v.clone();
    changed.profile.phone = "13900000000".into();
    let mut entry = audit("volunteer.update", "440106");
    entry.subject_type = "volunteer";
    entry.subject_id = v.number.to_string();
    entry.reason = Some("更正".into());
    store.update_volunteer(&changed, &[entry]).await.unwrap();

    let gz = store
        .list_audit(
            &AuditQuery {
                within: Some(code("440100")),
                subject: None,
            },
            &PageRequest::first(50),
        )
        .await
        .unwrap();
    let actions: Vec<&str> = gz.items.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        ["volunteer.update", "volunteer.register", "region.create"]
    );
    assert!(
        gz.items
            .iter()
            .all(|a| code("440100").contains(a.region.unwrap()))
    );
    assert_eq!(gz.items[0].reason.as_deref(), Some("更正"));
    let subject = store
        .list_audit(
            &AuditQuery {
                within: None,
                subject: Some(("volunteer".into(), v.number.to_string())),
            },
            &PageRequest::first(50),
        )
        .await
        .unwrap();
    // The registration's subject id is the number the backend fills in.
    assert_eq!(subject.items.len(), 2);

    // The volunteer moves to Shenzhen: the change is filed under both cities, and shows
    // once in each city's trail, once in the province's and once in the volunteer's own.
    let mut moved = store.get_volunteer(v.id).await.unwrap().unwrap();
    moved.profile.residence_region = code("440304");
    let mut entry = audit("volunteer.update", "440000");
    entry.subject_type = "volunteer";
    entry.subject_id = v.number.to_string();
    entry.reason = Some("搬家".into());
    let entries = entry.in_each([code("440106"), code("440304")]);
    assert_eq!(entries.len(), 2);
    store.update_volunteer(&moved, &entries).await.unwrap();
    for (within, subject) in [
        (Some("440100"), None),
        (Some("440300"), None),
        (Some("440000"), None),
        (None, Some(("volunteer".to_owned(), v.number.to_string()))),
        (None, None),
    ] {
        let trail = store
            .list_audit(
                &AuditQuery {
                    within: within.map(code),
                    subject,
                },
                &PageRequest::first(50),
            )
            .await
            .unwrap();
        let moves = trail
            .items
            .iter()
            .filter(|a| a.reason.as_deref() == Some("搬家"))
            .count();
        assert_eq!(moves, 1, "the move once in the trail of {within:?}");
    }
    // A page boundary does not skip or repeat entries.
    let first = store
        .list_audit(&AuditQuery::default(), &PageRequest::first(2))
        .await
        .unwrap();
    let second = store
        .list_audit(
            &AuditQuery::default(),
            &PageRequest {
                limit: 2,
                after: first.next.clone(),
            },
        )
        .await
        .unwrap();
    assert!(first.items.last().unwrap().id > second.items[0].id);
}

#[tokio::test]
async fn writers_on_many_tasks_are_all_applied() {
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    let tasks: Vec<_> = (0..64u64)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_volunteer(
                        &volunteer(100 + n, "440106"),
                        &audit("volunteer.register", "440106"),
                    )
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.count_volunteers().await.unwrap(), 64);
}

/// Writes arriving together (which SQLite commits as one group) keep their own outcomes:
/// the ones that fail leave nothing behind, the others all land with their audit rows.
#[tokio::test]
async fn concurrent_writes_with_failures_among_them_keep_their_own_outcomes() {
    let (_db, store) = store().await;
    let before = audit_count(&store).await;
    // 200 writes for 100 logins: every login is asked for twice.
    let writes = (0..200).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .insert_account(
                    &NewAccount {
                        login: format!("login-{}", i % 100),
                        display_name: format!("账户{i}"),
                        password_hash: "$argon2id$fake".into(),
                        volunteer: None,
                        grants: vec![],
                    },
                    &audit("account.create", "440100"),
                )
                .await
        })
    });
    let outcomes = futures::future::join_all(writes).await;
    let mut created = 0;
    for outcome in outcomes {
        match outcome.expect("task") {
            Ok(_) => created += 1,
            Err(StoreError::Conflict { field: "login" }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 100, "one write per login succeeds");
    for i in 0..100 {
        let login = format!("login-{i}");
        assert!(
            store.find_account(&login).await.unwrap().is_some(),
            "{login}"
        );
    }
    assert_eq!(
        audit_count(&store).await - before,
        100,
        "the failed writes left no audit rows"
    );
}

/// A sign-up follows its shift in time: the overlaps a new sign-up reports and the
/// volunteer's schedule use the shift's times as they are now, not as they were.
#[tokio::test]
async fn moving_a_shift_moves_its_sign_ups_in_the_volunteers_schedule() {
    let (_db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    let now = OffsetDateTime::now_utc();
    let project = store
        .insert_project(
            &sample_project(org.id, now),
            &audit("project.create", "440106"),
        )
        .await
        .unwrap();
    let shift_at = |hours: i64| NewShift {
        project: project.id,
        position: format!("{hours}点岗"),
        starts_at: now + Duration::hours(hours),
        ends_at: now + Duration::hours(hours + 2),
        capacity: 5,
    };
    let early = store
        .insert_shift(&shift_at(24), &audit("shift.create", "440106"))
        .await
        .unwrap();
    let late = store
        .insert_shift(&shift_at(48), &audit("shift.create", "440106"))
        .await
        .unwrap();
    store
        .sign_up(
            early.id,
            v.id,
            now,
            Box::new(|_| Ok(())),
            &audit("signup.create", "440106"),
        )
        .await
        .unwrap();
    let schedule = |after: i64| {
        let store = store.clone();
        async move {
            store
                .volunteer_schedule(v.id, now + Duration::hours(after), 10)
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.shift.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(schedule(30).await, []);
    // The early shift moves onto the late one's hours.
    let mut moved = early.clone();
    moved.shift.starts_at = now + Duration::hours(47);
    moved.shift.ends_at = now + Duration::hours(49);
    store
        .update_shift(&moved, &audit("shift.update", "440106"))
        .await
        .unwrap();
    let made = store
        .sign_up(
            late.id,
            v.id,
            now,
            Box::new(|_| Ok(())),
            &audit("signup.create", "440106"),
        )
        .await
        .unwrap();
    let overlapping: Vec<_> = made.overlaps.iter().map(|d| d.shift.id).collect();
    assert_eq!(overlapping, [early.id]);
    // Both sign-ups now come after the 46th hour, the moved one first.
    assert_eq!(schedule(46).await, [early.id, late.id]);
}

/// A refused check leaves no sign-up, takes no place and writes no audit entry.
#[tokio::test]
async fn a_refused_sign_up_leaves_nothing_behind() {
    use zhiyuan_domain::project::ProjectStatus;

    let (_db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    let now = OffsetDateTime::now_utc();
    let project = store
        .insert_project(
            &NewProject {
                status: ProjectStatus::Draft,
                ..sample_project(org.id, now)
            },
            &audit("project.create", "440106"),
        )
        .await
        .unwrap();
    let shift = store
        .insert_shift(
            &NewShift {
                project: project.id,
                position: "岗位".into(),
                starts_at: now + Duration::hours(24),
                ends_at: now + Duration::hours(26),
                capacity: 1,
            },
            &audit("shift.create", "440106"),
        )
        .await
        .unwrap();
    let before = audit_count(&store).await;
    let refused = store
        .sign_up(
            shift.id,
            v.id,
            now,
            Box::new(|facts| {
                assert_eq!(facts.project.project.status, ProjectStatus::Draft);
                Err(Refusal::new("shift", "the project is not open for sign-up"))
            }),
            &audit("signup.create", "440106"),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        StoreError::Refused(Refusal { field: "shift", .. })
    ));
    assert!(store.find_signup(shift.id, v.id).await.unwrap().is_none());
    assert_eq!(places_taken(&store, shift.id).await, 0);
    assert_eq!(audit_count(&store).await, before);
}

/// Many sign-ups at once (which PostgreSQL commits in groups and SQLite's writer in one
/// transaction) each get the outcome they would get alone: places first come first
/// served, a volunteer's second sign-up for a shift refused, a refused check or an unknown
/// shift failing only itself, and each sign-up's overlaps its own volunteer's.
#[tokio::test]
async fn concurrent_sign_ups_each_get_the_outcome_they_would_get_alone() {
    let (_db, store) = store().await;
    let (volunteers, org) = volunteers_and_a_team(&store, 24).await;
    let now = OffsetDateTime::now_utc();
    let project = store
        .insert_project(
            &sample_project(org.id, now),
            &audit("project.create", "440106"),
        )
        .await
        .expect("publish the project");
    let shift = |from: i64, to: i64, capacity: i64| {
        let store = store.clone();
        async move {
            store
                .insert_shift(
                    &NewShift {
                        project: project.id,
                        position: format!("{from}点岗"),
                        starts_at: now + Duration::hours(from),
                        ends_at: now + Duration::hours(to),
                        capacity,
                    },
                    &audit("shift.create", "440106"),
                )
                .await
                .expect("add a shift")
        }
    };
    // Three places for 24; a shift overlapping it with room for all; and a later shift.
    let (few, overlapping, later) = (
        shift(24, 26, 3).await,
        shift(25, 27, 100).await,
        shift(48, 50, 100).await,
    );
    let before = audit_count(&store).await;
    let sign_up = |shift: ShiftId, v: &VolunteerRecord, refuse: bool| {
        let (store, volunteer) = (store.clone(), v.id);
        tokio::spawn(async move {
            store
                .sign_up(
                    shift,
                    volunteer,
                    now,
                    Box::new(move |_| match refuse {
                        true => Err(Refusal::new("shift", "refused")),
                        false => Ok(()),
                    }),
                    &audit("signup.create", "440106"),
                )
                .await
        })
    };
    // Every volunteer for the few places; volunteer 0 also twice for the later shift;
    // volunteer 1 refused by its check; volunteer 2 for a shift that does not exist.
    let mut for_few = Vec::new();
    for (i, v) in volunteers.iter().enumerate() {
        for_few.push(sign_up(few.id, v, i == 1));
    }
    let twice = [
        sign_up(later.id, &volunteers[0], false),
        sign_up(later.id, &volunteers[0], false),
    ];
    let unknown = sign_up(ShiftId(few.id.0 + 1_000), &volunteers[2], false);

    let mut accepted = 0;
    let mut made = Vec::new();
    for (i, task) in for_few.into_iter().enumerate() {
        match (i, task.await.expect("the sign-up task")) {
            (1, Err(StoreError::Refused(r))) => assert_eq!(r.field, "shift"),
            (1, other) => panic!("volunteer 1's check refuses, got {other:?}"),
            (_, Ok(m)) => {
                accepted += usize::from(m.signup.status == SignupStatus::Accepted);
                assert!(
                    matches!(
                        m.signup.status,
                        SignupStatus::Accepted | SignupStatus::Waitlisted
                    ),
                    "{:?}",
                    m.signup.status
                );
                assert!(m.overlaps.is_empty(), "nothing else overlaps yet");
                made.push(m.signup);
            }
            (i, Err(e)) => panic!("volunteer {i}'s sign-up failed: {e}"),
        }
    }
    assert_eq!(accepted, 3, "exactly the places there are");
    assert_eq!(store.get_shift(few.id).await.unwrap().unwrap().accepted, 3);
    for m in &made {
        assert_eq!(
            store.get_signup(m.id).await.unwrap().as_ref(),
            Some(m),
            "each sign-up is stored as returned"
        );
    }
    let mut twice_outcomes = Vec::new();
    for task in twice {
        twice_outcomes.push(task.await.expect("the sign-up task"));
    }
    assert_eq!(
        twice_outcomes.iter().filter(|r| r.is_ok()).count(),
        1,
        "one of the same volunteer's two sign-ups for a shift is made"
    );
    assert!(
        twice_outcomes
            .iter()
            .any(|r| matches!(r, Err(StoreError::Conflict { field: "volunteer" })))
    );
    assert!(matches!(
        unknown.await.expect("the sign-up task"),
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .find_signup(few.id, volunteers[1].id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        audit_count(&store).await,
        before + made.len() + 1,
        "one audit entry per sign-up made, none for those refused"
    );

    // Now everyone but volunteer 1 at once for the overlapping shift: each is told of
    // their own sign-up for the few places, and nobody else's.
    let tasks: Vec<_> = volunteers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, v)| (v.id, sign_up(overlapping.id, v, false)))
        .collect();
    for (volunteer, task) in tasks {
        let m = task.await.expect("the sign-up task").expect("signed up");
        let told: Vec<(ShiftId, zhiyuan_domain::ids::VolunteerId)> = m
            .overlaps
            .iter()
            .map(|d| (d.shift.id, d.signup.volunteer))
            .collect();
        assert_eq!(told, [(few.id, volunteer)]);
    }
}

/// Signs volunteer `v` up for `shift`, accepted while it has places.
async fn signed_up(store: &Arc<dyn Store>, shift: ShiftId, v: VolunteerId) -> SignupRecord {
    store
        .sign_up(
            shift,
            v,
            OffsetDateTime::now_utc() - Duration::days(1),
            Box::new(|_| Ok(())),
            &audit("signup.create", "440106"),
        )
        .await
        .expect("sign up")
        .signup
}

/// Many check-ins at once (which PostgreSQL commits in groups) each open their own
/// attendance, audited under its id; one volunteer checked in twice at once gets one
/// attendance, returned unchanged to the second call, and one audit entry; one without a
/// sign-up, in the same rounds, is refused and leaves nothing.
#[tokio::test]
async fn concurrent_check_ins_each_open_their_own_attendance_once() {
    let (_db, store) = store().await;
    let (mut volunteers, org) = volunteers_and_a_team(&store, 13).await;
    let now = OffsetDateTime::now_utc();
    let (_, shift) =
        a_project_with_a_shift(&store, org.id, now, (now, now + Duration::hours(2)), 100).await;
    let stranger = volunteers.pop().expect("13 volunteers");
    for v in &volunteers {
        signed_up(&store, shift.id, v.id).await;
    }
    let before = audit_count(&store).await;
    let check_in = |v: &VolunteerRecord| {
        let (store, volunteer) = (store.clone(), v.id);
        tokio::spawn(async move {
            store
                .check_in(
                    &NewAttendance {
                        shift: shift.id,
                        volunteer,
                        at: now,
                        method: AttendanceMethod::Coordinator,
                        distance_m: Some(12),
                    },
                    &AuditEntry {
                        subject_type: "attendance",
                        ..audit("attendance.check_in", "440106")
                    },
                )
                .await
        })
    };
    let twice = check_in(&volunteers[0]);
    let unsigned = check_in(&stranger);
    let tasks: Vec<_> = volunteers.iter().map(check_in).collect();
    let refused = unsigned
        .await
        .expect("the check-in task")
        .expect_err("no sign-up");
    assert!(
        matches!(&refused, StoreError::Refused(r) if r.field == "shift"),
        "{refused:?}"
    );
    let mut outcomes = vec![twice.await.expect("the check-in task")];
    for task in tasks {
        outcomes.push(task.await.expect("the check-in task"));
    }
    let outcomes: Vec<(AttendanceRecord, bool)> = outcomes
        .into_iter()
        .map(|r| r.expect("every check-in is answered"))
        .collect();
    let (first_twice, rest) = outcomes.split_at(2);
    assert_eq!(first_twice[0].0.id, first_twice[1].0.id, "one attendance");
    assert_eq!(
        first_twice.iter().filter(|(_, changed)| *changed).count(),
        1,
        "one of two check-ins of the same volunteer opens it"
    );
    assert!(rest[1..].iter().all(|(_, changed)| *changed), "{rest:?}");
    for ((a, _), v) in outcomes[1..].iter().zip(&volunteers) {
        assert_eq!((a.shift, a.volunteer), (shift.id, v.id));
        assert_eq!(a.distance_m, Some(12));
        let stored = store
            .get_attendance(shift.id, v.id)
            .await
            .expect("read the attendance")
            .expect("it exists");
        assert_eq!(stored.id, a.id);
        let logged = store
            .list_audit(
                &AuditQuery {
                    within: None,
                    subject: Some(("attendance".into(), a.id.0.to_string())),
                },
                &PageRequest::first(10),
            )
            .await
            .expect("list the attendance's audit entries");
        assert_eq!(logged.items.len(), 1, "one audit entry per attendance");
        assert_eq!(logged.items[0].action, "attendance.check_in");
    }
    assert_eq!(audit_count(&store).await, before + volunteers.len());
    assert_eq!(
        store.get_attendance(shift.id, stranger.id).await.unwrap(),
        None
    );
}

/// A volunteer marked absent while being checked in, both at once: exactly one of the two
/// happens, whichever comes first, and the other is refused on what the first wrote (the
/// absence on `attendance`, the check-in on `shift`). Never both: an absent volunteer with
/// an attendance would owe a record nobody asked of them.
#[tokio::test]
async fn a_check_in_and_an_absence_at_once_never_both_happen() {
    let (_db, store) = store().await;
    let (volunteers, org) = volunteers_and_a_team(&store, 24).await;
    let now = OffsetDateTime::now_utc();
    let (_, shift) =
        a_project_with_a_shift(&store, org.id, now, (now, now + Duration::hours(2)), 100).await;
    let mut signups = Vec::new();
    for v in &volunteers {
        signups.push(signed_up(&store, shift.id, v.id).await);
    }
    // Staggered by up to a few milliseconds either way, so that each goes first for some.
    let stagger = |i: usize| std::time::Duration::from_micros((i % 8) as u64 * 400);
    let races: Vec<_> = signups
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (a, b) = (store.clone(), store.clone());
            let (id, volunteer) = (s.id, s.volunteer);
            let absent = tokio::spawn(async move {
                tokio::time::sleep(stagger(i)).await;
                a.set_absent(id, true, now, &audit("signup.absent", "440106"))
                    .await
            });
            let came = tokio::spawn(async move {
                tokio::time::sleep(stagger(i + 4)).await;
                b.check_in(
                    &NewAttendance {
                        shift: shift.id,
                        volunteer,
                        at: now,
                        method: AttendanceMethod::Coordinator,
                        distance_m: None,
                    },
                    &audit("attendance.check_in", "440106"),
                )
                .await
            });
            (volunteer, absent, came)
        })
        .collect();
    let mut absences = 0;
    for (volunteer, absent, came) in races {
        let absent = absent.await.expect("the absence task");
        let came = came.await.expect("the check-in task");
        let attendance = store.get_attendance(shift.id, volunteer).await.unwrap();
        let status = store
            .find_signup(shift.id, volunteer)
            .await
            .unwrap()
            .expect("the sign-up")
            .status;
        match (&absent, &came) {
            (Ok(_), Err(StoreError::Refused(r))) if r.field == "shift" => {
                absences += 1;
                assert_eq!((status, attendance), (SignupStatus::Absent, None));
            }
            (
                Err(StoreError::Conflict {
                    field: "attendance",
                }),
                Ok((a, true)),
            ) => {
                assert_eq!(status, SignupStatus::Accepted);
                assert_eq!(attendance.map(|s| s.id), Some(a.id));
            }
            other => panic!("both or neither happened: {other:?}"),
        }
    }
    let stored = store.get_shift(shift.id).await.unwrap().expect("the shift");
    assert_eq!(stored.accepted, volunteers.len() as i64 - absences);
}

/// An absence marked in error is withdrawn: the sign-up is accepted again and takes its
/// place back, with an audit entry. Withdrawing twice is refused on `status`; when the
/// place has gone to someone else meanwhile, on `shift`, and nothing changes.
#[tokio::test]
async fn a_withdrawn_absence_takes_the_place_back_unless_the_shift_is_full() {
    let (_db, store) = store().await;
    let (volunteers, org) = volunteers_and_a_team(&store, 3).await;
    let now = OffsetDateTime::now_utc();
    let (_, shift) =
        a_project_with_a_shift(&store, org.id, now, (now, now + Duration::hours(2)), 2).await;
    let first = signed_up(&store, shift.id, volunteers[0].id).await;
    let second = signed_up(&store, shift.id, volunteers[1].id).await;
    for s in [&first, &second] {
        store
            .set_absent(s.id, true, now, &audit("signup.absent", "440106"))
            .await
            .expect("mark absent");
    }
    assert_eq!(places_taken(&store, shift.id).await, 0);
    let trail = audit_count(&store).await;

    let back = store
        .set_absent(first.id, false, now, &audit("signup.reinstate", "440106"))
        .await
        .expect("withdraw the absence");
    assert_eq!(back.status, SignupStatus::Accepted);
    assert_eq!(places_taken(&store, shift.id).await, 1);
    assert_eq!(audit_count(&store).await, trail + 1, "one audit entry");
    let again = store
        .set_absent(first.id, false, now, &audit("signup.reinstate", "440106"))
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { field: "status" })),
        "{again:?}"
    );

    // The other place goes to a newcomer; the second absence can no longer be withdrawn.
    let newcomer = signed_up(&store, shift.id, volunteers[2].id).await;
    assert_eq!(newcomer.status, SignupStatus::Accepted);
    let full = store
        .set_absent(second.id, false, now, &audit("signup.reinstate", "440106"))
        .await;
    assert!(
        matches!(full, Err(StoreError::Conflict { field: "shift" })),
        "{full:?}"
    );
    let stored = store
        .get_signup(second.id)
        .await
        .unwrap()
        .expect("the sign-up");
    assert_eq!(stored.status, SignupStatus::Absent);
    assert_eq!(places_taken(&store, shift.id).await, 2);
    assert_eq!(
        audit_count(&store).await,
        trail + 2,
        "the newcomer's sign-up, and nothing for the refusals"
    );
}

/// The places taken on `shift`.
async fn places_taken(store: &Arc<dyn Store>, shift: ShiftId) -> i64 {
    store
        .get_shift(shift)
        .await
        .expect("read the shift")
        .expect("the shift")
        .accepted
}

/// Gives `shift` `capacity` places.
async fn with_capacity(store: &Arc<dyn Store>, shift: ShiftId, capacity: i64) -> ShiftRecord {
    let mut changed = store
        .get_shift(shift)
        .await
        .expect("read the shift")
        .expect("the shift");
    changed.shift.capacity = capacity;
    store
        .update_shift(&changed, &audit("shift.update", "440106"))
        .await
        .expect("a new capacity")
}

/// A shift of `capacity` places from `hours` from now for two hours, and `volunteers`
/// signed up for it in order.
async fn signed_up_for_a_shift(
    store: &Arc<dyn Store>,
    volunteers: u64,
    capacity: i64,
    hours: i64,
) -> (ShiftRecord, Vec<SignupRecord>) {
    let (volunteers, org) = volunteers_and_a_team(store, volunteers).await;
    let now = OffsetDateTime::now_utc();
    let starts = now + Duration::hours(hours);
    let (_, shift) = a_project_with_a_shift(
        store,
        org.id,
        now,
        (starts, starts + Duration::hours(2)),
        capacity,
    )
    .await;
    let mut signups = Vec::new();
    for v in &volunteers {
        signups.push(signed_up(store, shift.id, v.id).await);
    }
    (shift, signups)
}

/// A larger capacity gives the new places to the waitlist in the order they signed up,
/// each promotion with its own audit entry (an event for the volunteer), and nobody
/// beyond the places.
#[tokio::test]
async fn a_larger_capacity_promotes_the_waitlist_in_order_each_audited() {
    let (_db, store) = store().await;
    let (shift, signups) = signed_up_for_a_shift(&store, 4, 1, 24).await;
    let statuses = |store: Arc<dyn Store>, ids: Vec<SignupId>| async move {
        let mut out = Vec::new();
        for id in ids {
            out.push(store.get_signup(id).await.unwrap().expect("sign-up").status);
        }
        out
    };
    let ids: Vec<SignupId> = signups.iter().map(|s| s.id).collect();
    use SignupStatus::{Accepted, Waitlisted};
    assert_eq!(
        statuses(store.clone(), ids.clone()).await,
        [Accepted, Waitlisted, Waitlisted, Waitlisted]
    );
    let (trail, queued) = (
        audit_count(&store).await,
        store.pending_events(50).await.unwrap().len(),
    );

    let updated = with_capacity(&store, shift.id, 3).await;
    assert_eq!(updated.accepted, 3);
    assert_eq!(
        statuses(store.clone(), ids).await,
        [Accepted, Accepted, Accepted, Waitlisted],
        "the first two waiting, in order"
    );
    assert_eq!(
        audit_count(&store).await,
        trail + 3,
        "the change, two promotions"
    );
    let events = store.pending_events(50).await.unwrap();
    let promoted: Vec<(&str, &str)> = events[queued..]
        .iter()
        .map(|e| (e.action.as_str(), e.subject_id.as_str()))
        .collect();
    let (second, third) = (signups[1].id.to_string(), signups[2].id.to_string());
    assert_eq!(
        promoted,
        [
            ("signup.promote", second.as_str()),
            ("signup.promote", third.as_str())
        ]
    );
}

/// A cancel gives every free place to the waitlist, not only the one it frees: a place
/// given up by an absence (which promotes nobody) goes with it. The cancel names both
/// promoted, in order, in its answer and its audit entry; each promotion is audited too.
#[tokio::test]
async fn a_cancel_promotes_into_every_free_place_and_names_each_promoted() {
    let (_db, store) = store().await;
    let now = OffsetDateTime::now_utc();
    let (shift, signups) = signed_up_for_a_shift(&store, 5, 2, 24).await;
    store
        .set_absent(signups[0].id, true, now, &audit("signup.absent", "440106"))
        .await
        .expect("absent");
    assert_eq!(
        places_taken(&store, shift.id).await,
        1,
        "the absence freed a place and promoted nobody"
    );
    let trail = audit_count(&store).await;

    let (cancelled, promoted) = store
        .cancel_signup(signups[1].id, now, &audit("signup.cancel", "440106"))
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, SignupStatus::Cancelled);
    let ids: Vec<SignupId> = promoted.iter().map(|s| s.id).collect();
    assert_eq!(ids, [signups[2].id, signups[3].id], "the first two waiting");
    assert!(promoted.iter().all(|s| s.status == SignupStatus::Accepted));
    assert_eq!(places_taken(&store, shift.id).await, 2);
    assert_eq!(
        store
            .get_signup(signups[4].id)
            .await
            .unwrap()
            .expect("last")
            .status,
        SignupStatus::Waitlisted
    );
    assert_eq!(
        audit_count(&store).await,
        trail + 3,
        "the cancel and two promotions"
    );
    let entries = store
        .list_audit(&AuditQuery::default(), &PageRequest::first(50))
        .await
        .expect("trail");
    let cancel = entries
        .items
        .iter()
        .find(|a| a.action == "signup.cancel")
        .expect("the cancel's entry");
    assert_eq!(
        cancel.details["promoted"],
        serde_json::json!([signups[2].id.0, signups[3].id.0])
    );
}

/// Once a shift has ended nobody is promoted into it, neither by a larger capacity nor
/// by a cancel: they could not have come, and would be owed a record (Art. 11).
#[tokio::test]
async fn nobody_is_promoted_into_a_shift_that_has_ended() {
    let (_db, store) = store().await;
    let now = OffsetDateTime::now_utc();
    let (shift, signups) = signed_up_for_a_shift(&store, 3, 1, -3).await;
    let updated = with_capacity(&store, shift.id, 3).await;
    assert_eq!((updated.shift.capacity, updated.accepted), (3, 1));
    let (_, promoted) = store
        .cancel_signup(signups[0].id, now, &audit("signup.cancel", "440106"))
        .await
        .expect("cancel");
    assert!(promoted.is_empty(), "{promoted:?}");
    for s in &signups[1..] {
        let status = store
            .get_signup(s.id)
            .await
            .unwrap()
            .expect("sign-up")
            .status;
        assert_eq!(status, SignupStatus::Waitlisted);
    }
    assert_eq!(places_taken(&store, shift.id).await, 0);
}

/// Signs volunteer `v` up for `shift` and checks them in at `at`.
async fn signed_up_and_checked_in(
    store: &Arc<dyn Store>,
    shift: &ShiftRecord,
    v: VolunteerId,
    at: OffsetDateTime,
) -> AttendanceRecord {
    signed_up(store, shift.id, v).await;
    let (a, _) = store
        .check_in(
            &NewAttendance {
                shift: shift.id,
                volunteer: v,
                at,
                method: AttendanceMethod::Coordinator,
                distance_m: None,
            },
            &audit("attendance.check_in", "440106"),
        )
        .await
        .expect("check in");
    a
}

/// Many check-outs at once (which PostgreSQL commits in groups) each close their own
/// attendance with its own record and totals; one attendance closed twice at once is
/// closed, recorded and counted once, and the other attempt is a version conflict.
#[tokio::test]
async fn concurrent_check_outs_each_close_their_own_attendance_once() {
    let (_db, store) = store().await;
    let (volunteers, org) = volunteers_and_a_team(&store, 12).await;
    let now = OffsetDateTime::now_utc();
    let (project, shift) = a_project_with_a_shift(
        &store,
        org.id,
        now,
        (now - Duration::hours(2), now + Duration::hours(1)),
        100,
    )
    .await;
    let mut open = Vec::new();
    for v in &volunteers {
        open.push(signed_up_and_checked_in(&store, &shift, v.id, now - Duration::hours(2)).await);
    }
    let check_out = |a: &AttendanceRecord| {
        let (store, a) = (store.clone(), a.clone());
        let record = NewRecord {
            volunteer: a.volunteer,
            org: org.id,
            project: Some(project.id),
            shift: Some(shift.id),
            activity_name: "河涌清洁（岗位）".into(),
            service_date: now.date(),
            place: "猎德涌".into(),
            content: "环境保护".into(),
            minutes: 120,
            responsible_person: "李队长".into(),
            source: RecordSource::Attendance,
            status: RecordStatus::Effective,
            flags: vec![],
            dedupe_key: None,
            created_at: now,
            created_by: None,
        };
        tokio::spawn(async move {
            let entry = AuditEntry {
                subject_type: "attendance",
                subject_id: a.id.0.to_string(),
                ..audit("attendance.check_out", "440106")
            };
            store
                .check_out(
                    &a,
                    now,
                    AttendanceMethod::Coordinator,
                    false,
                    &record,
                    DayCap(12 * 60),
                    &entry,
                )
                .await
        })
    };
    let twice = check_out(&open[0]);
    let tasks: Vec<_> = open.iter().map(&check_out).collect();
    let mut outcomes = vec![twice.await.expect("the check-out task")];
    for task in tasks {
        outcomes.push(task.await.expect("the check-out task"));
    }
    let (first_twice, rest) = outcomes.split_at(2);
    assert_eq!(
        first_twice.iter().filter(|r| r.is_ok()).count(),
        1,
        "one of two check-outs of the same attendance closes it"
    );
    assert!(
        first_twice
            .iter()
            .any(|r| matches!(r, Err(StoreError::Conflict { field: "version" }))),
        "{first_twice:?}"
    );
    assert!(rest.iter().all(Result::is_ok), "{rest:?}");
    for (v, a) in volunteers.iter().zip(&open) {
        let closed = store
            .get_attendance(shift.id, v.id)
            .await
            .unwrap()
            .expect("the attendance");
        assert_eq!(closed.id, a.id);
        assert!(closed.checked_out_at.is_some());
        let record = store
            .get_record(closed.record.expect("its record"))
            .await
            .unwrap()
            .expect("the record it names");
        assert_eq!(
            record.record.volunteer, v.id,
            "each closes with its own record"
        );
        let totals = store.totals(v.id, now.date().year()).await.unwrap();
        assert_eq!(
            (totals.minutes, totals.records),
            (120, 1),
            "counted once, for volunteer {}",
            v.id.0
        );
    }
    // A closed attendance, even offered at its current version, is not closed again.
    let closed = store
        .get_attendance(shift.id, volunteers[1].id)
        .await
        .unwrap()
        .expect("the attendance");
    let again = check_out(&closed).await.expect("the check-out task");
    assert!(
        matches!(again, Err(StoreError::Conflict { field: "version" })),
        "{again:?}"
    );
    let after = store.get_attendance(shift.id, volunteers[1].id).await;
    assert_eq!(after.unwrap(), Some(closed), "left as it was");
    let totals = store.totals(volunteers[1].id, now.date().year()).await;
    assert_eq!(totals.map(|t| (t.minutes, t.records)).unwrap(), (120, 1));
}

#[tokio::test]
async fn a_sign_up_reads_back_as_returned_and_a_repeated_check_in_is_written_and_audited_once() {
    let (_db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    // A time with nanoseconds, finer than either backend need keep.
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(123_456_789)
        .unwrap();
    let (_, shift) = a_project_with_a_shift(
        &store,
        org.id,
        now,
        (now + Duration::minutes(30), now + Duration::hours(3)),
        1,
    )
    .await;
    let made = store
        .sign_up(
            shift.id,
            v.id,
            now,
            Box::new(|_| Ok(())),
            &audit("signup.create", "440106"),
        )
        .await
        .unwrap();
    assert_eq!(
        made.signup.status,
        zhiyuan_domain::project::SignupStatus::Accepted
    );
    assert_eq!(
        store.get_signup(made.signup.id).await.unwrap(),
        Some(made.signup.clone()),
        "the sign-up returned is the one stored"
    );
    assert_eq!(places_taken(&store, shift.id).await, 1);

    let check_in = NewAttendance {
        shift: shift.id,
        volunteer: v.id,
        at: now,
        method: AttendanceMethod::Coordinator,
        distance_m: None,
    };
    let entry = AuditEntry {
        subject_type: "attendance",
        ..audit("attendance.check_in", "440106")
    };
    let (first, written) = store.check_in(&check_in, &entry).await.unwrap();
    assert!(written);
    assert_eq!(
        store.get_attendance(shift.id, v.id).await.unwrap(),
        Some(first.clone()),
        "the check-in returned is the one stored"
    );
    let later = NewAttendance {
        at: now + Duration::minutes(5),
        ..check_in
    };
    let (again, written) = store.check_in(&later, &entry).await.unwrap();
    assert!(!written, "a repeated check-in writes nothing");
    assert_eq!(again, first, "and returns the first");
    let trail = store
        .list_audit(
            &AuditQuery {
                within: None,
                subject: Some(("attendance".into(), first.id.0.to_string())),
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    let actions: Vec<&str> = trail.items.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        ["attendance.check_in"],
        "one audit entry, naming the check-in"
    );
}

/// A published project of `org` with one shift over `when`, of `capacity` places.
async fn a_project_with_a_shift(
    store: &Arc<dyn Store>,
    org: OrgId,
    now: OffsetDateTime,
    when: (OffsetDateTime, OffsetDateTime),
    capacity: i64,
) -> (ProjectRecord, ShiftRecord) {
    let project = store
        .insert_project(
            &sample_project(org, now),
            &audit("project.create", "440106"),
        )
        .await
        .expect("publish the project");
    let shift = store
        .insert_shift(
            &NewShift {
                project: project.id,
                position: "岗位".into(),
                starts_at: when.0,
                ends_at: when.1,
                capacity,
            },
            &audit("shift.create", "440106"),
        )
        .await
        .expect("add a shift");
    (project, shift)
}

fn sample_project(org: OrgId, now: OffsetDateTime) -> NewProject {
    use zhiyuan_domain::category::ServiceCategory;
    use zhiyuan_domain::project::{Conditions, ProjectStatus, SignupMode};
    NewProject {
        org,
        name: "河涌清洁".into(),
        category: ServiceCategory::Environment,
        description: String::new(),
        region: code("440106"),
        site: None,
        address: "猎德涌".into(),
        location: None,
        geofence_m: None,
        starts_on: now.date(),
        ends_on: now.date() + Duration::days(30),
        conditions: Conditions::default(),
        risky: false,
        risk_disclosure: String::new(),
        insurance: None,
        signup_mode: SignupMode::Automatic,
        review_required: false,
        responsible_person: "李队长".into(),
        status: ProjectStatus::Published,
    }
}

/// Each row of a batch of several volunteers and days gets its own outcome, a duplicate of
/// an earlier upload among them, and the totals add up.
#[tokio::test]
async fn batch_outcomes_answer_for_their_own_rows_and_totals_add_up() {
    let (_db, store) = store().await;
    let (volunteers, org) = volunteers_and_a_team(&store, 3).await;
    let now = OffsetDateTime::now_utc();
    let row = |v: &VolunteerRecord, days_ago: i64, key: &str| NewRecord {
        volunteer: v.id,
        org: org.id,
        project: None,
        shift: None,
        activity_name: format!("活动{key}"),
        service_date: now.date() - Duration::days(days_ago),
        place: "荔湾".into(),
        content: "清洁".into(),
        minutes: 60,
        responsible_person: "李四".into(),
        source: RecordSource::Entry,
        status: RecordStatus::Effective,
        flags: vec![],
        dedupe_key: Some(key.into()),
        created_at: now,
        created_by: None,
    };
    let (a, b, c) = (&volunteers[2], &volunteers[0], &volunteers[1]);
    store
        .insert_records(
            vec![row(b, 9, "earlier")],
            CAP,
            &audit("record.batch", "440106"),
        )
        .await
        .expect("an earlier upload");
    let rows = vec![
        row(a, 1, "a1"),
        row(c, 3, "c3"),
        row(b, 9, "earlier"),
        row(a, 0, "a0"),
        row(b, 2, "b2"),
        row(c, 1, "c1"),
    ];
    let outcomes = store
        .insert_records(rows.clone(), CAP, &audit("record.batch", "440106"))
        .await
        .expect("the upload");
    assert_eq!(outcomes.len(), rows.len());
    assert_eq!(outcomes[2], BatchOutcome::Duplicate, "entered before");
    for (given, outcome) in rows.iter().zip(&outcomes) {
        if let BatchOutcome::Inserted(id) = outcome {
            let stored = store
                .get_record(*id)
                .await
                .expect("read the record")
                .expect("it exists");
            assert_eq!(stored.record.dedupe_key, given.dedupe_key);
            assert_eq!(stored.record.volunteer, given.volunteer);
            assert_eq!(stored.record.service_date, given.service_date);
        }
    }
    for (v, records) in [(a, 2), (b, 2), (c, 2)] {
        let totals = store
            .totals(v.id, now.year())
            .await
            .expect("read the totals");
        assert_eq!((totals.records, totals.minutes), (records, records * 60));
    }
}

/// Migration 0018 rewrites the keys of rows uploaded before it (`batch:` and 64 hex
/// digits) as uploads now make them, date and team first, and leaves keys of any other
/// shape alone: re-uploading an old file still finds its rows.
#[tokio::test]
async fn uploaded_keys_made_before_migration_18_become_date_and_team_first() {
    let (db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    let day = time::macros::date!(2026 - 11 - 05);
    let digits = "0123456789abcdef".repeat(4);
    let old = format!("batch:{digits}");
    let kept = ["batch:mine", &format!("batch:{}", digits.to_uppercase())];
    let mut ids = vec![];
    for key in [old.as_str()].into_iter().chain(kept) {
        let r = entered(v.id, org.id, day, 60, key, RecordStatus::Effective);
        let id = store
            .insert_record(&r, DayCap(12 * 60), &audit("record.create", "440106"))
            .await
            .expect("a record under the key")
            .id;
        ids.push(id);
    }
    db.execute_raw(migration(18)).await;
    let mut keys = vec![];
    for id in ids {
        let stored = store.get_record(id).await.expect("read the record");
        keys.push(stored.expect("it exists").record.dedupe_key);
    }
    let now = format!("batch:2026-11-05:{}:{}", org.id.0, &digits[..32]);
    let expected = [now.as_str()]
        .into_iter()
        .chain(kept)
        .map(|k| Some(k.to_owned()));
    assert_eq!(
        keys,
        expected.collect::<Vec<_>>(),
        "the upload's key rewritten, the other two (not an upload's) left"
    );
    let again = entered(v.id, org.id, day, 60, &now, RecordStatus::Effective);
    let outcomes = store
        .insert_records(vec![again], CAP, &audit("record.batch", "440106"))
        .await
        .expect("the upload");
    assert_eq!(outcomes, [BatchOutcome::Duplicate]);
}

/// A project cancelled cancels its shifts still to end, not those over, and names them in
/// its audit entry; migration 23 does the same for projects cancelled before it.
#[tokio::test]
async fn a_cancelled_project_cancels_its_shifts_still_to_end() {
    let (db, store) = store().await;
    let (_, org) = a_volunteer_and_a_team(&store).await;
    let now = OffsetDateTime::now_utc();
    let (project, over) = a_project_with_a_shift(
        &store,
        org.id,
        now,
        (now - Duration::hours(5), now - Duration::hours(2)),
        5,
    )
    .await;
    let to_come = a_shift_to_come(&store, project.id, now).await;
    let cancelled = |store: Arc<dyn Store>| async move {
        let mut out = Vec::new();
        for id in [over.id, to_come.id] {
            out.push(
                store
                    .get_shift(id)
                    .await
                    .unwrap()
                    .expect("the shift")
                    .cancelled,
            );
        }
        out
    };
    let mut p = project.clone();
    p.project.status = zhiyuan_domain::project::ProjectStatus::Cancelled;
    let mut entry = audit("project.status", "440106");
    entry.details = serde_json::json!({ "to": "cancelled" });
    store
        .update_project(&p, &entry)
        .await
        .expect("cancel the project");
    assert_eq!(cancelled(store.clone()).await, [false, true]);
    let events = store.pending_events(50).await.unwrap();
    let logged = events
        .iter()
        .find(|e| e.action == "project.status")
        .expect("its event");
    assert_eq!(logged.details["shifts"], serde_json::json!([to_come.id.0]));
    assert_eq!(
        logged.details["to"], "cancelled",
        "the service's details kept"
    );

    // As a project cancelled before this version was left: the migration catches up.
    db.execute_raw("UPDATE shifts SET cancelled = (1 = 0)")
        .await;
    db.execute_raw(migration(23)).await;
    assert_eq!(cancelled(store.clone()).await, [false, true]);
}

/// The SQL of migration `version` of the backend under test.
fn migration(version: i64) -> &'static str {
    match zhiyuan_testkit::Backend::current() {
        zhiyuan_testkit::Backend::Sqlite => zhiyuan_store_sqlite::MIGRATIONS,
        zhiyuan_testkit::Backend::Postgres => zhiyuan_store_postgres::MIGRATIONS,
    }
    .iter()
    .find(|(v, ..)| *v == version)
    .expect("the migration")
    .2
}

/// A shift of `project` a day after `now`.
async fn a_shift_to_come(
    store: &Arc<dyn Store>,
    project: ProjectId,
    now: OffsetDateTime,
) -> ShiftRecord {
    store
        .insert_shift(
            &NewShift {
                project,
                position: "岗位".into(),
                starts_at: now + Duration::days(1),
                ends_at: now + Duration::days(1) + Duration::hours(2),
                capacity: 5,
            },
            &audit("shift.create", "440106"),
        )
        .await
        .expect("a shift to come")
}

/// A record entered on `day` for `v` of team `org`, of `minutes`, under entry key `key`.
fn entered(
    v: VolunteerId,
    org: OrgId,
    day: time::Date,
    minutes: i64,
    key: &str,
    status: RecordStatus,
) -> NewRecord {
    NewRecord {
        volunteer: v,
        org,
        project: None,
        shift: None,
        activity_name: format!("活动{key}"),
        service_date: day,
        place: "荔湾".into(),
        content: "清洁".into(),
        minutes,
        responsible_person: "李四".into(),
        source: RecordSource::Entry,
        status,
        flags: vec![],
        dedupe_key: Some(key.into()),
        created_at: OffsetDateTime::now_utc(),
        created_by: None,
    }
}

/// The facts of a star standing, read together, are the volunteer's own: the rule sets on
/// the regions asked for, their totals, the certified star and their latest applications,
/// as each read gives them alone, and nothing of another volunteer's.
#[tokio::test]
async fn star_facts_are_the_volunteers_own_rules_totals_star_and_applications() {
    let (_db, store) = store().await;
    let (volunteers, org) = volunteers_and_a_team(&store, 2).await;
    let (me, other) = (volunteers[0].id, volunteers[1].id);
    let tianhe = code("440106");
    let mut rules = zhiyuan_domain::stars::StarRules::guangdong();
    rules.tiers[0].hours = 50;
    store
        .set_star_rules(tianhe, &rules, &audit("stars.rules", "440106"))
        .await
        .unwrap();
    let day = OffsetDateTime::now_utc().date() - Duration::days(1);
    for (v, minutes, key) in [(me, 90, "mine"), (other, 300, "theirs")] {
        store
            .insert_record(
                &entered(v, org.id, day, minutes, key, RecordStatus::Effective),
                CAP.unwrap(),
                &audit("record.enter", "440106"),
            )
            .await
            .unwrap();
    }
    let applied = |volunteer, star| NewStarApplication {
        volunteer,
        star,
        label: format!("{star}星"),
        certifier: tianhe,
        minutes: 90,
        applied_at: OffsetDateTime::now_utc(),
    };
    for (v, star) in [(me, 1), (other, 2)] {
        store
            .insert_star_application(&applied(v, star), &audit("stars.apply", "440106"))
            .await
            .unwrap();
    }
    let chain = [tianhe, code("440100"), code("440000")];
    let facts = store.star_facts(me, &chain, day.year()).await.unwrap();
    assert_eq!(facts.rules, [(tianhe, rules)]);
    assert_eq!(
        (
            facts.totals.minutes,
            facts.totals.year_minutes,
            facts.totals.records
        ),
        (90, 90, 1)
    );
    assert_eq!(facts.totals, store.totals(me, day.year()).await.unwrap());
    assert_eq!(facts.recognised, RecognisedMinutes::default());
    assert_eq!(facts.certified, store.volunteer_star(me).await.unwrap());
    let stars: Vec<(VolunteerId, u8)> = facts
        .applications
        .iter()
        .map(|a| (a.application.volunteer, a.application.star))
        .collect();
    assert_eq!(stars, [(me, 1)]);
}

/// A batch row that would take its day over the cap is refused, counting what the day
/// held before and the rows before it; pending rows do not count, and the totals hold
/// only what went in.
#[tokio::test]
async fn batch_rows_over_the_daily_cap_are_refused_counting_the_day_and_earlier_rows() {
    let (_db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    let day = OffsetDateTime::now_utc().date() - Duration::days(1);
    let cap = DayCap(12 * 60);
    let effective = RecordStatus::Effective;
    store
        .insert_record(
            &entered(v.id, org.id, day, 600, "before", effective),
            cap,
            &audit("record.enter", "440106"),
        )
        .await
        .expect("10 hours entered before");
    let rows = vec![
        entered(v.id, org.id, day, 60, "fits", effective),
        entered(v.id, org.id, day, 90, "over", effective),
        entered(v.id, org.id, day, 60, "fills", effective),
        entered(v.id, org.id, day, 30, "pending", RecordStatus::Pending),
        entered(
            v.id,
            org.id,
            day - Duration::days(1),
            700,
            "other day",
            effective,
        ),
    ];
    let outcomes = store
        .insert_records(rows.clone(), Some(cap), &audit("record.batch", "440106"))
        .await
        .expect("the upload");
    let went_in: Vec<bool> = outcomes
        .iter()
        .map(|o| matches!(o, BatchOutcome::Inserted(_)))
        .collect();
    assert_eq!(went_in, [true, false, true, true, true], "{outcomes:?}");
    assert_eq!(outcomes[1], BatchOutcome::OverCap);
    assert_eq!(store.day_minutes(v.id, day).await.unwrap(), 720);
    let totals = store.totals(v.id, day.year()).await.unwrap();
    assert_eq!((totals.minutes, totals.records), (600 + 60 + 60 + 700, 4));
    // The same rows again: those recorded are duplicates even though their day is full
    // (it holds them); the one refused is refused again.
    let again = store
        .insert_records(rows.clone(), Some(cap), &audit("record.batch", "440106"))
        .await
        .expect("the upload again");
    use BatchOutcome::{Duplicate, OverCap};
    assert_eq!(again, [Duplicate, OverCap, Duplicate, Duplicate, Duplicate]);
    // A duplicate takes no room from the rows after it: a day holding 600 minutes, one
    // hour of them entered as `x`, takes `x` again (a duplicate) and two new hours.
    let earlier = day - Duration::days(2);
    let first = [
        entered(v.id, org.id, earlier, 540, "base", effective),
        entered(v.id, org.id, earlier, 60, "x", effective),
    ];
    store
        .insert_records(first.to_vec(), Some(cap), &audit("record.batch", "440106"))
        .await
        .expect("600 minutes");
    let next = [
        entered(v.id, org.id, earlier, 60, "x", effective),
        entered(v.id, org.id, earlier, 120, "y", effective),
    ];
    let outcomes = store
        .insert_records(next.to_vec(), Some(cap), &audit("record.batch", "440106"))
        .await
        .expect("x again and y");
    assert_eq!(outcomes[0], Duplicate);
    assert!(
        matches!(outcomes[1], BatchOutcome::Inserted(_)),
        "{outcomes:?}"
    );
    assert_eq!(store.day_minutes(v.id, earlier).await.unwrap(), 720);
}

/// What an upload's rows may add to a day counts that day alone: a full day lying between
/// a volunteer's first and last days in the upload, and another volunteer's full day on
/// the same date, leave the upload's own days their room.
#[tokio::test]
async fn batch_rows_count_only_their_own_day_and_volunteer_toward_the_cap() {
    let (_db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    let other = store
        .insert_volunteer(
            &volunteer(2, "440106"),
            &audit("volunteer.register", "440106"),
        )
        .await
        .expect("a second volunteer");
    let day = OffsetDateTime::now_utc().date() - Duration::days(10);
    let cap = DayCap(12 * 60);
    let effective = RecordStatus::Effective;
    let full = [
        entered(
            v.id,
            org.id,
            day + Duration::days(2),
            720,
            "middle",
            effective,
        ),
        entered(other.id, org.id, day, 720, "other's", effective),
    ];
    store
        .insert_records(full.to_vec(), Some(cap), &audit("record.batch", "440106"))
        .await
        .expect("two full days");
    let rows = vec![
        entered(v.id, org.id, day, 700, "first day", effective),
        entered(
            v.id,
            org.id,
            day + Duration::days(1),
            700,
            "next day",
            effective,
        ),
        entered(
            v.id,
            org.id,
            day + Duration::days(3),
            700,
            "after",
            effective,
        ),
        entered(
            v.id,
            org.id,
            day + Duration::days(2),
            1,
            "one more",
            effective,
        ),
    ];
    let outcomes = store
        .insert_records(rows, Some(cap), &audit("record.batch", "440106"))
        .await
        .expect("the upload");
    let went_in: Vec<bool> = outcomes
        .iter()
        .map(|o| matches!(o, BatchOutcome::Inserted(_)))
        .collect();
    assert_eq!(went_in, [true, true, true, false], "{outcomes:?}");
    assert_eq!(outcomes[3], BatchOutcome::OverCap);
    for (offset, minutes) in [(0, 700), (1, 700), (2, 720), (3, 700)] {
        let on = day + Duration::days(offset);
        assert_eq!(store.day_minutes(v.id, on).await.unwrap(), minutes, "{on}");
    }
}

/// The same file uploaded twice at once (a double click): whichever writes second finds
/// every row recorded by the first and reports it a duplicate, not over the daily cap its
/// own rows and the first's together would exceed; the day holds each row once.
#[tokio::test]
async fn the_same_upload_sent_twice_at_once_is_recorded_once_and_refused_as_duplicates() {
    let (_db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    let cap = DayCap(12 * 60);
    let entry = audit("record.batch", "440106");
    let first_day = OffsetDateTime::now_utc().date() - Duration::days(30);
    for offset in 0..10 {
        let day = first_day + Duration::days(offset);
        let half = |part: &str| {
            let key = format!("{part} {day}");
            entered(v.id, org.id, day, 360, &key, RecordStatus::Effective)
        };
        let rows = vec![half("am"), half("pm")];
        let upload = || store.insert_records(rows.clone(), Some(cap), &entry);
        let (one, other) = tokio::join!(upload(), upload());
        let mut outcomes = [one.expect("one upload"), other.expect("the other")];
        outcomes.sort_by_key(|o| matches!(o[0], BatchOutcome::Duplicate));
        let inserted = |o: &BatchOutcome| matches!(o, BatchOutcome::Inserted(_));
        assert!(outcomes[0].iter().all(inserted), "{day}: {outcomes:?}");
        assert_eq!(
            outcomes[1],
            [BatchOutcome::Duplicate, BatchOutcome::Duplicate],
            "{day}"
        );
        assert_eq!(store.day_minutes(v.id, day).await.unwrap(), 720, "{day}");
    }
}

/// Check-outs, entered records and batch uploads for one volunteer's day, all at once:
/// whatever each read before writing, the day never goes over the cap. With a 12-hour
/// cap and 200 minutes each, exactly three of them are written and the others refused.
#[tokio::test]
async fn concurrent_writes_never_take_a_volunteers_day_over_the_cap() {
    let (_db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    let now = OffsetDateTime::now_utc();
    let day = now.date();
    let cap = DayCap(12 * 60);
    let mut open = Vec::new();
    for _ in 0..4 {
        let (_, shift) = a_project_with_a_shift(
            &store,
            org.id,
            now,
            (now - Duration::hours(4), now + Duration::hours(1)),
            10,
        )
        .await;
        open.push(signed_up_and_checked_in(&store, &shift, v.id, now - Duration::hours(4)).await);
    }
    let mut tasks: Vec<tokio::task::JoinHandle<Result<(), StoreError>>> = Vec::new();
    for (i, a) in open.into_iter().enumerate() {
        let store = store.clone();
        let mut record = entered(v.id, org.id, day, 200, "", RecordStatus::Effective);
        (record.source, record.dedupe_key) = (RecordSource::Attendance, None);
        record.activity_name = format!("岗位{i}");
        tasks.push(tokio::spawn(async move {
            let entry = AuditEntry {
                subject_type: "attendance",
                subject_id: a.id.0.to_string(),
                ..audit("attendance.check_out", "440106")
            };
            let method = AttendanceMethod::Coordinator;
            store
                .check_out(&a, now, method, false, &record, cap, &entry)
                .await
                .map(drop)
        }));
    }
    for i in 0..4 {
        let one = store.clone();
        let record = entered(
            v.id,
            org.id,
            day,
            200,
            &format!("e{i}"),
            RecordStatus::Effective,
        );
        tasks.push(tokio::spawn(async move {
            one.insert_record(&record, cap, &audit("record.enter", "440106"))
                .await
                .map(drop)
        }));
        let store = store.clone();
        let row = entered(
            v.id,
            org.id,
            day,
            200,
            &format!("b{i}"),
            RecordStatus::Effective,
        );
        tasks.push(tokio::spawn(async move {
            let outcomes = store
                .insert_records(vec![row], Some(cap), &audit("record.batch", "440106"))
                .await?;
            match outcomes[..] {
                [BatchOutcome::Inserted(_)] => Ok(()),
                [BatchOutcome::OverCap] => Err(cap.refusal(day)),
                _ => Err(StoreError::corrupt(format!("{outcomes:?}"))),
            }
        }));
    }
    let mut written = 0;
    for task in tasks {
        match task.await.expect("the task") {
            Ok(()) => written += 1,
            Err(StoreError::Refused(r)) if r.field == "minutes" => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(written, 3, "three of 200 minutes fit in 12 hours");
    assert_eq!(store.day_minutes(v.id, day).await.unwrap(), 600);
    let totals = store.totals(v.id, day.year()).await.unwrap();
    assert_eq!((totals.minutes, totals.records), (600, 3));
}

#[tokio::test]
async fn the_sequencer_integrates_each_entry_once_in_order_into_tiles_that_prove_it() {
    use zhiyuan_ledger::{MemoryTree, NodeSource, inclusion_proof, leaf_hash, verify_inclusion};
    let (_db, store) = store().await;
    let (v, org) = a_volunteer_and_a_team(&store).await;
    let now = OffsetDateTime::now_utc();
    let record = |i: i64, status| NewRecord {
        volunteer: v.id,
        org: org.id,
        project: None,
        shift: None,
        activity_name: format!("活动{i}"),
        service_date: now.date(),
        place: "荔湾".into(),
        content: "清洁".into(),
        minutes: 30 + i,
        responsible_person: "李四".into(),
        source: RecordSource::Entry,
        status,
        flags: vec![],
        dedupe_key: Some(format!("k{i}")),
        created_at: now,
        created_by: None,
    };
    assert!(
        !store.ledger_has_work().await.unwrap(),
        "an empty ledger waits for nothing"
    );
    // 700 records count, 5 wait for approval (not logged until approved), and one batch
    // repeats an entry (a duplicate is neither written nor logged).
    let mut rows: Vec<NewRecord> = (0..700)
        .map(|i| record(i, RecordStatus::Effective))
        .collect();
    rows.extend((700..705).map(|i| record(i, RecordStatus::Pending)));
    // One volunteer's day holds them all: this test is about the ledger, not the cap.
    let outcomes = store
        .insert_records(rows.clone(), None, &audit("record.batch", "440106"))
        .await
        .unwrap();
    store
        .insert_records(rows[..1].to_vec(), None, &audit("record.batch", "440106"))
        .await
        .unwrap();
    assert_eq!(store.ledger_pending().await.unwrap(), 700);
    assert!(store.ledger_has_work().await.unwrap(), "entries wait");
    // Two sequencers at once, in small batches, until nothing waits.
    loop {
        let (a, b) = tokio::join!(store.integrate_ledger(256), store.integrate_ledger(256));
        let (a, b) = (a.unwrap().tree, b.unwrap().tree);
        if a.size == 700 && b.size == 700 {
            break;
        }
    }
    assert_eq!(store.ledger_pending().await.unwrap(), 0);
    assert!(
        store.ledger_has_work().await.unwrap(),
        "the tree is integrated but not yet signed"
    );
    let tree = store.ledger_tree().await.unwrap();
    let signed = |size| zhiyuan_store::ledger::StoredCheckpoint {
        size,
        root: tree.root,
        note: format!("test checkpoint {size}"),
        signed_at: now,
    };
    store
        .insert_checkpoint(&signed(tree.size - 1))
        .await
        .unwrap();
    assert!(
        store.ledger_has_work().await.unwrap(),
        "the latest checkpoint is smaller than the tree"
    );
    store.insert_checkpoint(&signed(tree.size)).await.unwrap();
    assert!(
        !store.ledger_has_work().await.unwrap(),
        "signed, and nothing waits"
    );
    let entries = store.ledger_entries_by_seq(0, 1000).await.unwrap();
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq.unwrap()).collect();
    assert_eq!(seqs, (0..700).collect::<Vec<_>>(), "dense, once each");
    let logged: Vec<i64> = entries.iter().map(|e| e.sealed.subject).collect();
    let effective: Vec<i64> = outcomes[..700]
        .iter()
        .map(|o| match o {
            BatchOutcome::Inserted(id) => id.0,
            other => panic!("first upload: {other:?}"),
        })
        .collect();
    assert_eq!(logged, effective, "in the order written");
    // Each entry, sealed while its row was written, opens to that row's facts.
    for e in &entries {
        let id = RecordId(e.sealed.subject);
        let row = store.get_record(id).await.unwrap().expect("its record");
        let facts = zhiyuan_store::ledger::record_content(id, None, 1, &row.record).unwrap();
        assert_eq!(
            zhiyuan_store::ledger::commit(&e.sealed.salt, &facts),
            e.sealed.commitment,
            "record {id:?}"
        );
    }
    // The stored tiles give the same root and proofs as the tree rebuilt from entries.
    let mut tree = MemoryTree::new();
    for e in &entries {
        tree.push(leaf_hash(&e.sealed.commitment));
    }
    let stored = store.ledger_tree().await.unwrap();
    assert_eq!(stored.root, tree.root_at(700).unwrap());
    let ids: Vec<_> = zhiyuan_ledger::inclusion_tiles(300, 700)
        .unwrap()
        .into_iter()
        .collect();
    let tiles = zhiyuan_ledger::Tiles(store.ledger_tiles(&ids).await.unwrap());
    let proof = inclusion_proof(&tiles, 300, 700).unwrap();
    verify_inclusion(300, 700, &tree.node(0, 300).unwrap(), &proof, &stored.root).unwrap();
    // Approving a pending record logs it then.
    let pending = match outcomes[700] {
        BatchOutcome::Inserted(id) => id,
        other => panic!("first upload: {other:?}"),
    };
    assert!(
        store
            .ledger_entry(zhiyuan_store::ledger::LedgerKind::Record, pending.0)
            .await
            .unwrap()
            .is_none()
    );
    store
        .decide_record(
            pending,
            RecordStatus::Effective,
            None,
            now,
            DayCap(i64::MAX),
            &audit("record.approve", "440106"),
        )
        .await
        .unwrap();
    assert_eq!(store.ledger_pending().await.unwrap(), 1);
    let last = store.integrate_ledger(256).await.unwrap();
    assert_eq!((last.tree.size, last.added), (701, 1));
}

#[tokio::test]
async fn a_challenge_is_spent_by_exactly_one_of_many_concurrent_imports_and_links_hold() {
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    let mut volunteers = Vec::new();
    for n in [31, 32] {
        let v = store
            .insert_volunteer(
                &volunteer(n, "440106"),
                &audit("volunteer.register", "440106"),
            )
            .await
            .unwrap();
        volunteers.push(v.id);
    }
    let now = OffsetDateTime::now_utc();
    let partner = store
        .insert_partner(
            &NewPartner {
                name: "香港義工平台".into(),
                jurisdiction: "HK".into(),
                url: "https://volunteer.example.hk".into(),
                did: "did:web:volunteer.example.hk".into(),
                issuer_key: "z6Mk".into(),
                log_origin: "volunteer.example.hk/ledger".into(),
                log_keys: vec!["volunteer.example.hk/ledger+00000000+AAAA".into()],
                counts_toward_stars: true,
                counts_toward_incentives: false,
                active: true,
            },
            &audit("partner.add", "440000"),
        )
        .await
        .unwrap();
    let recognition = |volunteer, challenge: &str, subject: &str, minutes| NewRecognition {
        volunteer,
        partner: partner.id,
        partner_subject: subject.into(),
        partner_name: "陳大文".into(),
        credential_id: format!("https://volunteer.example.hk/verify/{challenge}"),
        minutes,
        records: 1,
        star: None,
        bundle: serde_json::json!({"challenge": challenge}),
        imported_at: now,
    };
    let (me, other) = (volunteers[0], volunteers[1]);
    let expires = now + Duration::hours(1);
    store
        .insert_recognition_challenge("challenge-one", me, expires)
        .await
        .unwrap();

    // Sixteen imports of one bundle at once: one is recorded, the rest find it spent.
    let tries = (0..16).map(|_| {
        let store = store.clone();
        let r = recognition(me, "challenge-one", "HK-1", 150);
        tokio::spawn(async move {
            store
                .import_recognition(&r, "challenge-one", &audit("recognition.import", "440106"))
                .await
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1);
    for r in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(r, StoreError::Conflict { field: "challenge" }),
            "{r:?}"
        );
    }
    let totals = store.recognised_minutes(me).await.unwrap();
    assert_eq!(
        (
            totals.minutes,
            totals.toward_stars,
            totals.toward_incentives
        ),
        (150, 150, 0)
    );

    // An expired challenge, or another volunteer's, is refused like a spent one.
    store
        .insert_recognition_challenge("challenge-old", me, now - Duration::seconds(1))
        .await
        .unwrap();
    let expired = store
        .import_recognition(
            &recognition(me, "challenge-old", "HK-1", 10),
            "challenge-old",
            &audit("recognition.import", "440106"),
        )
        .await;
    assert!(matches!(
        expired,
        Err(StoreError::Conflict { field: "challenge" })
    ));
    store
        .insert_recognition_challenge("challenge-two", other, expires)
        .await
        .unwrap();
    let foreign = store
        .import_recognition(
            &recognition(me, "challenge-two", "HK-1", 10),
            "challenge-two",
            &audit("recognition.import", "440106"),
        )
        .await;
    assert!(matches!(
        foreign,
        Err(StoreError::Conflict { field: "challenge" })
    ));

    // The partner account is linked to `me`: `other` cannot claim it, and a refused
    // import leaves its challenge unspent.
    let claimed = store
        .import_recognition(
            &recognition(other, "challenge-two", "HK-1", 10),
            "challenge-two",
            &audit("recognition.import", "440106"),
        )
        .await;
    assert!(matches!(
        claimed,
        Err(StoreError::Conflict {
            field: "partner_subject"
        })
    ));
    let own = store
        .import_recognition(
            &recognition(other, "challenge-two", "HK-2", 30),
            "challenge-two",
            &audit("recognition.import", "440106"),
        )
        .await
        .unwrap();
    assert_eq!(own.recognition.partner_subject, "HK-2");

    // A newer bundle from the same account replaces the older one; another account of the
    // same partner is refused.
    for c in ["challenge-three", "challenge-four"] {
        store
            .insert_recognition_challenge(c, me, expires)
            .await
            .unwrap();
    }
    let newer = store
        .import_recognition(
            &recognition(me, "challenge-three", "HK-1", 200),
            "challenge-three",
            &audit("recognition.import", "440106"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.list_recognitions(me).await.unwrap(),
        vec![newer.clone()]
    );
    assert_eq!(store.recognised_minutes(me).await.unwrap().minutes, 200);
    let second_account = store
        .import_recognition(
            &recognition(me, "challenge-four", "HK-3", 10),
            "challenge-four",
            &audit("recognition.import", "440106"),
        )
        .await;
    assert!(matches!(
        second_account,
        Err(StoreError::Conflict { field: "partner" })
    ));

    // Withdrawing is the volunteer's own: someone else's id is not found.
    let withdraw = audit("recognition.withdraw", "440106");
    assert!(matches!(
        store.delete_recognition(other, newer.id, &withdraw).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_recognition(me, newer.id, &withdraw)
        .await
        .unwrap();
    assert_eq!(
        store.recognised_minutes(me).await.unwrap(),
        RecognisedMinutes::default()
    );
}

#[tokio::test]
async fn of_many_takers_moving_one_order_at_once_exactly_one_wins() {
    use zhiyuan_domain::order::{Holder, OrderStatus};
    let (_db, store) = store().await;
    let [site, _] = two_stations(&store).await;
    let now = OffsetDateTime::now_utc();
    let order = an_order(&store, "D0000000001", "440106001001", site, now).await;
    assert_eq!(order.state.status, OrderStatus::Received);
    assert_eq!(order.state.holder, Holder::Site(site));
    let takers = (1..=16).map(|team| {
        let store = store.clone();
        let mut taken = order.clone();
        taken.state.status = OrderStatus::Accepted;
        taken.state.holder = Holder::Org(OrgId(team));
        taken.accepted_at = Some(now);
        tokio::spawn(async move {
            store
                .update_order(&taken, &audit("order.grab", "440106001001"))
                .await
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(takers)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<&OrderRecord> = outcomes.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1);
    for r in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(r, StoreError::Conflict { field: "version" }),
            "{r:?}"
        );
    }
    let stored = store.get_order(order.id).await.unwrap().unwrap();
    assert_eq!(stored.state.holder, winners[0].state.holder);
    assert_eq!(stored.version, order.version + 1);
    let by_holder = store
        .list_orders(
            &OrderQuery {
                holder: Some(stored.state.holder),
                ..OrderQuery::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(by_holder.items, vec![stored]);
}

/// Moves of many orders at once (a backend may write them together): each is written and
/// audited once, with its own fields; a move from a version already passed is refused
/// alone and leaves its order and the audit log as they were.
#[tokio::test]
async fn moves_of_many_orders_at_once_are_each_written_and_audited_once() {
    use zhiyuan_domain::order::{Holder, OrderStatus};
    let (_db, store) = store().await;
    let [site, _] = two_stations(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut orders = Vec::new();
    for i in 0..24 {
        let tracking = format!("M{i:010}");
        orders.push(an_order(&store, &tracking, "440106001001", site, now).await);
    }
    let moves = orders.iter().enumerate().map(|(i, order)| {
        let store = store.clone();
        let mut moved = order.clone();
        moved.state.status = OrderStatus::Accepted;
        moved.state.holder = Holder::Org(OrgId(i as i64 + 1));
        moved.accepted_at = Some(now);
        moved.note = Some(format!("第{i}单"));
        // Every fifth move was read at a version someone else has since moved past.
        if i % 5 == 4 {
            moved.version -= 1;
        }
        tokio::spawn(async move {
            let mut entry = audit("order.accept", "440106001001");
            entry.subject_type = "order";
            entry.subject_id = moved.id.to_string();
            entry.reason = Some(format!("reason {i}"));
            store.update_order(&moved, &entry).await
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(moves)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    for (i, (order, outcome)) in orders.iter().zip(&outcomes).enumerate() {
        let stored = store.get_order(order.id).await.unwrap().unwrap();
        let trail = store
            .list_audit(
                &AuditQuery {
                    within: None,
                    subject: Some(("order".into(), order.id.to_string())),
                },
                &PageRequest::first(10),
            )
            .await
            .unwrap();
        let moves: Vec<_> = trail
            .items
            .iter()
            .filter(|a| a.action == "order.accept")
            .collect();
        if i % 5 == 4 {
            assert!(
                matches!(outcome, Err(StoreError::Conflict { field: "version" })),
                "move {i}: {outcome:?}"
            );
            assert_eq!(&stored, order, "a refused move leaves order {i} as it was");
            assert!(moves.is_empty(), "a refused move is not audited");
            continue;
        }
        let moved = outcome.as_ref().expect("a move from the current version");
        assert_eq!(moved, &stored, "move {i} returns the order as stored");
        assert_eq!(stored.version, order.version + 1);
        assert_eq!(stored.state.holder, Holder::Org(OrgId(i as i64 + 1)));
        assert_eq!(stored.note.as_deref(), Some(format!("第{i}单").as_str()));
        assert_eq!(moves.len(), 1, "move {i} is audited once");
        assert_eq!(
            moves[0].reason.as_deref(),
            Some(format!("reason {i}").as_str())
        );
    }
}

/// Two village stations of Tianhe, in 440106001001 and 440106002001.
async fn two_stations(store: &Arc<dyn Store>) -> [SiteId; 2] {
    for c in [
        "440106",
        "440106001",
        "440106001001",
        "440106002",
        "440106002001",
    ] {
        add_region(store, c).await;
    }
    let mut sites = Vec::new();
    for village in ["440106001001", "440106002001"] {
        let site = store
            .insert_site(
                &new_site(village, SiteKind::PracticeStation),
                &audit("site.create", village),
            )
            .await
            .expect("a station");
        sites.push(site.id);
    }
    [sites[0], sites[1]]
}

/// A need in `village`, received at `site` at `at`.
async fn an_order(
    store: &Arc<dyn Store>,
    tracking: &str,
    village: &str,
    site: SiteId,
    at: OffsetDateTime,
) -> OrderRecord {
    store
        .insert_order(
            &NewOrder {
                tracking: tracking.into(),
                requester_hash: vec![7; 32],
                need: Need {
                    service_code: "elderly-visit".into(),
                    service_name: "独居老人探访".into(),
                    category: zhiyuan_domain::category::ServiceCategory::Elderly,
                    description: "每周探访".into(),
                    region: code(village),
                    address: Some("文明路2号".into()),
                    location: None,
                    wanted_at: None,
                    contact_name: "李女士".into(),
                    contact_phone: "13700137000".into(),
                },
                site,
                created_at: at,
            },
            &audit("order.submit", village),
        )
        .await
        .expect("an order")
}

/// A jurisdiction's report of how its sites answered comes from running tallies: they
/// follow acceptance (again after a decline), completion and rating exactly, per site and
/// place, and migration 19 builds the same tallies from orders written before it.
#[tokio::test]
async fn order_tallies_follow_each_order_and_match_a_count_from_scratch() {
    use zhiyuan_domain::order::{Holder, OrderStatus};
    let (db, store) = store().await;
    let [a, b] = two_stations(&store).await;
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let hours = |h: i64| t0 + Duration::hours(h);
    let first = an_order(&store, "T0000000001", "440106001001", a, t0).await;
    let second = an_order(&store, "T0000000002", "440106001001", a, t0).await;
    an_order(&store, "T0000000003", "440106002001", b, t0).await;
    let save = |mut o: OrderRecord, change: &dyn Fn(&mut OrderRecord)| {
        change(&mut o);
        let store = store.clone();
        async move {
            store
                .update_order(&o, &audit("order.move", "440106001001"))
                .await
                .unwrap()
        }
    };
    // The first is accepted after an hour, declined, accepted again after three, completed
    // after five and rated 4; the second accepted after two.
    let first = save(first, &|o| {
        o.state.status = OrderStatus::Accepted;
        o.state.holder = Holder::Org(OrgId(5));
        o.accepted_at = Some(hours(1));
    })
    .await;
    let first = save(first, &|o| {
        o.state.status = OrderStatus::Open;
        o.state.holder = Holder::Site(a);
    })
    .await;
    let first = save(first, &|o| {
        o.state.status = OrderStatus::Accepted;
        o.accepted_at = Some(hours(3));
    })
    .await;
    let first = save(first, &|o| {
        o.state.status = OrderStatus::Completed;
        o.completed_at = Some(hours(5));
    })
    .await;
    let unrated = store.order_stats(code("440106")).await.unwrap();
    save(first, &|o| o.rating = Some(4)).await;
    save(second, &|o| {
        o.state.status = OrderStatus::Accepted;
        o.accepted_at = Some(hours(2));
    })
    .await;

    let station_a = |rated: i64, mean_rating: Option<f64>, accepted: i64, secs: f64| OrderStats {
        orders: 2,
        accepted,
        completed: 1,
        rated,
        mean_rating,
        mean_secs_to_accept: Some(secs),
        mean_secs_to_complete: Some(5.0 * 3600.0),
    };
    let station_b = OrderStats {
        orders: 1,
        ..OrderStats::default()
    };
    let site = |site, stats| SiteOrderStats { site, stats };
    assert_eq!(
        unrated,
        [
            site(a, station_a(0, None, 1, 3.0 * 3600.0)),
            site(b, station_b.clone())
        ]
    );
    let county = store.order_stats(code("440106")).await.unwrap();
    assert_eq!(
        county,
        [
            site(a, station_a(1, Some(4.0), 2, 2.5 * 3600.0)),
            site(b, station_b.clone())
        ]
    );
    assert_eq!(
        store.order_stats(code("440106002")).await.unwrap(),
        [site(b, station_b)]
    );

    // Built again from the orders, as the migration builds them for an existing database.
    let drop = match zhiyuan_testkit::Backend::current() {
        zhiyuan_testkit::Backend::Sqlite => {
            "DROP TRIGGER orders_tally_insert; DROP TRIGGER orders_tally_update;
             DROP TABLE order_tallies;"
        }
        zhiyuan_testkit::Backend::Postgres => {
            "DROP TABLE order_tallies; DROP FUNCTION tally_order CASCADE;"
        }
    };
    db.execute_raw(&format!("{drop}\n{}", migration(19))).await;
    assert_eq!(store.order_stats(code("440106")).await.unwrap(), county);
}

/// Each filter of the order list, alone and together, newest first and page by page: each
/// combination is a statement of its own, so each is exercised. A site's desk holds what
/// it received and what it was sent.
#[tokio::test]
async fn orders_are_listed_by_site_holder_place_and_status_alone_and_together() {
    use zhiyuan_domain::order::{Holder, OrderStatus};
    let (_db, store) = store().await;
    let sites = two_stations(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut orders = Vec::new();
    for (n, (village, site)) in [
        ("440106001001", sites[0]),
        ("440106001001", sites[0]),
        ("440106002001", sites[1]),
    ]
    .into_iter()
    .enumerate()
    {
        orders.push(an_order(&store, &format!("L000000000{n}"), village, site, now).await);
    }
    // The second order, received at the first station, is now a team's.
    let mut taken = orders[1].clone();
    taken.state.status = OrderStatus::Accepted;
    taken.state.holder = Holder::Org(OrgId(5));
    orders[1] = store
        .update_order(&taken, &audit("order.accept", "440106001001"))
        .await
        .unwrap();
    // The third, received at the second station, is sent to the first.
    let mut sent = orders[2].clone();
    sent.state.holder = Holder::Site(sites[0]);
    orders[2] = store
        .update_order(&sent, &audit("order.assign", "440106002001"))
        .await
        .unwrap();
    let ids = |q: OrderQuery| {
        let store = store.clone();
        async move {
            let mut found = Vec::new();
            let mut page = PageRequest::first(1);
            loop {
                let p = store.list_orders(&q, &page).await.unwrap();
                found.extend(p.items.iter().map(|o| o.id));
                match p.next {
                    Some(next) => page.after = Some(next),
                    None => return found,
                }
            }
        }
    };
    let [a, b, c] = [orders[0].id, orders[1].id, orders[2].id];
    let received = Some(OrderStatus::Received);
    let cases = [
        (OrderQuery::default(), vec![c, b, a]),
        (
            OrderQuery {
                site: Some(sites[0]),
                ..OrderQuery::default()
            },
            vec![b, a],
        ),
        (
            OrderQuery {
                site: Some(sites[0]),
                holder: Some(Holder::Site(sites[0])),
                ..OrderQuery::default()
            },
            vec![a],
        ),
        (
            OrderQuery {
                holder: Some(Holder::Org(OrgId(5))),
                ..OrderQuery::default()
            },
            vec![b],
        ),
        (
            OrderQuery {
                within: Some(code("440106002")),
                ..OrderQuery::default()
            },
            vec![c],
        ),
        (
            OrderQuery {
                within: Some(code("440106")),
                status: received,
                ..OrderQuery::default()
            },
            vec![c, a],
        ),
        (
            OrderQuery {
                site: Some(sites[1]),
                within: Some(code("440106001")),
                ..OrderQuery::default()
            },
            vec![],
        ),
        (
            OrderQuery {
                site: Some(sites[0]),
                holder: Some(Holder::Site(sites[0])),
                within: Some(code("440106001001")),
                status: received,
                at_site: Some(sites[0]),
            },
            vec![a],
        ),
        (
            OrderQuery {
                at_site: Some(sites[0]),
                ..OrderQuery::default()
            },
            vec![c, b, a],
        ),
        (
            OrderQuery {
                at_site: Some(sites[1]),
                ..OrderQuery::default()
            },
            vec![c],
        ),
        (
            OrderQuery {
                at_site: Some(sites[0]),
                status: received,
                ..OrderQuery::default()
            },
            vec![c, a],
        ),
    ];
    for (q, expected) in cases {
        assert_eq!(ids(q.clone()).await, expected, "{q:?}");
    }
    // The first order is both received and held at the first station: on its desk once,
    // and a page that holds the whole desk says there is no next.
    let desk = store
        .list_orders(
            &OrderQuery {
                at_site: Some(sites[0]),
                ..OrderQuery::default()
            },
            &PageRequest::first(3),
        )
        .await
        .unwrap();
    assert_eq!(
        desk.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        [c, b, a]
    );
    assert_eq!(desk.next, None);
}

#[tokio::test]
async fn volunteers_are_found_by_grid_cell_and_every_skill_and_follow_their_profile() {
    use zhiyuan_domain::matching::{Availability, ServiceArea, cells_within};
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    let need = GeoPoint::parse(23.13, 113.33).unwrap();
    let area = |lat: f64, lng: f64| {
        Some(ServiceArea {
            location: GeoPoint { lat, lng },
            availability: Availability::parse(&["sat-morning".into()]).unwrap(),
        })
    };
    // 1: near, first aid + nursing; 2: near, first aid only, a minor; 3: far; 4: no area;
    // 5 and 6 arrive by bulk load, near, first aid.
    let mut rows = Vec::new();
    for (n, service, skills, birth) in [
        (1, area(23.14, 113.34), vec!["急救", "护理"], "1990-01-01"),
        (2, area(23.12, 113.32), vec!["急救"], "2010-06-01"),
        (3, area(23.60, 113.90), vec!["急救"], "1990-01-01"),
        (4, None, vec!["急救"], "1990-01-01"),
    ] {
        let mut v = volunteer(n, "440106");
        v.profile.service = service;
        v.profile.skills = skills.into_iter().map(String::from).collect();
        v.birth_date = zhiyuan_domain::registration::parse_date(birth).unwrap();
        rows.push(
            store
                .insert_volunteer(&v, &audit("volunteer.register", "440106"))
                .await
                .unwrap(),
        );
    }
    let bulk: Vec<_> = [5, 6]
        .into_iter()
        .map(|n| {
            let mut v = volunteer(n, "440106");
            v.profile.service = area(23.135, 113.335);
            (v, None)
        })
        .collect();
    store
        .insert_volunteers_bulk(&bulk, &audit("volunteer.seed", "440106"))
        .await
        .unwrap();
    let cells = cells_within(need, 10_000.0);
    let found = |skills: &[&str], adults_born_by: Option<&str>| {
        let q = MatchQuery {
            cells: cells.clone(),
            within: need.bounding_box(10_000.0),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            born_on_or_before: adults_born_by
                .map(|d| zhiyuan_domain::registration::parse_date(d).unwrap()),
        };
        let store = store.clone();
        async move {
            let mut numbers: Vec<u64> = store
                .match_volunteers(&q)
                .await
                .unwrap()
                .iter()
                .map(|m| {
                    (1..=6)
                        .find(|n| volunteer(*n, "440106").number == m.number)
                        .unwrap()
                })
                .collect();
            numbers.sort();
            numbers
        }
    };
    assert_eq!(found(&[], None).await, [1, 2, 5, 6], "anyone near, by cell");
    assert_eq!(found(&["急救"], None).await, [1, 2, 5, 6]);
    assert_eq!(found(&["急救", "护理"], None).await, [1], "every skill");
    assert_eq!(found(&["护理", "手语"], None).await, Vec::<u64>::new());
    assert_eq!(
        found(&["急救"], Some("2008-12-02")).await,
        [1, 5, 6],
        "no minors"
    );
    let one = store
        .match_volunteers(&MatchQuery {
            cells: cells.clone(),
            within: need.bounding_box(10_000.0),
            skills: vec!["护理".into()],
            born_on_or_before: None,
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].volunteer, rows[0].id);
    assert_eq!(one[0].name, "志愿者1");
    assert_eq!(
        one[0].location,
        GeoPoint {
            lat: 23.14,
            lng: 113.34
        }
    );
    assert_eq!(one[0].availability.slots(), ["sat-morning"]);
    assert_eq!(
        one[0].categories,
        zhiyuan_domain::matching::category_bits(&rows[0].profile.service_categories)
    );

    // A profile change re-indexes: 1 drops nursing and moves far away, 3 moves near,
    // 2 withdraws; read back, the area is what was written.
    let mut moved = rows[0].clone();
    moved.profile.skills = vec!["急救".into()];
    moved.profile.service = area(23.60, 113.90);
    store
        .update_volunteer(&moved, &[audit("volunteer.update", "440106")])
        .await
        .unwrap();
    let mut near = rows[2].clone();
    near.profile.service = area(23.13, 113.33);
    let near = store
        .update_volunteer(&near, &[audit("volunteer.update", "440106")])
        .await
        .unwrap();
    assert_eq!(near.profile.service, area(23.13, 113.33));
    let mut withdrawn = rows[1].clone();
    withdrawn.profile.service = None;
    let withdrawn = store
        .update_volunteer(&withdrawn, &[audit("volunteer.update", "440106")])
        .await
        .unwrap();
    assert_eq!(withdrawn.profile.service, None);
    assert_eq!(found(&["急救"], None).await, [3, 5, 6]);
    assert_eq!(found(&["护理"], None).await, Vec::<u64>::new());
}

#[tokio::test]
async fn events_are_queued_with_their_change_and_deliveries_survive_a_crashed_sender() {
    let (_db, store) = store().await;
    add_region(&store, "440106").await;
    // Only notifiable actions are queued, by the transaction that writes them: the
    // database's trigger and `is_event` agree.
    let actions = [
        "order.verify",
        "site.create",
        "membership.apply",
        "membership.update",
        "project.status",
        "project.update",
        "shift.cancel",
        "shift.update",
        "signup.create",
        "signup.decide",
        "signup.promote",
        "signup.cancel",
        "signup.absent",
        "signup.reinstate",
        "signup.decided",
        "records.overdue",
        "record.enter",
        "record.decide",
        "record.report",
        "correction.decide",
        "correction.request",
        "correction.omission",
        "stars.decide",
        "stars.apply",
        "stars.objection",
        "stars.rules",
        "call.issue",
        "qualification.decide",
    ];
    for action in actions {
        store
            .insert_site(
                &new_site("440106", SiteKind::PracticeCenter),
                &audit(action, "440106"),
            )
            .await
            .unwrap();
    }
    let events = store.pending_events(50).await.unwrap();
    let queued: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        queued,
        [
            "order.verify",
            "membership.apply",
            "membership.update",
            "project.status",
            "shift.cancel",
            "signup.decide",
            "signup.promote",
            "signup.cancel",
            "signup.absent",
            "signup.reinstate",
            "records.overdue",
            "record.decide",
            "record.report",
            "correction.decide",
            "correction.request",
            "correction.omission",
            "stars.decide",
            "stars.apply",
            "stars.objection",
            "call.issue",
            "qualification.decide",
        ]
    );
    for action in actions {
        assert_eq!(queued.contains(&action), is_event(action), "{action}");
    }
    // What follows is about the first; the others are settled with nothing to send.
    let rest: Vec<i64> = events[1..].iter().map(|e| e.id).collect();
    store.settle_events(&rest, &[], &[]).await.unwrap();

    let now = OffsetDateTime::now_utc();
    let sub = store
        .insert_subscription(
            &NewSubscription {
                region: code("440106"),
                channel: ChannelKind::Webhook,
                destination: "http://127.0.0.1:9/hook".into(),
                secret: Some("k".into()),
                events: vec!["order.".into()],
                created_at: now,
            },
            &audit("subscription.create", "440106"),
        )
        .await
        .unwrap();
    let delivery = NewDelivery {
        subscription: sub.id,
        audit_id: events[0].id,
        event: events[0].action.clone(),
        payload: serde_json::json!({"id": events[0].id}),
        at: now,
    };
    // Two relays settling the same event at once write it once.
    let ids = [events[0].id];
    let (a, b) = tokio::join!(
        store.settle_events(&ids, std::slice::from_ref(&delivery), &[]),
        store.settle_events(&ids, std::slice::from_ref(&delivery), &[]),
    );
    a.unwrap();
    b.unwrap();
    assert!(store.pending_events(10).await.unwrap().is_empty());
    assert_eq!(store.deliveries(sub.id, 10).await.unwrap().len(), 1);

    // A sender claims it and dies: nobody else gets it during the lease, anyone after.
    let lease = Duration::seconds(60);
    let claimed = store.claim_deliveries(now, now + lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].subscription.sub.secret.as_deref(), Some("k"));
    assert!(
        store
            .claim_deliveries(now + Duration::seconds(30), now + lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = now + lease + Duration::seconds(1);
    let again = store
        .claim_deliveries(later, later + lease, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    store
        .finish_delivery(again[0].id, &DeliveryOutcome::Delivered, later)
        .await
        .unwrap();
    let far = later + Duration::days(1);
    assert!(
        store
            .claim_deliveries(far, far + lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let record = &store.deliveries(sub.id, 10).await.unwrap()[0];
    assert_eq!((record.attempts, record.delivered_at.is_some()), (2, true));
}

/// Art. 11 reports count the accepted sign-ups still without an effective record, a flag
/// kept in each write's transaction (by triggers, and on SQLite by the store for an
/// inserted record; on SQLite each shift also keeps their count, by triggers). The count
/// follows a record entered effective, one entered pending and then approved, a
/// correction's new version replacing a record, a cancellation during the shift whose
/// freed place goes to the waitlist, a rejected record, an absence and its withdrawal;
/// a team's report and its jurisdiction's agree; a shift still to come is not listed;
/// migrations 20, 26 and 28 set the same flags and counts on rows written before them; a
/// shift is flagged overdue once, however many ask at once, also when a sign-up is owed a
/// record again after the flag (PostgreSQL reads it once more then, SQLite does not), and
/// housekeeping does not read it again.
#[tokio::test]
async fn overdue_shifts_follow_sign_ups_records_and_corrections_and_match_a_count_from_scratch() {
    let (db, store) = store().await;
    let (v, org) = volunteers_and_a_team(&store, 4).await;
    let now = OffsetDateTime::now_utc();
    let (project, ended) = a_project_with_a_shift(
        &store,
        org.id,
        now,
        (now - Duration::hours(3), now - Duration::hours(1)),
        2,
    )
    .await;
    let coming = a_shift_to_come(&store, project.id, now).await;
    let sign_up = |shift: ShiftId, volunteer: VolunteerId| {
        let store = store.clone();
        async move {
            store
                .sign_up(
                    shift,
                    volunteer,
                    now - Duration::days(1),
                    Box::new(|_| Ok(())),
                    &audit("signup.create", "440106"),
                )
                .await
                .expect("sign up")
                .signup
        }
    };
    // Two places: the first two volunteers hold them, the third waits.
    let mut signups = Vec::new();
    for x in &v[..3] {
        signups.push(sign_up(ended.id, x.id).await);
    }
    assert_eq!(signups[2].status, SignupStatus::Waitlisted);
    sign_up(coming.id, v[3].id).await;
    // (shift, volunteers missing) from the team's report, checked against the region's.
    let missing = || {
        let store = store.clone();
        async move {
            let listed = |r: Vec<UnrecordedShift>| {
                r.into_iter()
                    .map(|u| (u.shift.id, u.missing))
                    .collect::<Vec<_>>()
            };
            let team = listed(
                store
                    .unrecorded_shifts(Some(org.id), None, now, false, 10)
                    .await
                    .expect("the team's report"),
            );
            let region = listed(
                store
                    .unrecorded_shifts(None, Some(code("440106")), now, false, 10)
                    .await
                    .expect("the jurisdiction's report"),
            );
            assert_eq!(team, region, "the team's and the jurisdiction's reports");
            team
        }
    };
    assert_eq!(missing().await, [(ended.id, 2)]);

    let on_shift = |volunteer: VolunteerId, key: &str, status: RecordStatus| NewRecord {
        project: Some(project.id),
        shift: Some(ended.id),
        ..entered(volunteer, org.id, now.date(), 90, key, status)
    };
    let first = store
        .insert_record(
            &on_shift(v[0].id, "k1", RecordStatus::Effective),
            DayCap(12 * 60),
            &audit("record.create", "440106"),
        )
        .await
        .expect("the first volunteer's record");
    assert_eq!(missing().await, [(ended.id, 1)]);
    let second = store
        .insert_record(
            &on_shift(v[1].id, "k2", RecordStatus::Pending),
            DayCap(12 * 60),
            &audit("record.report", "440106"),
        )
        .await
        .expect("the second volunteer's report");
    assert_eq!(
        missing().await,
        [(ended.id, 1)],
        "a pending record is not one"
    );
    store
        .decide_record(
            second.id,
            RecordStatus::Effective,
            None,
            now,
            DayCap(12 * 60),
            &audit("record.decide", "440106"),
        )
        .await
        .expect("approve the report");
    assert_eq!(missing().await, []);

    // A correction replaces the first record with a new version: still recorded.
    let correction = store
        .insert_correction(
            &NewCorrection {
                record: Some(first.id),
                volunteer: v[0].id,
                org: org.id,
                reason: "只服务了一小时".into(),
                proposed: RecordChanges {
                    minutes: Some(60),
                    ..RecordChanges::default()
                },
                created_at: now,
            },
            &audit("correction.request", "440106"),
        )
        .await
        .expect("a correction");
    let corrected = store
        .approve_correction(
            correction.id,
            &NewRecord {
                minutes: 60,
                dedupe_key: None,
                source: RecordSource::Correction,
                ..first.record.clone()
            },
            None,
            now,
            None,
            DayCap(12 * 60),
            &audit("correction.approve", "440106"),
        )
        .await
        .expect("approve the correction");
    assert_ne!(corrected.record.id, first.id);
    assert_eq!(missing().await, []);

    // The second volunteer is removed during the shift; the freed place goes to the
    // third, who has no record once it has ended.
    let (_, promoted) = store
        .cancel_signup(
            signups[1].id,
            now - Duration::hours(2),
            &audit("signup.cancel", "440106"),
        )
        .await
        .expect("cancel");
    assert_eq!(
        promoted.iter().map(|s| s.volunteer).collect::<Vec<_>>(),
        [v[2].id]
    );
    assert_eq!(missing().await, [(ended.id, 1)]);
    let third = store
        .insert_record(
            &on_shift(v[2].id, "k3", RecordStatus::Pending),
            DayCap(12 * 60),
            &audit("record.report", "440106"),
        )
        .await
        .expect("the third volunteer's report");
    store
        .decide_record(
            third.id,
            RecordStatus::Rejected,
            None,
            now,
            DayCap(12 * 60),
            &audit("record.decide", "440106"),
        )
        .await
        .expect("reject the report");
    assert_eq!(
        missing().await,
        [(ended.id, 1)],
        "a rejected record is not one"
    );

    // What migrations 26 and 28 add, dropped so that they can run again on existing rows
    // (on SQLite, 28 replaced what 26 added; on PostgreSQL, 28 changes nothing).
    let undo_flags = match zhiyuan_testkit::Backend::current() {
        zhiyuan_testkit::Backend::Sqlite => {
            "DROP TRIGGER signups_owed_insert; DROP TRIGGER signups_owed_update;
             DROP TRIGGER signups_owed_delete; DROP TRIGGER shifts_owing;
             DROP INDEX shifts_owing; DROP INDEX shifts_owing_project;
             DROP INDEX shifts_unflagged;
             ALTER TABLE shifts DROP COLUMN owed; ALTER TABLE shifts DROP COLUMN owing;"
        }
        zhiyuan_testkit::Backend::Postgres => "ALTER TABLE signups DROP COLUMN overdue_flagged;",
    };
    // Set again from the rows, as the migration sets them on an existing database.
    let drop = match zhiyuan_testkit::Backend::current() {
        zhiyuan_testkit::Backend::Sqlite => {
            "DROP TRIGGER records_remark_signup; DROP TRIGGER signups_recorded;
             ALTER TABLE signups DROP COLUMN recorded;"
        }
        zhiyuan_testkit::Backend::Postgres => {
            "DROP FUNCTION mark_signup_recorded CASCADE; DROP FUNCTION remark_signup_recorded CASCADE;
             DROP FUNCTION signup_recorded CASCADE;
             DROP FUNCTION has_effective_record; ALTER TABLE signups DROP COLUMN recorded;"
        }
    };
    let replay = format!(
        "{undo_flags}\n{drop}\n{}\n{}\n{}\n{}",
        migration(20),
        migration(22),
        migration(26),
        migration(28)
    );
    db.execute_raw(&replay).await;
    assert_eq!(missing().await, [(ended.id, 1)]);
    // And the flags set by the migrations are kept as before; a sign-up written after
    // them starts unrecorded.
    store
        .insert_record(
            &on_shift(v[2].id, "k4", RecordStatus::Effective),
            DayCap(12 * 60),
            &audit("record.create", "440106"),
        )
        .await
        .expect("the third volunteer's record");
    assert_eq!(missing().await, []);
    let (_, later) = a_project_with_a_shift(
        &store,
        org.id,
        now,
        (now - Duration::hours(2), now - Duration::minutes(30)),
        5,
    )
    .await;
    sign_up(later.id, v[3].id).await;
    let absent = sign_up(later.id, v[0].id).await;
    assert_eq!(missing().await, [(later.id, 2)]);
    store
        .set_absent(absent.id, true, now, &audit("signup.absent", "440106"))
        .await
        .expect("mark absent");
    assert_eq!(missing().await, [(later.id, 1)]);

    // Flagged once, whichever of two servers asks first; then left out when only the
    // shifts not yet flagged are asked for, and still in the reports.
    let unflagged = || {
        let store = store.clone();
        async move {
            store
                .unrecorded_shifts(None, None, now, true, 10)
                .await
                .expect("the shifts not yet flagged")
                .len()
        }
    };
    assert_eq!(unflagged().await, 1);
    let before = audit_count(&store).await;
    let event = audit("records.overdue", "440106");
    let (a, b) = tokio::join!(
        store.flag_overdue(later.id, &event),
        store.flag_overdue(later.id, &event),
    );
    assert_eq!(
        [a.expect("flag"), b.expect("flag")]
            .iter()
            .filter(|f| **f)
            .count(),
        1
    );
    assert_eq!(audit_count(&store).await, before + 1, "one event");
    assert_eq!(unflagged().await, 0);
    assert_eq!(missing().await, [(later.id, 1)]);

    // An absence withdrawn after the flag: the sign-up is owed a record again, and its
    // shift is not flagged a second time (PostgreSQL reads it once more, to flag the
    // sign-up with it), and is left out of the walk.
    store
        .set_absent(absent.id, false, now, &audit("signup.reinstate", "440106"))
        .await
        .expect("withdraw the absence");
    assert_eq!(missing().await, [(later.id, 2)]);
    let read_again = match zhiyuan_testkit::Backend::current() {
        zhiyuan_testkit::Backend::Sqlite => 0,
        zhiyuan_testkit::Backend::Postgres => 1,
    };
    assert_eq!(unflagged().await, read_again);
    let before = audit_count(&store).await;
    assert!(!store.flag_overdue(later.id, &event).await.expect("flag"));
    assert_eq!(audit_count(&store).await, before, "no second event");
    assert_eq!(unflagged().await, 0);

    // The migrations keep the shifts flagged before them out of the walk.
    db.execute_raw(&replay).await;
    assert_eq!(unflagged().await, 0);
    assert_eq!(missing().await, [(later.id, 2)]);
}

/// A keyed request is started once; its retries wait while it runs, get its answer once
/// it is kept, or run it again once it is forgotten or its attempt went stale; another
/// request under the same key is a mismatch; another caller's key is another key (the
/// service names a key by a digest over its caller and the client's key; here, by hand).
#[tokio::test]
async fn a_keyed_request_runs_once_and_its_retries_get_its_answer() {
    let (_db, store) = store().await;
    let t0 = OffsetDateTime::now_utc();
    let lease = Duration::minutes(2);
    let (alice, bob) = ("alice:k-1", "bob:k-1");
    let begin = |key: &'static str, fingerprint: &'static [u8], now: OffsetDateTime| {
        let store = store.clone();
        async move {
            store
                .begin_keyed(key, fingerprint, now, now - lease)
                .await
                .expect("begin")
        }
    };
    assert_eq!(begin(alice, b"order", t0).await, KeyedRequest::Started);
    assert_eq!(begin(alice, b"order", t0).await, KeyedRequest::InProgress);
    assert_eq!(begin(alice, b"other", t0).await, KeyedRequest::Mismatch);
    assert_eq!(begin(bob, b"other", t0).await, KeyedRequest::Started);
    // The first attempt's server stopped: after the lease a retry runs it again.
    let later = t0 + lease + Duration::seconds(1);
    assert_eq!(begin(alice, b"order", later).await, KeyedRequest::Started);
    assert_eq!(
        begin(alice, b"order", later).await,
        KeyedRequest::InProgress
    );
    let answer = KeptResponse {
        status: 201,
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"id": 7}"#.to_vec(),
    };
    store
        .finish_keyed(alice, Some(&answer))
        .await
        .expect("keep");
    assert_eq!(
        begin(alice, b"order", later).await,
        KeyedRequest::Answered(answer.clone())
    );
    assert_eq!(begin(alice, b"other", later).await, KeyedRequest::Mismatch);
    // A refused request is forgotten: its retry runs.
    store.finish_keyed(bob, None).await.expect("forget");
    assert_eq!(begin(bob, b"fixed", later).await, KeyedRequest::Started);
    // A day on, keys started before the cut are purged; the later one stays.
    assert_eq!(store.purge_keyed(later).await.expect("purge"), 0);
    assert_eq!(
        store
            .purge_keyed(later + Duration::seconds(1))
            .await
            .expect("purge"),
        2
    );
    assert_eq!(begin(alice, b"again", later).await, KeyedRequest::Started);
}
