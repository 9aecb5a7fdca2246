//! The storage traits, split by capability. [`Store`] is all of them together, which is
//! what the application holds (`Arc<dyn Store>`).

use async_trait::async_trait;
use time::{Date, OffsetDateTime};
use zhiyuan_domain::access::{OrgFacts, Principal};
use zhiyuan_domain::ids::{AccountId, MembershipId, OrgId, SiteId, VolunteerId};
use zhiyuan_domain::region::{Region, RegionCode};
use zhiyuan_domain::stars::StarRules;
use zhiyuan_domain::volunteer_number::VolunteerNumber;

use crate::*;

#[async_trait]
pub trait RegionStore {
    /// Adds a region; its parent must exist. Conflict on `code` if taken.
    async fn insert_region(&self, region: &Region, audit: &AuditEntry) -> Result<()>;
    /// Inserts the regions that do not exist yet (reference data), returns how many.
    async fn ensure_regions(&self, regions: &[Region]) -> Result<usize>;
    async fn get_region(&self, code: RegionCode) -> Result<Option<Region>>;
    async fn rename_region(&self, region: &Region, audit: &AuditEntry) -> Result<()>;
    async fn list_regions(&self, q: &RegionQuery, page: &PageRequest) -> Result<Page<Region>>;
}

#[async_trait]
pub trait SiteStore {
    async fn insert_site(&self, site: &NewSite, audit: &AuditEntry) -> Result<SiteRecord>;
    async fn get_site(&self, id: SiteId) -> Result<Option<SiteRecord>>;
    /// Writes `site.site` if the row is still at `site.version`.
    async fn update_site(&self, site: &SiteRecord, audit: &AuditEntry) -> Result<SiteRecord>;
    async fn list_sites(&self, q: &SiteQuery, page: &PageRequest) -> Result<Page<SiteRecord>>;
}

#[async_trait]
pub trait OrgStore {
    /// Creates an organisation and, when `admin` is given, makes that volunteer its
    /// active admin in the same transaction.
    async fn insert_org(
        &self,
        org: &NewOrg,
        admin: Option<VolunteerId>,
        audit: &AuditEntry,
    ) -> Result<OrgRecord>;
    async fn get_org(&self, id: OrgId) -> Result<Option<OrgRecord>>;
    async fn update_org(&self, org: &OrgRecord, audit: &AuditEntry) -> Result<OrgRecord>;
    async fn list_orgs(&self, q: &OrgQuery, page: &PageRequest) -> Result<Page<OrgRecord>>;

    /// Conflict on `volunteer` if the volunteer already has a membership of this team.
    async fn insert_membership(
        &self,
        m: &NewMembership,
        audit: &AuditEntry,
    ) -> Result<MembershipRecord>;
    async fn get_membership(&self, id: MembershipId) -> Result<Option<MembershipRecord>>;
    /// Writes role, status and decision if the row is still at `m.version`.
    async fn update_membership(
        &self,
        m: &MembershipRecord,
        audit: &AuditEntry,
    ) -> Result<MembershipRecord>;
    async fn list_memberships(
        &self,
        q: &MembershipQuery,
        page: &PageRequest,
    ) -> Result<Page<MembershipRecord>>;
    /// The teams a volunteer belongs to or has applied to, as access facts.
    async fn volunteer_orgs(&self, volunteer: VolunteerId) -> Result<Vec<OrgFacts>>;
}

#[async_trait]
pub trait VolunteerStore {
    /// Registers a volunteer and, with a password hash, their login account (login = the
    /// volunteer number), with the privacy consent. Conflict on `id_document.number` for
    /// a document already registered, on `number` for a number already taken.
    async fn insert_volunteer(
        &self,
        v: &NewVolunteer,
        audit: &AuditEntry,
    ) -> Result<VolunteerRecord>;
    /// Bulk load for synthetic data: one transaction, one audit entry for the batch; each
    /// volunteer optionally joins a team as an active member.
    async fn insert_volunteers_bulk(
        &self,
        batch: &[(NewVolunteer, Option<OrgId>)],
        audit: &AuditEntry,
    ) -> Result<()>;
    /// After a bulk load: refreshes the statistics the query planner relies on, which
    /// would otherwise describe the empty tables (PostgreSQL's autovacuum catches up
    /// only later, and plans made meanwhile can scan whole tables).
    async fn refresh_statistics(&self) -> Result<()>;
    async fn get_volunteer(&self, id: VolunteerId) -> Result<Option<VolunteerRecord>>;
    async fn get_volunteer_by_number(
        &self,
        number: VolunteerNumber,
    ) -> Result<Option<VolunteerRecord>>;
    /// Writes `v`'s profile, if its version is still the one read (a conflict on
    /// `version` otherwise), with each of `audit` (at least one; see
    /// [`AuditEntry::in_each`]).
    async fn update_volunteer(
        &self,
        v: &VolunteerRecord,
        audit: &[AuditEntry],
    ) -> Result<VolunteerRecord>;
    async fn list_volunteers(
        &self,
        q: &VolunteerQuery,
        page: &PageRequest,
    ) -> Result<Page<VolunteerRecord>>;
    async fn count_volunteers(&self) -> Result<u64>;
    /// The lowest and highest volunteer ids, if any.
    async fn volunteer_id_bounds(&self) -> Result<Option<(i64, i64)>>;
    /// The ids of the given numbers; unknown numbers are absent.
    async fn volunteer_ids(
        &self,
        numbers: &[VolunteerNumber],
    ) -> Result<std::collections::HashMap<VolunteerNumber, VolunteerId>>;
    /// Volunteers who set a service area, from the grid cells and skills asked for.
    async fn match_volunteers(&self, q: &MatchQuery) -> Result<Vec<MatchRow>>;
    /// The stored ciphertext of a volunteer's document (for re-encryption and exports).
    async fn document_ciphertext(&self, id: VolunteerId) -> Result<Option<Vec<u8>>>;
}

#[async_trait]
pub trait AccountStore {
    /// Conflict on `login` if taken.
    async fn insert_account(&self, a: &NewAccount, audit: &AuditEntry) -> Result<AccountRecord>;
    async fn find_account(&self, login: &str) -> Result<Option<AccountRecord>>;
    async fn get_account(&self, id: AccountId) -> Result<Option<AccountRecord>>;
    /// Replaces an account's password hash and ends its sessions but `keep` (the one the
    /// change was made from). Not found for an unknown account.
    async fn set_password(
        &self,
        account: AccountId,
        password_hash: &str,
        keep: &[u8; 32],
        audit: &AuditEntry,
    ) -> Result<()>;
    async fn insert_session(&self, s: &NewSession) -> Result<()>;
    /// The principal behind a live session: account, volunteer, granted roles and the
    /// team roles of active memberships. `None` for unknown or expired tokens.
    async fn load_principal(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<Principal>>;
    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()>;
    /// Disables or enables an account; disabling also ends its sessions. An account
    /// already so is returned as it is, with no audit entry written (the second of two
    /// concurrent requests). Not found for an unknown account.
    async fn set_account_disabled(
        &self,
        account: AccountId,
        disabled: bool,
        audit: &AuditEntry,
    ) -> Result<AccountRecord>;
    /// Deletes up to `limit` sessions expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: OffsetDateTime, limit: u32) -> Result<u64>;
    /// Counts an attempt to sign in as `login` at `now`, before its password is checked,
    /// and returns the count with the lock. One statement, so that concurrent attempts each
    /// count: an attempt that finds the count above `limits.max` is refused unchecked. The
    /// count starts again once the lock has expired, or with no lock once the window has
    /// passed.
    async fn count_login_attempt(
        &self,
        login: &str,
        now: OffsetDateTime,
        limits: LoginLimits,
    ) -> Result<LoginFailures>;
    /// Forgets the attempts of `login` (its password was right).
    async fn clear_login_attempts(&self, login: &str) -> Result<()>;
    /// Deletes the attempt counts of logins whose window started before `window_start` and
    /// that no lock holds at `now` (a later attempt would start afresh anyway); returns how
    /// many. Guesses at logins that do not exist leave a row each until then.
    async fn purge_login_attempts(
        &self,
        window_start: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// The grants of an account, in the order given.
    async fn account_grants(&self, account: AccountId) -> Result<Vec<GrantRow>>;
    /// Replaces an account's roles with `roles` (distinct) and audits the change with each
    /// of `audit` (one for each jurisdiction whose trail shows it; at least one), if the
    /// account still holds `expected` (see [`GrantChanges::plan`]; refused on `roles`
    /// otherwise). Roles kept keep their rows. Replacing roles with the same ones writes
    /// nothing. Returns the roles now held, in the order given; not found for an unknown
    /// account.
    async fn replace_grants(
        &self,
        account: AccountId,
        expected: &[GrantRow],
        roles: &[GrantRow],
        audit: &[AuditEntry],
    ) -> Result<Vec<GrantRow>>;
    /// The roles given within `within`'s subtree, with their accounts, in region order.
    async fn list_staff(&self, within: RegionCode, page: &PageRequest) -> Result<Page<StaffGrant>>;
}

/// Messages between the app servers sharing one database: each says which data kept in
/// memory a change made stale, so that the others forget it too instead of serving it
/// until it expires.
#[async_trait]
pub trait AnnouncementStore {
    /// Records `message`, stamped by the database's clock.
    async fn announce(&self, message: &str) -> Result<()>;
    /// The database's clock now: where a server starts reading announcements.
    async fn announcement_clock(&self) -> Result<OffsetDateTime>;
    /// Up to `limit` announcements stamped at or after `since`, oldest first.
    async fn announcements_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Announcement>>;
    /// Deletes announcements stamped before `before`; returns how many.
    async fn purge_announcements(&self, before: OffsetDateTime) -> Result<u64>;
}

#[async_trait]
pub trait ProjectStore {
    async fn insert_project(&self, p: &NewProject, audit: &AuditEntry) -> Result<ProjectRecord>;
    async fn get_project(&self, id: ProjectId) -> Result<Option<ProjectRecord>>;
    /// Writes the project if it is still at `p.version` (region and team never change).
    async fn update_project(&self, p: &ProjectRecord, audit: &AuditEntry) -> Result<ProjectRecord>;
    async fn list_projects(
        &self,
        q: &ProjectQuery,
        page: &PageRequest,
    ) -> Result<Page<ProjectRecord>>;
    async fn insert_shift(&self, s: &NewShift, audit: &AuditEntry) -> Result<ShiftRecord>;
    async fn get_shift(&self, id: ShiftId) -> Result<Option<ShiftRecord>>;
    /// A shift with its project (a shift never moves to another project).
    async fn get_shift_with_project(
        &self,
        id: ShiftId,
    ) -> Result<Option<(ShiftRecord, ProjectRecord)>> {
        let Some(shift) = self.get_shift(id).await? else {
            return Ok(None);
        };
        let project = self.get_project(shift.shift.project).await?;
        Ok(project.map(|p| (shift, p)))
    }
    /// Writes window, capacity and cancellation if the row is still at `s.version`;
    /// conflict on `capacity` when it would fall below the places already taken. New
    /// places go to the waitlist in order, unless the shift has ended at the audit's time.
    async fn update_shift(&self, s: &ShiftRecord, audit: &AuditEntry) -> Result<ShiftRecord>;
    async fn list_shifts(&self, project: ProjectId) -> Result<Vec<ShiftRecord>>;
}

#[async_trait]
pub trait SignupStore {
    /// Signs a volunteer up if `check` admits them on the shift, project and volunteer as
    /// read in the same transaction. The project's mode decides: automatic takes a free
    /// place or joins the waitlist; approval waits as pending. Conflict on `volunteer`
    /// when a live sign-up exists; NotFound without the shift or the volunteer. Places
    /// are never over-allocated, whatever the concurrency. The audit entry takes the
    /// project's region.
    async fn sign_up(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
        at: OffsetDateTime,
        check: Check<SignupFacts>,
        audit: &AuditEntry,
    ) -> Result<SignupMade>;
    async fn get_signup(&self, id: SignupId) -> Result<Option<SignupRecord>>;
    async fn find_signup(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
    ) -> Result<Option<SignupRecord>>;
    /// Cancels a live sign-up; the shift's free places (the one freed, and any freed
    /// earlier without promotion, as by an absence) go to the waitlist in order, unless
    /// the shift has ended at `at`. Returns the cancelled sign-up and those promoted.
    async fn cancel_signup(
        &self,
        id: SignupId,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(SignupRecord, Vec<SignupRecord>)>;
    /// Marks an accepted sign-up absent (`absent`) and gives up its place (nobody is
    /// promoted: the shift has started), or withdraws an absence marked in error (not
    /// `absent`), the sign-up accepted again and taking its place back. Refused on
    /// `status` when the sign-up is not in the state changed from; on `attendance` when
    /// marking absent a volunteer who checked in or has a record of the shift, effective or
    /// waiting for a decision; on `shift` when withdrawing with no place free (the shift full
    /// or cancelled).
    async fn set_absent(
        &self,
        id: SignupId,
        absent: bool,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<SignupRecord>;
    /// Decides a pending sign-up: accepting takes a place, or waitlists when full.
    async fn decide_signup(
        &self,
        id: SignupId,
        accept: bool,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<SignupRecord>;
    /// Sign-ups in the order made, each with its shift and project (the volunteer's own
    /// list names them; a team's list of one shift uses the sign-up alone).
    async fn list_signups(&self, q: &SignupQuery, page: &PageRequest)
    -> Result<Page<SignupDetail>>;
    /// Gives the volunteer a calendar link (the digest of its secret), replacing any
    /// earlier one, or with `None` ends theirs, with its audit entry.
    async fn set_calendar_link(
        &self,
        volunteer: VolunteerId,
        token_hash: Option<&[u8]>,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<()>;
    /// The volunteer whose calendar link has this digest.
    async fn calendar_link_volunteer(&self, token_hash: &[u8]) -> Result<Option<VolunteerId>>;
    /// A volunteer's live sign-ups for shifts ending after `after`, soonest first.
    async fn volunteer_schedule(
        &self,
        volunteer: VolunteerId,
        after: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<SignupDetail>>;
}

#[async_trait]
pub trait AttendanceStore {
    /// Records a check-in; an existing one is returned unchanged (`false`). Refused on
    /// `shift` ([`NewAttendance::without_signup`]) unless the volunteer's sign-up for the
    /// shift is accepted when the check-in is written, so that one cancelled, refused or
    /// marked absent meanwhile (see [`SignupStore::set_absent`]) is never checked in.
    async fn check_in(
        &self,
        a: &NewAttendance,
        audit: &AuditEntry,
    ) -> Result<(AttendanceRecord, bool)>;
    async fn get_attendance(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
    ) -> Result<Option<AttendanceRecord>>;
    /// Closes an open attendance (at `a.version`) and writes its service record, with the
    /// totals, in one transaction. Refused on `minutes` when the record would take its day
    /// over `cap` (see [`DayCap`]).
    #[allow(clippy::too_many_arguments)]
    async fn check_out(
        &self,
        a: &AttendanceRecord,
        at: OffsetDateTime,
        method: AttendanceMethod,
        auto_closed: bool,
        record: &NewRecord,
        cap: DayCap,
        audit: &AuditEntry,
    ) -> Result<AttendanceRecord>;
    /// Attendance still open for shifts that ended before `before`.
    async fn open_attendance_before(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<AttendanceRecord>>;
}

#[async_trait]
pub trait RecordStore {
    /// Conflict on `dedupe_key` when the same entry was recorded before; refused on
    /// `minutes` when an effective record would take its day over `cap`.
    async fn insert_record(
        &self,
        r: &NewRecord,
        cap: DayCap,
        audit: &AuditEntry,
    ) -> Result<RecordRow>;
    /// Inserts many records in one transaction; entries whose dedupe key exists are
    /// skipped and reported as duplicates, and rows that would take their day over `cap`
    /// (with what it held when the transaction began and the rows before them) are
    /// skipped and reported as such. Entries recorded before are duplicates before
    /// anything else (their minutes are in their day already). Without a cap nothing is read first: for a writer
    /// that knows the days are empty (the seed).
    async fn insert_records(
        &self,
        rows: Vec<NewRecord>,
        cap: Option<DayCap>,
        audit: &AuditEntry,
    ) -> Result<Vec<BatchOutcome>>;
    async fn get_record(&self, id: RecordId) -> Result<Option<RecordRow>>;
    /// Moves a pending record to `status` (effective or rejected) if it is still pending;
    /// refused on `minutes` when making it effective would take its day over `cap`.
    async fn decide_record(
        &self,
        id: RecordId,
        status: RecordStatus,
        by: Option<AccountId>,
        at: OffsetDateTime,
        cap: DayCap,
        audit: &AuditEntry,
    ) -> Result<RecordRow>;
    async fn list_records(&self, q: &RecordQuery, page: &PageRequest) -> Result<Page<RecordRow>>;
    /// Totals, and those of `year`, read in constant time.
    async fn totals(&self, volunteer: VolunteerId, year: i32) -> Result<Totals>;
    /// Effective minutes credited to a volunteer on `day`, for the daily cap.
    async fn day_minutes(&self, volunteer: VolunteerId, day: Date) -> Result<i64>;
    /// Shifts of a team (or of projects in a region subtree) that ended before
    /// `ended_before` and still have accepted volunteers without an effective record,
    /// oldest first; with `unflagged`, only those not yet flagged (on PostgreSQL also a
    /// flagged shift with a sign-up owed a record again since, until it is flagged
    /// again: see its migration 0026).
    async fn unrecorded_shifts(
        &self,
        org: Option<OrgId>,
        within: Option<RegionCode>,
        ended_before: OffsetDateTime,
        unflagged: bool,
        limit: u32,
    ) -> Result<Vec<UnrecordedShift>>;
    /// Notes that a shift's overdue records were flagged, with `audit` (the event), unless
    /// it was already: whether this call flagged it. Either way it leaves the
    /// `unflagged` shifts.
    async fn flag_overdue(&self, shift: ShiftId, audit: &AuditEntry) -> Result<bool>;
}

#[async_trait]
pub trait CorrectionStore {
    async fn insert_correction(
        &self,
        c: &NewCorrection,
        audit: &AuditEntry,
    ) -> Result<CorrectionRecord>;
    async fn get_correction(&self, id: CorrectionId) -> Result<Option<CorrectionRecord>>;
    async fn list_corrections(
        &self,
        q: &CorrectionQuery,
        page: &PageRequest,
    ) -> Result<Page<CorrectionRecord>>;
    /// Approves a pending correction in one transaction. For a record, its current version
    /// is superseded by `version` (the next revision of the same lineage) and the totals
    /// move by the difference; for an omission, `version` is a new record. Conflict on
    /// `status` when no longer pending, on `record` when the record changed meanwhile;
    /// refused on `minutes` when the version would take its day over `cap`.
    #[allow(clippy::too_many_arguments)]
    async fn approve_correction(
        &self,
        id: CorrectionId,
        version: &NewRecord,
        by: Option<AccountId>,
        at: OffsetDateTime,
        note: Option<String>,
        cap: DayCap,
        audit: &AuditEntry,
    ) -> Result<Corrected>;
    async fn reject_correction(
        &self,
        id: CorrectionId,
        by: Option<AccountId>,
        at: OffsetDateTime,
        note: Option<String>,
        audit: &AuditEntry,
    ) -> Result<CorrectionRecord>;
    /// Every version of a record's lineage, oldest first.
    async fn record_history(&self, lineage: RecordId) -> Result<Vec<RecordRow>>;
    async fn insert_entry(&self, e: &NewEntry, audit: &AuditEntry) -> Result<EntryRecord>;
    async fn list_entries(
        &self,
        volunteer: VolunteerId,
        kind: Option<EntryKind>,
        page: &PageRequest,
    ) -> Result<Page<EntryRecord>>;
}

#[async_trait]
pub trait StarStore {
    /// The rule sets set on any of `regions`.
    async fn star_rules_for(&self, regions: &[RegionCode]) -> Result<Vec<(RegionCode, StarRules)>>;
    /// What `volunteer`'s star standing is worked out from (the rule sets set on any of
    /// `regions`, the totals with `year`'s, recognised minutes, the certified star, the
    /// latest applications), read at once: one round trip on PostgreSQL, where the
    /// standing is asked for often.
    async fn star_facts(
        &self,
        volunteer: VolunteerId,
        regions: &[RegionCode],
        year: i32,
    ) -> Result<StarFacts>;
    async fn set_star_rules(
        &self,
        region: RegionCode,
        rules: &StarRules,
        audit: &AuditEntry,
    ) -> Result<()>;
    /// Conflict on `volunteer` while another application of theirs is open.
    async fn insert_star_application(
        &self,
        a: &NewStarApplication,
        audit: &AuditEntry,
    ) -> Result<StarApplication>;
    async fn get_star_application(&self, id: StarApplicationId) -> Result<Option<StarApplication>>;
    /// Writes status, notice and decision if the row is still at `a.version`. Certifying
    /// raises the volunteer's star; revoking recomputes it from what stays certified and
    /// sets `barred_until`.
    async fn update_star_application(
        &self,
        a: &StarApplication,
        barred_until: Option<Date>,
        audit: &AuditEntry,
    ) -> Result<StarApplication>;
    async fn list_star_applications(
        &self,
        q: &StarQuery,
        page: &PageRequest,
    ) -> Result<Page<StarApplication>>;
    async fn insert_star_objection(
        &self,
        application: StarApplicationId,
        text: &str,
        contact: Option<&str>,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<StarObjection>;
    async fn list_star_objections(
        &self,
        application: StarApplicationId,
    ) -> Result<Vec<StarObjection>>;
    async fn volunteer_star(&self, volunteer: VolunteerId) -> Result<Option<VolunteerStar>>;
}

#[async_trait]
pub trait CertificateStore {
    /// Conflict on `number` if taken.
    async fn insert_certificate(
        &self,
        c: &NewCertificate,
        audit: &AuditEntry,
    ) -> Result<CertificateRecord>;
    async fn get_certificate(&self, number: &str) -> Result<Option<CertificateRecord>>;
    async fn list_certificates(
        &self,
        volunteer: VolunteerId,
        page: &PageRequest,
    ) -> Result<Page<CertificateRecord>>;
    /// Conflict on `status` when already revoked.
    async fn revoke_certificate(
        &self,
        number: &str,
        by: Option<AccountId>,
        at: OffsetDateTime,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<CertificateRecord>;
    /// A volunteer's effective records in a period, per recording unit (name, minutes,
    /// count), for a certificate.
    async fn record_units(
        &self,
        volunteer: VolunteerId,
        from: Option<Date>,
        until: Option<Date>,
    ) -> Result<Vec<UnitTotal>>;
    /// A volunteer's effective records in a period, oldest first, with their unit's name.
    async fn certified_records(
        &self,
        volunteer: VolunteerId,
        from: Option<Date>,
        until: Option<Date>,
        limit: u32,
    ) -> Result<Vec<CertifiedRecord>>;
}

/// Mutual recognition: the trust registry, challenges and recognitions.
#[async_trait]
pub trait RecognitionStore {
    /// Conflict on `did` when a partner has it already.
    async fn insert_partner(&self, p: &NewPartner, audit: &AuditEntry) -> Result<Partner>;
    /// Writes `p.partner` if the row is still at `p.version`.
    async fn update_partner(&self, p: &Partner, audit: &AuditEntry) -> Result<Partner>;
    async fn get_partner(&self, id: i64) -> Result<Option<Partner>>;
    async fn partner_by_did(&self, did: &str) -> Result<Option<Partner>>;
    async fn list_partners(&self) -> Result<Vec<Partner>>;
    /// Stores a one-time challenge issued to a volunteer.
    async fn insert_recognition_challenge(
        &self,
        challenge: &str,
        volunteer: VolunteerId,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    /// In one transaction: consumes the challenge (Conflict on `challenge` when it is
    /// unknown, spent, expired or another volunteer's); refuses when the partner account
    /// is linked to another volunteer (Conflict on `partner_subject`) or the volunteer to
    /// another account of the partner (Conflict on `partner`); records the recognition,
    /// replacing the volunteer's earlier one from the partner.
    /// `challenge` is the one this platform issued to the volunteer, which the bundle
    /// answers.
    async fn import_recognition(
        &self,
        r: &NewRecognition,
        challenge: &str,
        audit: &AuditEntry,
    ) -> Result<Recognition>;
    async fn list_recognitions(&self, volunteer: VolunteerId) -> Result<Vec<Recognition>>;
    /// The volunteer withdraws a recognition (and the link it made). NotFound when it is
    /// not theirs.
    async fn delete_recognition(
        &self,
        volunteer: VolunteerId,
        id: i64,
        audit: &AuditEntry,
    ) -> Result<()>;
    /// Recognised minutes, with the shares the partners' policies count.
    async fn recognised_minutes(&self, volunteer: VolunteerId) -> Result<RecognisedMinutes>;
}

/// Service menus and orders.
#[async_trait]
pub trait OrderStore {
    /// Writes a site's menu item: creates it, or replaces the site's item of that code.
    async fn put_menu_item(&self, item: &MenuItem, audit: &AuditEntry) -> Result<MenuItemRecord>;
    /// The menu items of the sites placed in exactly these regions (in no particular
    /// order): read alongside `sites_in` for the same regions, not after it.
    async fn menu_items_in(&self, regions: &[RegionCode]) -> Result<Vec<MenuItemRecord>>;
    /// Offered items anywhere, by code, at most `limit` (a catalogue of all services).
    async fn offered_menu_items(&self, limit: u32) -> Result<Vec<MenuItemRecord>>;
    /// The sites placed in exactly these regions.
    async fn sites_in(&self, regions: &[RegionCode]) -> Result<Vec<SiteRecord>>;
    /// The sites with a location within the box of `radius_m` around `point` (the caller
    /// measures the exact distance).
    async fn sites_near(
        &self,
        point: zhiyuan_domain::site::GeoPoint,
        radius_m: f64,
    ) -> Result<Vec<SiteRecord>>;
    /// Conflict on `tracking` if taken.
    async fn insert_order(&self, o: &NewOrder, audit: &AuditEntry) -> Result<OrderRecord>;
    async fn get_order(&self, id: i64) -> Result<Option<OrderRecord>>;
    async fn order_by_tracking(&self, tracking: &str) -> Result<Option<OrderRecord>>;
    /// Writes the order's state and outcome if the row is still at `o.version` (Conflict
    /// on `version` otherwise: someone moved it first, e.g. grabbed it).
    async fn update_order(&self, o: &OrderRecord, audit: &AuditEntry) -> Result<OrderRecord>;
    /// Newest first.
    async fn list_orders(&self, q: &OrderQuery, page: &PageRequest) -> Result<Page<OrderRecord>>;
    /// Waiting orders whose `due_at` has passed, oldest first.
    async fn due_orders(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<OrderRecord>>;
    /// Per receiving site, for the orders whose place is in `within`.
    async fn order_stats(&self, within: RegionCode) -> Result<Vec<SiteOrderStats>>;
    /// Links an order to the project that carries it out; Conflict on `activity` when the
    /// order already has one.
    async fn link_activity(&self, order: i64, project: ProjectId, audit: &AuditEntry)
    -> Result<()>;
    async fn order_activity(&self, order: i64) -> Result<Option<ProjectId>>;
    /// Load and ratings of the given holders (`Holder::kind` of a team or a volunteer);
    /// holders with no orders are absent.
    async fn holder_facts(
        &self,
        kind: &'static str,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, HolderFacts>>;
}

/// The talent pool: professional qualifications and their verification.
#[async_trait]
pub trait TalentStore {
    async fn insert_qualification(
        &self,
        q: &NewQualification,
        audit: &AuditEntry,
    ) -> Result<QualificationRecord>;
    async fn get_qualification(&self, id: i64) -> Result<Option<QualificationRecord>>;
    /// Writes status, decision and reason if the row is still at `q.version`.
    async fn update_qualification(
        &self,
        q: &QualificationRecord,
        audit: &AuditEntry,
    ) -> Result<QualificationRecord>;
    async fn list_qualifications(&self, volunteer: VolunteerId)
    -> Result<Vec<QualificationRecord>>;
    /// Verified, unexpired qualifications of a kind held by volunteers of a region
    /// subtree, by qualification id.
    async fn talent_pool(
        &self,
        q: &PoolQuery,
        page: &PageRequest,
    ) -> Result<Page<QualificationRecord>>;
    /// Creates a call and, in the same transaction, selects up to `limit` adults (born on
    /// or before `adult_born_by`) living in its region who hold a verified qualification
    /// of one of its kinds valid on `valid_on`, each once, as notified members.
    async fn insert_call(
        &self,
        c: &NewCall,
        limit: i64,
        valid_on: Date,
        adult_born_by: Date,
        audit: &AuditEntry,
    ) -> Result<CallRecord>;
    async fn get_call(&self, id: i64) -> Result<Option<CallRecord>>;
    async fn call_member(&self, call: i64, volunteer: VolunteerId) -> Result<Option<CallMember>>;
    /// Writes a member's new status if it is still `from` (Conflict on `status`
    /// otherwise).
    async fn update_call_member(
        &self,
        m: &CallMember,
        from: zhiyuan_domain::talent::MemberStatus,
        audit: &AuditEntry,
    ) -> Result<CallMember>;
    async fn roll_call(&self, call: i64) -> Result<RollCall>;
    /// A call's members (of a status, if given), by volunteer id.
    async fn call_members(
        &self,
        call: i64,
        status: Option<zhiyuan_domain::talent::MemberStatus>,
        page: &PageRequest,
    ) -> Result<Page<CallMember>>;
    /// The calls a volunteer is a member of, newest first.
    async fn calls_of(&self, volunteer: VolunteerId) -> Result<Vec<(CallRecord, CallMember)>>;
}

#[async_trait]
pub trait AuditStore {
    async fn list_audit(&self, q: &AuditQuery, page: &PageRequest) -> Result<Page<AuditRecord>>;
}

/// Everything the application needs from storage.
/// The tamper-evident ledger. Entries are written by the other stores, in the same
/// transaction as the change they certify (see [`crate::ledger`]); this is the sequencer,
/// the tiles and checkpoints it keeps, and the reads the audit needs.
#[async_trait]
pub trait LedgerStore {
    /// Integrates up to `limit` entries not yet in the tree, in the order they were
    /// written: gives them the next leaf indexes and writes the tiles that changed and the
    /// new tree, in one transaction. Only one integration runs at a time across app
    /// servers; a caller that finds another one running gets the tree as it was.
    async fn integrate_ledger(&self, limit: usize) -> Result<crate::ledger::Integration>;
    /// The tree as last integrated.
    async fn ledger_tree(&self) -> Result<crate::ledger::LedgerTree>;
    /// The stored tiles among `ids` (at their stored width; absent ones are left out).
    async fn ledger_tiles(
        &self,
        ids: &[zhiyuan_ledger::TileId],
    ) -> Result<std::collections::HashMap<zhiyuan_ledger::TileId, Vec<zhiyuan_ledger::Hash>>>;
    /// The integrated entries at leaf indexes `from .. from + count`, in leaf order.
    async fn ledger_entries_by_seq(
        &self,
        from: u64,
        count: u64,
    ) -> Result<Vec<crate::ledger::LedgerEntry>>;
    /// Stores a signed checkpoint (one per tree size; a second for the same size is
    /// ignored).
    async fn insert_checkpoint(&self, c: &crate::ledger::StoredCheckpoint) -> Result<()>;
    /// The checkpoint of the largest tree signed.
    async fn latest_checkpoint(&self) -> Result<Option<crate::ledger::StoredCheckpoint>>;
    /// The entry written for a subject.
    async fn ledger_entry(
        &self,
        kind: crate::ledger::LedgerKind,
        subject: i64,
    ) -> Result<Option<crate::ledger::LedgerEntry>>;
    /// For the audit: the subjects of `kind` after subject id `after` (see
    /// [`crate::ledger::SubjectPage`]), about `limit` rows per page.
    async fn ledger_subjects(
        &self,
        kind: crate::ledger::LedgerKind,
        after: i64,
        limit: u32,
    ) -> Result<crate::ledger::SubjectPage>;
    /// The subjects with an entry of `kind` and an id in `lo .. hi` (e.g. the revoked
    /// certificates a status list covers).
    async fn ledger_subjects_between(
        &self,
        kind: crate::ledger::LedgerKind,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<i64>>;
    /// Entries not yet integrated.
    async fn ledger_pending(&self) -> Result<u64>;
    /// Whether the sequencer has work: an entry not yet integrated, or a tree larger than
    /// its latest checkpoint (integrated, not yet signed). One read that takes no lock, for
    /// an idle sequencer to ask before it opens a transaction.
    async fn ledger_has_work(&self) -> Result<bool>;
}

/// Inbox, subscriptions and the outbox (see `notify`).
#[async_trait]
pub trait NotifyStore {
    async fn insert_subscription(
        &self,
        s: &NewSubscription,
        audit: &AuditEntry,
    ) -> Result<Subscription>;
    async fn get_subscription(&self, id: i64) -> Result<Option<Subscription>>;
    /// Active and inactive, of the subtree (all with `None`), by id.
    async fn list_subscriptions(&self, within: Option<RegionCode>) -> Result<Vec<Subscription>>;
    async fn deactivate_subscription(&self, id: i64, audit: &AuditEntry) -> Result<()>;
    /// The oldest queued events, as their audit entries.
    async fn pending_events(&self, limit: u32) -> Result<Vec<AuditRecord>>;
    /// In one transaction: unqueues the events and writes what they gave (a pair already
    /// written is left as it is, so two relays never duplicate anything).
    async fn settle_events(
        &self,
        audit_ids: &[i64],
        deliveries: &[NewDelivery],
        notes: &[NewNotification],
    ) -> Result<()>;
    /// Claims up to `limit` deliveries due at `now` until `lease_until` (another claim
    /// sees them only after that), counting the attempt.
    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
    async fn finish_delivery(
        &self,
        id: i64,
        outcome: &DeliveryOutcome,
        now: OffsetDateTime,
    ) -> Result<()>;
    /// A subscription's deliveries, newest first.
    async fn deliveries(&self, subscription: i64, limit: u32) -> Result<Vec<DeliveryRecord>>;
    /// An account's inbox, newest first.
    async fn notifications(
        &self,
        account: AccountId,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>>;
    /// `false` when the account has no such notification.
    async fn mark_read(&self, account: AccountId, id: i64, at: OffsetDateTime) -> Result<bool>;
    /// Marks read every unread notification of the account up to and including `up_to`
    /// (those that came later stay unread); returns how many.
    async fn mark_all_read(
        &self,
        account: AccountId,
        up_to: i64,
        at: OffsetDateTime,
    ) -> Result<u64>;
    /// How many of the account's notifications are unread, counting at most `cap`.
    async fn unread_count(&self, account: AccountId, cap: i64) -> Result<i64>;
    /// The accounts that act for an order's holder (`Holder::kind`): a volunteer's own,
    /// a team's administrators', a site's staff.
    async fn holder_accounts(&self, kind: &str, id: i64) -> Result<Vec<AccountId>>;
    /// The accounts of the administrators of exactly this jurisdiction.
    async fn admin_accounts(&self, region: RegionCode) -> Result<Vec<AccountId>>;
    /// The accounts of the volunteers a mobilisation call called.
    async fn call_accounts(&self, call: i64) -> Result<Vec<AccountId>>;
    /// A volunteer's account, if they have one.
    async fn volunteer_account(&self, volunteer: VolunteerId) -> Result<Option<AccountId>>;
    /// The accounts of the volunteers holding a live sign-up (pending, accepted or
    /// waitlisted) for a shift.
    async fn signup_accounts(&self, shift: ShiftId) -> Result<Vec<AccountId>>;
}

/// Requests sent with an `Idempotency-Key`, kept for a day. `key` names the key and whose
/// it is (a digest over the caller's credentials and the client's key), so that two
/// callers' keys never meet; `fingerprint` is a digest of the request (method, path,
/// body).
#[async_trait]
pub trait IdempotencyStore {
    /// Records the request as started, unless its key is known: then says how it stands.
    /// An attempt started before `stale_before` and never finished (its server stopped)
    /// is taken over: `Started`.
    async fn begin_keyed(
        &self,
        key: &str,
        fingerprint: &[u8],
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<KeyedRequest>;
    /// Keeps the answer of a started request; `None` forgets the request, so that a retry
    /// runs it again (it was refused, and wrote nothing).
    async fn finish_keyed(&self, key: &str, answer: Option<&KeptResponse>) -> Result<()>;
    /// Forgets requests started before `before`; returns how many.
    async fn purge_keyed(&self, before: OffsetDateTime) -> Result<u64>;
}

#[async_trait]
pub trait Store:
    RegionStore
    + SiteStore
    + OrgStore
    + VolunteerStore
    + AccountStore
    + AnnouncementStore
    + AuditStore
    + ProjectStore
    + SignupStore
    + AttendanceStore
    + RecordStore
    + CorrectionStore
    + StarStore
    + CertificateStore
    + LedgerStore
    + RecognitionStore
    + OrderStore
    + TalentStore
    + NotifyStore
    + IdempotencyStore
    + Send
    + Sync
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Cheap round trip, for `/readyz`.
    async fn ping(&self) -> Result<()>;
}
