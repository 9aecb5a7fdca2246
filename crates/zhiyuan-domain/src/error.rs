//! Validation errors that name the offending field, so every layer above can report them
//! precisely (`{"field": "id_document.number", "code": "check_digit", "reason": "..."}`).
//! The commonest reasons are a [`Reason`]: a stable code a client can act on, said in any
//! of the platform's languages; the rest are a sentence in English under code `invalid`.

use std::fmt;

use time::Date;

use crate::document::DocumentKind;
use crate::hours::hours;
use crate::lang::Lang;
use crate::region::RegionCode;
use crate::site::SiteKind;

/// One field that failed validation, with a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Dotted path of the field in the request body, e.g. `id_document.number`.
    pub field: String,
    /// Why, as a stable code: one of [`Reason`]'s (`too_long`, `check_digit`, …), or
    /// `invalid` when no more precise one applies.
    #[serde(rename = "code", serialize_with = "serialize_code")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub why: Option<Reason>,
    /// Why the value was refused, in English.
    pub reason: String,
}

fn serialize_code<S: serde::Serializer>(why: &Option<Reason>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code_of(why.as_ref()))
}

fn code_of(why: Option<&Reason>) -> &'static str {
    why.map_or("invalid", Reason::code)
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            why: None,
            reason: reason.into(),
        }
    }

    /// An error whose reason can be said in every language (see [`FieldError::say`]).
    pub fn because(field: impl Into<String>, why: Reason) -> Self {
        Self {
            field: field.into(),
            reason: why.say(Lang::En),
            why: Some(why),
        }
    }

    /// The stable code of why: its [`Reason`]'s, else `invalid`.
    pub fn code(&self) -> &'static str {
        code_of(self.why.as_ref())
    }

    /// The reason in `lang`: English where it has no [`Reason`].
    pub fn say(&self, lang: Lang) -> String {
        self.why
            .as_ref()
            .map_or_else(|| self.reason.clone(), |why| why.say(lang))
    }

    /// The same error, said of `field` instead (a value parsed alone, then named).
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    /// The same error, moved under a parent field (`number` -> `id_document.number`).
    pub fn under(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// Why a value was refused, for the refusals people meet most (a form, a row of an
/// upload): each has a stable [`code`](Reason::code) and is [said](Reason::say) in
/// Simplified Chinese, Hong Kong's Traditional Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Empty where a value is needed.
    Required,
    /// Longer than this many characters.
    TooLong { max: usize },
    /// Holds a tab or another control character (line breaks are allowed).
    ControlCharacters,
    /// Not 13 digits (a volunteer number).
    VolunteerNumberDigits,
    /// The check digit does not match the rest.
    CheckDigit,
    /// Not a date in any way a table writes one.
    NotADate,
    /// A day after today.
    InTheFuture,
    /// Not a whole number of minutes.
    NotMinutes,
    /// Not a number of hours.
    NotHours,
    /// No time at all, or less than none.
    NotPositive,
    /// More time than one day may credit.
    OverDailyCap { cap_minutes: i64 },
    /// No volunteer has this number.
    NoSuchVolunteer,
    /// With what the volunteer's day already holds, more than it may credit.
    DayOverCap { day: Date, cap_minutes: i64 },
    /// Not an attendance code at all.
    CodeMalformed,
    /// An attendance code whose minute or two has passed.
    CodeExpired,
    /// An attendance code this platform did not sign.
    CodeForged,
    /// A site's attendance code for another shift.
    CodeOfAnotherShift,
    /// The project checks where a volunteer checks in, and no location was shared.
    LocationNeeded,
    /// Checked in this far from the project, beyond its geofence.
    OutsideGeofence { distance_m: i64, radius_m: i64 },
    /// Checked in without an accepted sign-up for the shift.
    NoSignup,
    /// Checked in before check-in opens (this many minutes before the shift starts),
    /// after the shift ended, or to a cancelled shift.
    CheckInClosed { opens_before_minutes: i64 },
    /// Checked out without having checked in.
    NotCheckedIn,
    /// The project is not published (a draft, closed or cancelled).
    ProjectNotOpen,
    /// The shift is cancelled.
    ShiftCancelled,
    /// The shift has started (or is over).
    ShiftStarted,
    /// Signed up for this shift before.
    AlreadySignedUp,
    /// Younger than the project's minimum age on the day.
    TooYoung { min: i32 },
    /// Older than the project's maximum age on the day.
    TooOld { max: i32 },
    /// Under 18, and the project takes no minors.
    MinorsNotAllowed,
    /// An age limit under 18 on a project that takes no minors.
    AgeNeedsMinors,
    /// Without skills the project requires.
    MissingSkills(Vec<String>),
    /// Past the time a sign-up may still be cancelled.
    TooLateToCancel,
    /// Not a mainland mobile number nor an international one.
    NotAPhone,
    /// A password shorter or longer than allowed.
    PasswordLength { min: usize, max: usize },
    /// A birth date other than the one the identity document holds.
    BirthDateNotDocuments,
    /// A gender other than the one the identity document holds.
    GenderNotDocuments,
    /// A birth date after today, or more than 120 years ago.
    ImplausibleBirthDate,
    /// Under 18, registering without a guardian.
    GuardianNeeded,
    /// An identity document number not in its kind's form.
    DocumentShape(DocumentKind),
    /// A resident identity number whose first two digits are no mainland province.
    NotAProvince,
    /// A residence permit number not beginning with Hong Kong's, Macao's or Taiwan's
    /// region code.
    ResidencePermitRegion,
    /// An identity number holding a birth date that does not exist.
    ImpossibleBirthDate,
    /// A passport without its issuing country as an ISO 3166-1 alpha-3 code.
    PassportCountry,
    /// A passport of the People's Republic: the mainland registers with its identity card.
    MainlandPassport,
    /// Not a region code of GB/T 2260's form.
    NotARegionCode,
    /// A region code of the right form that this platform does not know.
    UnknownRegion(RegionCode),
    /// A field the request does not have.
    UnknownField,
    /// Names something that does not exist (a site, a tier).
    NotFound,
    /// Outside the allowed range, both ends included.
    OutOfRange { min: i64, max: i64 },
    /// Below the allowed minimum.
    AtLeast { min: i64 },
    /// An end before its start.
    BeforeStart,
    /// A lower bound above its upper bound.
    AboveMaximum,
    /// Someone else changed it since it was read.
    ChangedMeanwhile,
    /// A request that was already decided.
    AlreadyDecided,
    /// A geofence on a project without a location.
    GeofenceNeedsLocation,
    /// The project is closed or cancelled, and changes no more.
    ProjectEnded,
    /// The project must be reviewed before it is published.
    ReviewNeeded,
    /// A risky project without accident insurance cannot open sign-up (Art. 17).
    InsuranceNeeded,
    /// The insurance does not cover the whole project period.
    InsuranceShort,
    /// A shift outside its project's period.
    OutsideProjectPeriod,
    /// A shift longer than this many hours.
    ShiftTooLong { max_hours: i64 },
    /// Fewer places than are already taken.
    PlacesTaken { taken: i64 },
    /// The shift has not started yet.
    ShiftNotStarted,
    /// The volunteer's attendance of the shift was already taken.
    AttendanceTaken,
    /// More time than the shift lasted (this many minutes).
    LongerThanShift { minutes: i64 },
    /// The volunteer already reported time for this shift.
    AlreadyReported,
    /// The same entry was recorded before.
    AlreadyRecorded,
    /// A record with a newer version: the newer one is the one to correct.
    NewerVersionExists,
    /// A correction of the record is already waiting.
    CorrectionWaiting,
    /// A revoked star certification bars applying until this day.
    StarBarred { until: Date },
    /// The volunteer already holds this many stars.
    StarHeld { current: u8 },
    /// The volunteer's hours and tenure qualify for this many stars only.
    StarNotEligible { eligible: u8 },
    /// An application of the volunteer's is already open.
    ApplicationOpen,
    /// Objections are taken during the public notice only.
    NotInNotice,
    /// Certified only after the public notice has ended.
    NoticeRunning,
    /// No effective records in the period to certify.
    NothingToCertify,
    /// Too many records to list one by one on a certificate.
    TooManyToList { records: i64, max: i64 },
    /// Already revoked.
    AlreadyRevoked,
    /// Already cancelled.
    AlreadyCancelled,
    /// An uploaded file that is neither UTF-8, GB18030 nor Big5 text.
    NotText,
    /// An uploaded file that stops being CSV at this line.
    NotCsv { line: usize },
    /// An uploaded file that is no XLSX workbook.
    NotAWorkbook,
    /// An uploaded table without a header row.
    NoHeader,
    /// An uploaded table whose header lacks these columns, each headed in the three
    /// languages (Simplified Chinese, Hong Kong's Traditional Chinese, English).
    MissingColumns(Vec<[&'static str; 3]>),
    /// More rows than one upload may hold.
    TooManyRows { max: usize },
    /// More entries than a list may hold.
    TooMany { max: usize },
    /// Not a service category of the platform's.
    UnknownCategory,
    /// Not a unified social credit code's 18 characters.
    CreditCodeShape,
    /// A credit code for a grassroots team, which is not registered.
    NotForGrassroots,
    /// A site or parent team whose region does not contain the team's.
    DoesNotCover,
    /// A partner platform's challenge this platform did not give, or gave and saw
    /// answered already, or that expired.
    ChallengeStale,
    /// The partner platform's account (named) is linked to another volunteer here.
    AccountLinkedElsewhere { partner: String },
    /// The volunteer is linked to another account at the partner platform (named).
    AlreadyLinked { partner: String },
    /// A site that is no practice station, institute or center (those keep menus and
    /// receive orders).
    NotAPracticeSite,
    /// A menu item's code: 1 to 40 letters, digits, `-` or `_`.
    CodeShape,
    /// Outside the area a site may send an order to.
    OutsideArea,
    /// An order not offered for taking.
    NotOffered,
    /// A sign-up that holds no place (pending, waitlisted, rejected).
    HoldsNoPlace,
    /// A sign-up not marked absent.
    NotAbsent,
    /// Every place of the shift is taken.
    ShiftFull,
    /// Not one of the values the field takes (listed as the request writes them).
    NotOneOf(Vec<String>),
    /// A JSON value of another type than the field's.
    WrongType(JsonType),
    /// Exactly one of these fields is wanted: none or several were sent.
    ExactlyOneOf(Vec<String>),
    /// Not a time as RFC 3339 writes one.
    NotATime,
    /// Not a real date written `YYYY-MM-DD`.
    NotIsoDate,
    /// A status that does not lead to the one asked for (both as the API writes them).
    CannotBecome {
        from: &'static str,
        to: &'static str,
    },
    /// An action an order does not take in its status (both as the API writes them).
    NotNow {
        action: &'static str,
        status: &'static str,
    },
    /// An order assigned to whoever holds it already.
    AlreadyThere,
    /// An order taken by someone other than a team or a volunteer.
    NotATaker,
    /// An order sent back with no site that dispatched it.
    NoDispatcher,
    /// The same value given twice in one list.
    Repeated,
    /// Not the account's password.
    WrongPassword,
    /// A new password the same as the current one.
    SamePassword,
    /// Not the privacy policy's current version, which is to be accepted.
    ConsentOutdated { current: String },
    /// Not an http(s) URL with a host.
    NotAUrl,
    /// Not an e-mail address.
    NotAnEmail,
    /// A certificate or licence whose validity has ended.
    Expired,
    /// Not a staff login: 3 to 40 lowercase letters, digits, `.`, `-` or `_`, from a letter.
    LoginShape,
    /// Not a record bundle of the form partner platforms exchange (or missing a part).
    NotABundle,
    /// Signed by no platform this one trusts.
    UntrustedPartner,
    /// From a partner whose recognition is suspended.
    PartnerSuspended { partner: String },
    /// A signature that does not verify: altered, or not the signer's.
    SignatureInvalid,
    /// Made for another platform than this one.
    MadeForAnother,
    /// Without the partner's revocation status, or with one not at the partner.
    NoRevocationStatus,
    /// Revoked by the partner that issued it.
    RevokedByPartner,
    /// Without proof that it is in the partner's ledger.
    NotInLedger,
    /// About someone other than the bundle's holder.
    AboutSomeoneElse,
    /// A registered name, which the jurisdiction corrects (with a reason), not the volunteer.
    NameByJurisdiction,
    /// An identity document someone registered with already.
    AlreadyRegistered,
    /// A need without its place: neither a region nor coordinates.
    PlaceNeeded,
    /// No practice station, institute or center covers the place.
    NoSiteHere,
    /// No practice site within this many metres of the place.
    NoSiteNear { within_m: i64 },
    /// A service not on the menu of the site (named) that serves the place.
    NotOnMenu { site: String },
    /// A time already past.
    InThePast,
    /// Only a completed order is rated.
    NotCompleted,
    /// The order is rated already.
    AlreadyRated,
    /// Not a point written `lat,lng` in degrees.
    NotAPoint,
    /// A number that must be above zero and at most `max`.
    AboveZeroAtMost { max: i64 },
    /// A cursor the listing did not return.
    NotACursor,
    /// Not a time of the week such as `sat-morning`.
    NotASlot,
    /// A star tier's hours not above the tier below's.
    MustRise,
    /// A star tier's tenure below the tier below's.
    MustNotFall,
    /// A site in a region of a level its kind does not sit at.
    SiteLevel(SiteKind),
    /// A province: reference data, not added.
    ProvinceFixed,
    /// A role given to a member whose membership is not active.
    NotActiveMember,
    /// An application to a team the volunteer is a member of.
    AlreadyMember,
    /// Neither the need nor its site has coordinates to measure distance from.
    NoCoordinates,
    /// Attendees given with an order whose activity records hours through attendance.
    HoursByAttendance,
    /// Attendees given with an order a volunteer holds: a team records hours.
    HoursByTeam,
    /// An order someone else took first.
    TakenFirst,
    /// A change to one's own staff account that another administrator makes.
    OwnAccount,
    /// A badge asked for a star not certified.
    NotCertified,
    /// An activity for an order not accepted by a team.
    OnlyAcceptingTeam,
    /// An activity for an order that has one.
    HasActivity,
    /// An order escalated from the top of the practice network.
    NoSiteAbove,
    /// Not a DID (`did:web:volunteer.example.hk`, no fragment).
    NotADid,
    /// Not a public key in the form asked for (named in the sentence).
    NotAKey { form: &'static str },
    /// Not HK, MO, TW or a Mainland province's two-digit code.
    NotAJurisdiction,
    /// A text of fewer than `min` or more than `max` characters.
    Length { min: usize, max: usize },
    /// A value that must be unique, registered already (a region's code, a login).
    Exists,
    /// An `Idempotency-Key` whose first request is still running.
    KeyInProgress,
    /// An `Idempotency-Key` used before for a different request.
    KeyReused,
    /// An `Idempotency-Key` that is not 1 to 255 printable ASCII characters.
    NotAnIdempotencyKey,
}

/// The type of JSON value a field takes, for [`Reason::WrongType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    WholeNumber,
    Number,
    Text,
    TrueOrFalse,
    List,
    Object,
}

impl JsonType {
    /// What a value of the type is called, in each language of [`Lang::ALL`].
    pub fn names(self) -> [&'static str; 3] {
        match self {
            Self::WholeNumber => ["整数", "整數", "a whole number"],
            Self::Number => ["数字", "數字", "a number"],
            Self::Text => [
                "文本（加引号的字符串）",
                "文字（加引號的字串）",
                "text (a quoted string)",
            ],
            Self::TrueOrFalse => ["true 或 false", "true 或 false", "true or false"],
            Self::List => ["列表（数组）", "列表（陣列）", "a list (an array)"],
            Self::Object => ["对象（花括号）", "物件（大括號）", "an object (in braces)"],
        }
    }
}

impl Reason {
    /// A value not among `allowed`.
    pub fn one_of(allowed: &[&str]) -> Self {
        Self::NotOneOf(allowed.iter().map(|&a| a.to_owned()).collect())
    }

    /// None or several of `fields`, where exactly one is wanted.
    pub fn exactly_one_of(fields: &[&str]) -> Self {
        Self::ExactlyOneOf(fields.iter().map(|&f| f.to_owned()).collect())
    }

    /// The stable code, for clients to act on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::TooLong { .. } => "too_long",
            Self::ControlCharacters => "control_characters",
            Self::VolunteerNumberDigits => "volunteer_number_digits",
            Self::CheckDigit => "check_digit",
            Self::NotADate => "not_a_date",
            Self::InTheFuture => "in_the_future",
            Self::NotMinutes => "not_minutes",
            Self::NotHours => "not_hours",
            Self::NotPositive => "not_positive",
            Self::OverDailyCap { .. } => "over_daily_cap",
            Self::NoSuchVolunteer => "no_such_volunteer",
            Self::DayOverCap { .. } => "day_over_cap",
            Self::CodeMalformed => "code_malformed",
            Self::CodeExpired => "code_expired",
            Self::CodeForged => "code_forged",
            Self::CodeOfAnotherShift => "code_of_another_shift",
            Self::LocationNeeded => "location_needed",
            Self::OutsideGeofence { .. } => "outside_geofence",
            Self::NoSignup => "no_signup",
            Self::CheckInClosed { .. } => "check_in_closed",
            Self::NotCheckedIn => "not_checked_in",
            Self::ProjectNotOpen => "project_not_open",
            Self::ShiftCancelled => "shift_cancelled",
            Self::ShiftStarted => "shift_started",
            Self::AlreadySignedUp => "already_signed_up",
            Self::TooYoung { .. } => "too_young",
            Self::TooOld { .. } => "too_old",
            Self::MinorsNotAllowed => "minors_not_allowed",
            Self::AgeNeedsMinors => "age_needs_minors",
            Self::MissingSkills(_) => "missing_skills",
            Self::TooLateToCancel => "too_late_to_cancel",
            Self::NotAPhone => "not_a_phone",
            Self::PasswordLength { .. } => "password_length",
            Self::BirthDateNotDocuments => "birth_date_not_documents",
            Self::GenderNotDocuments => "gender_not_documents",
            Self::ImplausibleBirthDate => "implausible_birth_date",
            Self::GuardianNeeded => "guardian_needed",
            Self::DocumentShape(_) => "document_shape",
            Self::NotAProvince => "not_a_province",
            Self::ResidencePermitRegion => "residence_permit_region",
            Self::ImpossibleBirthDate => "impossible_birth_date",
            Self::PassportCountry => "passport_country",
            Self::MainlandPassport => "mainland_passport",
            Self::NotARegionCode => "not_a_region_code",
            Self::UnknownRegion(_) => "unknown_region",
            Self::UnknownField => "unknown_field",
            Self::NotFound => "not_found",
            Self::OutOfRange { .. } => "out_of_range",
            Self::AtLeast { .. } => "at_least",
            Self::BeforeStart => "before_start",
            Self::AboveMaximum => "above_maximum",
            Self::ChangedMeanwhile => "changed_meanwhile",
            Self::AlreadyDecided => "already_decided",
            Self::GeofenceNeedsLocation => "geofence_needs_location",
            Self::ProjectEnded => "project_ended",
            Self::ReviewNeeded => "review_needed",
            Self::InsuranceNeeded => "insurance_needed",
            Self::InsuranceShort => "insurance_short",
            Self::OutsideProjectPeriod => "outside_project_period",
            Self::ShiftTooLong { .. } => "shift_too_long",
            Self::PlacesTaken { .. } => "places_taken",
            Self::ShiftNotStarted => "shift_not_started",
            Self::AttendanceTaken => "attendance_taken",
            Self::LongerThanShift { .. } => "longer_than_shift",
            Self::AlreadyReported => "already_reported",
            Self::AlreadyRecorded => "already_recorded",
            Self::NewerVersionExists => "newer_version_exists",
            Self::CorrectionWaiting => "correction_waiting",
            Self::StarBarred { .. } => "star_barred",
            Self::StarHeld { .. } => "star_held",
            Self::StarNotEligible { .. } => "star_not_eligible",
            Self::ApplicationOpen => "application_open",
            Self::NotInNotice => "not_in_notice",
            Self::NoticeRunning => "notice_running",
            Self::NothingToCertify => "nothing_to_certify",
            Self::TooManyToList { .. } => "too_many_to_list",
            Self::AlreadyRevoked => "already_revoked",
            Self::AlreadyCancelled => "already_cancelled",
            Self::NotText => "not_text",
            Self::NotCsv { .. } => "not_csv",
            Self::NotAWorkbook => "not_a_workbook",
            Self::NoHeader => "no_header",
            Self::MissingColumns(_) => "missing_columns",
            Self::TooManyRows { .. } => "too_many_rows",
            Self::TooMany { .. } => "too_many",
            Self::UnknownCategory => "unknown_category",
            Self::CreditCodeShape => "credit_code_shape",
            Self::NotForGrassroots => "not_for_grassroots",
            Self::DoesNotCover => "does_not_cover",
            Self::ChallengeStale => "challenge_stale",
            Self::AccountLinkedElsewhere { .. } => "account_linked_elsewhere",
            Self::AlreadyLinked { .. } => "already_linked",
            Self::NotAPracticeSite => "not_a_practice_site",
            Self::CodeShape => "code_shape",
            Self::OutsideArea => "outside_area",
            Self::NotOffered => "not_offered",
            Self::HoldsNoPlace => "holds_no_place",
            Self::NotAbsent => "not_absent",
            Self::ShiftFull => "shift_full",
            Self::NotOneOf(_) => "not_one_of",
            Self::WrongType(_) => "wrong_type",
            Self::ExactlyOneOf(_) => "exactly_one_of",
            Self::NotATime => "not_a_time",
            Self::NotIsoDate => "not_iso_date",
            Self::CannotBecome { .. } => "cannot_become",
            Self::NotNow { .. } => "not_now",
            Self::AlreadyThere => "already_there",
            Self::NotATaker => "not_a_taker",
            Self::NoDispatcher => "no_dispatcher",
            Self::Repeated => "repeated",
            Self::WrongPassword => "wrong_password",
            Self::SamePassword => "same_password",
            Self::ConsentOutdated { .. } => "consent_outdated",
            Self::NotAUrl => "not_a_url",
            Self::NotAnEmail => "not_an_email",
            Self::Expired => "expired",
            Self::LoginShape => "login_shape",
            Self::NotABundle => "not_a_bundle",
            Self::UntrustedPartner => "untrusted_partner",
            Self::PartnerSuspended { .. } => "partner_suspended",
            Self::SignatureInvalid => "signature_invalid",
            Self::MadeForAnother => "made_for_another",
            Self::NoRevocationStatus => "no_revocation_status",
            Self::RevokedByPartner => "revoked_by_partner",
            Self::NotInLedger => "not_in_ledger",
            Self::AboutSomeoneElse => "about_someone_else",
            Self::NameByJurisdiction => "name_by_jurisdiction",
            Self::AlreadyRegistered => "already_registered",
            Self::PlaceNeeded => "place_needed",
            Self::NoSiteHere => "no_site_here",
            Self::NoSiteNear { .. } => "no_site_near",
            Self::NotOnMenu { .. } => "not_on_menu",
            Self::InThePast => "in_the_past",
            Self::NotCompleted => "not_completed",
            Self::AlreadyRated => "already_rated",
            Self::NotAPoint => "not_a_point",
            Self::AboveZeroAtMost { .. } => "above_zero_at_most",
            Self::NotACursor => "not_a_cursor",
            Self::NotASlot => "not_a_slot",
            Self::MustRise => "must_rise",
            Self::MustNotFall => "must_not_fall",
            Self::SiteLevel(_) => "site_level",
            Self::ProvinceFixed => "province_fixed",
            Self::NotActiveMember => "not_active_member",
            Self::AlreadyMember => "already_member",
            Self::NoCoordinates => "no_coordinates",
            Self::HoursByAttendance => "hours_by_attendance",
            Self::HoursByTeam => "hours_by_team",
            Self::TakenFirst => "taken_first",
            Self::OwnAccount => "own_account",
            Self::NotCertified => "not_certified",
            Self::OnlyAcceptingTeam => "only_accepting_team",
            Self::HasActivity => "has_activity",
            Self::NoSiteAbove => "no_site_above",
            Self::NotADid => "not_a_did",
            Self::NotAKey { .. } => "not_a_key",
            Self::NotAJurisdiction => "not_a_jurisdiction",
            Self::Length { .. } => "length",
            Self::Exists => "exists",
            Self::KeyInProgress => "key_in_progress",
            Self::KeyReused => "key_reused",
            Self::NotAnIdempotencyKey => "not_an_idempotency_key",
        }
    }

    /// The reason as a sentence in `lang`.
    pub fn say(&self, lang: Lang) -> String {
        let (zh_hans, zh_hk, en): (String, String, String) = match self {
            Self::Required => ("必填".into(), "必填".into(), "is required".into()),
            Self::TooLong { max } => (
                format!("不能超过{max}个字"),
                format!("不能超過{max}個字"),
                format!("must be at most {max} characters"),
            ),
            Self::ControlCharacters => (
                "不能含有制表符等控制字符".into(),
                "不能含有定位字元等控制字元".into(),
                "must not contain control characters such as tabs".into(),
            ),
            Self::VolunteerNumberDigits => (
                "志愿者编号为13位数字".into(),
                "志願者編號為13位數字".into(),
                "a volunteer number has 13 digits".into(),
            ),
            Self::CheckDigit => (
                "校验位不正确".into(),
                "校驗位不正確".into(),
                "check digit is wrong".into(),
            ),
            Self::NotADate => (
                "应为真实日期，写作 2026-11-05、2026/11/5 或 2026年11月5日".into(),
                "應為真實日期，寫作 2026-11-05、2026/11/5 或 2026年11月5日".into(),
                "must be a real date, written 2026-11-05, 2026/11/5 or 2026年11月5日".into(),
            ),
            Self::InTheFuture => (
                "不能晚于今天".into(),
                "不能遲於今天".into(),
                "is in the future".into(),
            ),
            Self::NotMinutes => (
                "应为整数分钟，如 90".into(),
                "應為整數分鐘，如 90".into(),
                "must be a whole number of minutes, e.g. 90".into(),
            ),
            Self::NotHours => (
                "应为小时数，如 2.5".into(),
                "應為小時數，如 2.5".into(),
                "must be a number of hours, e.g. 2.5".into(),
            ),
            Self::NotPositive => (
                "应大于零".into(),
                "應大於零".into(),
                "must be positive".into(),
            ),
            Self::OverDailyCap { cap_minutes } => {
                let cap = hours(*cap_minutes);
                (
                    format!("超过每日上限{cap}小时"),
                    format!("超過每日上限{cap}小時"),
                    format!("exceeds the cap of {cap} hours a day"),
                )
            }
            Self::NoSuchVolunteer => (
                "查无此志愿者".into(),
                "查無此志願者".into(),
                "no such volunteer".into(),
            ),
            Self::DayOverCap { day, cap_minutes } => {
                let cap = hours(*cap_minutes);
                (
                    format!("该志愿者{day}的时长将超过每日上限{cap}小时"),
                    format!("該志願者{day}的時數將超過每日上限{cap}小時"),
                    format!("the volunteer's {day} would exceed the cap of {cap} hours"),
                )
            }
            Self::CodeMalformed => (
                "不是签到码".into(),
                "不是簽到碼".into(),
                "is not an attendance code".into(),
            ),
            Self::CodeExpired => (
                "已过期，请扫描当前的签到码".into(),
                "已過期，請掃描當前的簽到碼".into(),
                "has expired; scan the current code".into(),
            ),
            Self::CodeForged => (
                "签到码无效".into(),
                "簽到碼無效".into(),
                "is not a valid code".into(),
            ),
            Self::CodeOfAnotherShift => (
                "是另一个班次的签到码".into(),
                "是另一個班次的簽到碼".into(),
                "is the code of another shift".into(),
            ),
            Self::LocationNeeded => (
                "签到需核对位置，请允许获取位置后再签到".into(),
                "簽到需核對位置，請允許取得位置後再簽到".into(),
                "checking in here checks your location; share it to check in".into(),
            ),
            Self::OutsideGeofence {
                distance_m,
                radius_m,
            } => (
                format!("您距签到地点{distance_m}米，请在{radius_m}米范围内签到"),
                format!("您距簽到地點{distance_m}米，請在{radius_m}米範圍內簽到"),
                format!(
                    "you are {distance_m} m from where to check in; check in within {radius_m} m"
                ),
            ),
            Self::NoSignup => (
                "您没有该班次已确认的报名".into(),
                "您沒有該班次已確認的報名".into(),
                "no accepted sign-up for this shift".into(),
            ),
            Self::CheckInClosed {
                opens_before_minutes,
            } => (
                format!("签到时间为班次开始前{opens_before_minutes}分钟至班次结束"),
                format!("簽到時間為班次開始前{opens_before_minutes}分鐘至班次結束"),
                format!(
                    "check-in is open from {opens_before_minutes} minutes before the shift \
                     until its end"
                ),
            ),
            Self::NotCheckedIn => (
                "请先签到再签退".into(),
                "請先簽到再簽退".into(),
                "check in before checking out".into(),
            ),
            Self::ProjectNotOpen => (
                "该项目未开放报名".into(),
                "該項目未開放報名".into(),
                "the project is not open for sign-up".into(),
            ),
            Self::ShiftCancelled => (
                "该班次已取消".into(),
                "該班次已取消".into(),
                "the shift is cancelled".into(),
            ),
            Self::ShiftStarted => (
                "该班次已开始".into(),
                "該班次已開始".into(),
                "the shift has already started".into(),
            ),
            Self::AlreadySignedUp => (
                "您已报名该班次".into(),
                "您已報名該班次".into(),
                "you are already signed up for this shift".into(),
            ),
            Self::TooYoung { min } => (
                format!("志愿者须年满{min}岁"),
                format!("志願者須年滿{min}歲"),
                format!("volunteers must be at least {min}"),
            ),
            Self::TooOld { max } => (
                format!("志愿者年龄须不超过{max}岁"),
                format!("志願者年齡須不超過{max}歲"),
                format!("volunteers must be at most {max}"),
            ),
            Self::MinorsNotAllowed => (
                "本项目不接受未满18岁的志愿者".into(),
                "本項目不接受未滿18歲的志願者".into(),
                "this project is not open to volunteers under 18".into(),
            ),
            Self::AgeNeedsMinors => (
                "年龄限制低于18岁时，须同时允许未成年人参加（minors_allowed）".into(),
                "年齡限制低於18歲時，須同時允許未成年人參加（minors_allowed）".into(),
                "an age limit under 18 needs minors to be allowed (minors_allowed)".into(),
            ),
            Self::MissingSkills(skills) => (
                format!("需具备技能：{}", skills.join("、")),
                format!("需具備技能：{}", skills.join("、")),
                format!("requires the skills: {}", skills.join(", ")),
            ),
            Self::TooLateToCancel => (
                "已过取消报名的时限".into(),
                "已過取消報名的時限".into(),
                "it is too late to cancel this sign-up".into(),
            ),
            Self::NotAPhone => (
                "应为11位手机号码，或“+国家代码+号码”".into(),
                "應為11位內地手機號碼，或「+國家代碼+號碼」".into(),
                "must be an 11-digit mainland mobile number or +<country code><number>".into(),
            ),
            Self::PasswordLength { min, max } => (
                format!("密码应为{min}至{max}个字符"),
                format!("密碼應為{min}至{max}個字元"),
                format!("must be {min} to {max} characters"),
            ),
            Self::BirthDateNotDocuments => (
                "与证件上的出生日期不符".into(),
                "與證件上的出生日期不符".into(),
                "does not match the birth date in the identity document".into(),
            ),
            Self::GenderNotDocuments => (
                "与证件上的性别不符".into(),
                "與證件上的性別不符".into(),
                "does not match the gender in the identity document".into(),
            ),
            Self::ImplausibleBirthDate => (
                "出生日期不合理".into(),
                "出生日期不合理".into(),
                "is not a plausible birth date".into(),
            ),
            Self::GuardianNeeded => (
                "未满18岁的志愿者须填写监护人姓名、电话及同意时间".into(),
                "未滿18歲的志願者須填寫監護人姓名、電話及同意時間".into(),
                "a volunteer under 18 needs a guardian's name, phone and consent time".into(),
            ),
            Self::DocumentShape(kind) => match kind {
                DocumentKind::MainlandId | DocumentKind::ResidencePermit => (
                    "应为17位数字加1位数字或X".into(),
                    "應為17位數字加1位數字或X".into(),
                    "must be 17 digits followed by a digit or X".into(),
                ),
                DocumentKind::HkId => (
                    "格式应如 A123456(3)：1至2个字母、6位数字及校验位".into(),
                    "格式應如 A123456(3)：1至2個英文字母、6位數字及校驗位".into(),
                    "must look like A123456(3): 1-2 letters, 6 digits, check".into(),
                ),
                DocumentKind::MacauId => (
                    "格式应如 1234567(8)：首位为1、5或7，再加6位数字及校验位".into(),
                    "格式應如 1234567(8)：首位為1、5或7，再加6位數字及校驗位".into(),
                    "must look like 1234567(8): first digit 1, 5 or 7, 6 more digits, check digit"
                        .into(),
                ),
                DocumentKind::TravelPermit => (
                    "应为H或M加8位数字，可另加2位换证次数".into(),
                    "應為H或M加8位數字，可另加2位換證次數".into(),
                    "must be H or M, 8 digits and an optional 2-digit renewal count".into(),
                ),
                DocumentKind::Passport => (
                    "应为5至20位字母或数字".into(),
                    "應為5至20位英文字母或數字".into(),
                    "must be 5 to 20 letters and digits".into(),
                ),
            },
            Self::NotAProvince => (
                "前两位不是内地省级行政区代码".into(),
                "前兩位不是內地省級行政區代碼".into(),
                "does not start with a mainland province code".into(),
            ),
            Self::ResidencePermitRegion => (
                "居住证号码应以810000、820000或830000开头".into(),
                "居住證號碼應以810000、820000或830000開頭".into(),
                "a residence permit number starts with 810000, 820000 or 830000".into(),
            ),
            Self::ImpossibleBirthDate => (
                "号码中的出生日期不存在".into(),
                "號碼中的出生日期不存在".into(),
                "contains an impossible birth date".into(),
            ),
            Self::PassportCountry => (
                "应为签发国家的三字母代码（ISO 3166-1），如 USA".into(),
                "應為簽發國家的三字母代碼（ISO 3166-1），如 USA".into(),
                "must be an ISO 3166-1 alpha-3 code".into(),
            ),
            Self::MainlandPassport => (
                "内地居民请使用居民身份证登记".into(),
                "內地居民請使用居民身份證登記".into(),
                "citizens of the mainland register with their resident identity card".into(),
            ),
            Self::NotARegionCode => (
                "应为6位、9位或12位行政区划代码（GB/T 2260）".into(),
                "應為6位、9位或12位行政區劃代碼（GB/T 2260）".into(),
                "must be a 6-, 9- or 12-digit region code (GB/T 2260)".into(),
            ),
            Self::UnknownRegion(code) => (
                format!("本平台没有行政区划 {code}"),
                format!("本平台沒有行政區劃 {code}"),
                format!("region {code} is not known"),
            ),
            Self::UnknownField => (
                "不是可识别的字段".into(),
                "不是可識別的欄位".into(),
                "is not a known field".into(),
            ),
            Self::NotFound => ("不存在".into(), "不存在".into(), "does not exist".into()),
            Self::OutOfRange { min, max } => (
                format!("应为{min}至{max}"),
                format!("應為{min}至{max}"),
                format!("must be {min} to {max}"),
            ),
            Self::AtLeast { min } => (
                format!("不能少于{min}"),
                format!("不能少於{min}"),
                format!("must be at least {min}"),
            ),
            Self::BeforeStart => (
                "不能早于开始".into(),
                "不能早於開始".into(),
                "is before the start".into(),
            ),
            Self::AboveMaximum => (
                "不能高于上限".into(),
                "不能高於上限".into(),
                "is above the maximum".into(),
            ),
            Self::ChangedMeanwhile => (
                "已被他人更改，请刷新后重试".into(),
                "已被他人更改，請重新載入後再試".into(),
                "was changed meanwhile; reload and try again".into(),
            ),
            Self::AlreadyDecided => (
                "已经处理过了".into(),
                "已經處理過了".into(),
                "has already been decided".into(),
            ),
            Self::GeofenceNeedsLocation => (
                "设置签到范围须先填写项目地点的坐标".into(),
                "設定簽到範圍須先填寫項目地點的座標".into(),
                "a geofence needs the project's location".into(),
            ),
            Self::ProjectEnded => (
                "项目已结束或已取消，不能再更改".into(),
                "項目已結束或已取消，不能再更改".into(),
                "the project is closed or cancelled".into(),
            ),
            Self::ReviewNeeded => (
                "本项目须经审核后才能发布".into(),
                "本項目須經審核後才能發佈".into(),
                "this project must be reviewed before it is published".into(),
            ),
            Self::InsuranceNeeded => (
                "有风险的项目须先登记意外保险，才能开放报名".into(),
                "有風險的項目須先登記意外保險，才能開放報名".into(),
                "a risky project needs accident insurance before sign-up opens (Art. 17)".into(),
            ),
            Self::InsuranceShort => (
                "保险期间未覆盖整个项目期间".into(),
                "保險期未覆蓋整個項目期間".into(),
                "the policy does not cover the whole project period".into(),
            ),
            Self::OutsideProjectPeriod => (
                "班次须在项目期间之内".into(),
                "班次須在項目期間之內".into(),
                "the shift must fall within the project's period".into(),
            ),
            Self::ShiftTooLong { max_hours } => (
                format!("一个班次最长{max_hours}小时"),
                format!("一個班次最長{max_hours}小時"),
                format!("a shift lasts at most {max_hours} hours"),
            ),
            Self::PlacesTaken { taken } => (
                format!("已有{taken}人确认报名，名额不能少于此数"),
                format!("已有{taken}人確認報名，名額不能少於此數"),
                format!("{taken} places are already taken"),
            ),
            Self::ShiftNotStarted => (
                "该班次尚未开始".into(),
                "該班次尚未開始".into(),
                "the shift has not started yet".into(),
            ),
            Self::AttendanceTaken => (
                "该班次已有签到记录".into(),
                "該班次已有簽到紀錄".into(),
                "attendance was already taken for this shift".into(),
            ),
            Self::LongerThanShift { minutes } => (
                format!("不能超过班次的时长{minutes}分钟"),
                format!("不能超過班次的時長{minutes}分鐘"),
                format!("the shift lasted {minutes} minutes"),
            ),
            Self::AlreadyReported => (
                "您已申报过该班次的服务时长".into(),
                "您已申報過該班次的服務時數".into(),
                "you already reported time for this shift".into(),
            ),
            Self::AlreadyRecorded => (
                "这条记录已经录入".into(),
                "這項紀錄已經錄入".into(),
                "this entry was already recorded".into(),
            ),
            Self::NewerVersionExists => (
                "该记录已有更新的版本，请更正新版本".into(),
                "該紀錄已有較新的版本，請更正新版本".into(),
                "a newer version of this record exists; correct that one".into(),
            ),
            Self::CorrectionWaiting => (
                "该记录已有一份更正申请待处理".into(),
                "該紀錄已有一份更正申請待處理".into(),
                "a correction of this record is already waiting".into(),
            ),
            Self::StarBarred { until } => (
                format!("星级认定已被撤销，{until}前不能再申请"),
                format!("星級認定已被撤銷，{until}前不能再申請"),
                format!("a revoked certification bars applying until {until}"),
            ),
            Self::StarHeld { current } => (
                format!("您已认定为{current}星志愿者"),
                format!("您已認定為{current}星志願者"),
                format!("you already hold {current} stars"),
            ),
            Self::StarNotEligible { eligible: 0 } => (
                "您的服务时长和注册时间尚未达到一星的条件".into(),
                "您的服務時數和註冊時間尚未達到一星的條件".into(),
                "your hours and tenure do not yet qualify for a star".into(),
            ),
            Self::StarNotEligible { eligible } => (
                format!("按您的服务时长和注册时间，可申请{eligible}星"),
                format!("按您的服務時數和註冊時間，可申請{eligible}星"),
                format!("your hours and tenure make you eligible for {eligible} stars"),
            ),
            Self::ApplicationOpen => (
                "您已有一份申请正在办理".into(),
                "您已有一份申請正在辦理".into(),
                "an application of yours is already open".into(),
            ),
            Self::NotInNotice => (
                "只在公示期内受理异议".into(),
                "只在公示期內受理異議".into(),
                "objections are taken during the public notice only".into(),
            ),
            Self::NoticeRunning => (
                "公示期结束后才能认定".into(),
                "公示期結束後才能認定".into(),
                "certify after the public notice has ended".into(),
            ),
            Self::NothingToCertify => (
                "该期间没有可以证明的有效记录".into(),
                "該期間沒有可以證明的有效紀錄".into(),
                "no effective records in this period to certify".into(),
            ),
            Self::TooManyToList { records, max } => (
                format!("共{records}条记录，逐条列出最多{max}条，请缩短期间"),
                format!("共{records}項紀錄，逐項列出最多{max}項，請縮短期間"),
                format!("{records} records: list at most {max}, or choose a shorter period"),
            ),
            Self::AlreadyRevoked => (
                "已被撤销".into(),
                "已被撤銷".into(),
                "is already revoked".into(),
            ),
            Self::AlreadyCancelled => (
                "已经取消了".into(),
                "已經取消了".into(),
                "is already cancelled".into(),
            ),
            Self::NotText => (
                "文件不是 UTF-8、GB18030 或 Big5 编码的文本，请另存为 CSV 或 XLSX".into(),
                "檔案不是 UTF-8、GB18030 或 Big5 編碼的文字，請另存為 CSV 或 XLSX".into(),
                "the file is neither UTF-8, GB18030 nor Big5 text; save it as CSV or XLSX".into(),
            ),
            Self::NotCsv { line } => (
                format!("第{line}行不是有效的 CSV"),
                format!("第{line}行不是有效的 CSV"),
                format!("line {line} is not valid CSV"),
            ),
            Self::NotAWorkbook => (
                "不是可读取的 XLSX 工作簿，请另存为 .xlsx 或 CSV".into(),
                "不是可讀取的 XLSX 活頁簿，請另存為 .xlsx 或 CSV".into(),
                "not a readable XLSX workbook; save it as .xlsx or CSV".into(),
            ),
            Self::NoHeader => (
                "文件没有表头行，请使用批量录入模板".into(),
                "檔案沒有標題列，請使用批量錄入範本".into(),
                "the file has no header row; use the batch template".into(),
            ),
            Self::MissingColumns(columns) => {
                let names = |i: usize, sep: &str| {
                    columns.iter().map(|c| c[i]).collect::<Vec<_>>().join(sep)
                };
                (
                    format!("表头缺少：{}，请使用批量录入模板", names(0, "、")),
                    format!("標題列缺少：{}，請使用批量錄入範本", names(1, "、")),
                    format!(
                        "the header row lacks {}; use the batch template (GET \
                         /api/v1/records/batch-template)",
                        names(2, ", ")
                    ),
                )
            }
            Self::TooManyRows { max } => (
                format!("每次最多上传{max}行，请拆分文件"),
                format!("每次最多上載{max}行，請拆分檔案"),
                format!("at most {max} rows per upload; split the file"),
            ),
            Self::TooMany { max } => (
                format!("最多{max}项"),
                format!("最多{max}項"),
                format!("at most {max}"),
            ),
            Self::UnknownCategory => (
                "不是本平台的服务类别".into(),
                "不是本平台的服務類別".into(),
                "is not a service category".into(),
            ),
            Self::CreditCodeShape => (
                "统一社会信用代码为18位数字或大写字母（不含 I、O、S、V、Z）".into(),
                "統一社會信用代碼為18位數字或大寫英文字母（不含 I、O、S、V、Z）".into(),
                "must be 18 characters of digits and capital letters (no I, O, S, V, Z)".into(),
            ),
            Self::NotForGrassroots => (
                "基层团队未登记注册，不填统一社会信用代码".into(),
                "基層團隊未登記註冊，不填統一社會信用代碼".into(),
                "a grassroots team is unregistered and has no credit code".into(),
            ),
            Self::DoesNotCover => (
                "其行政区划不包含本团队所在的行政区划".into(),
                "其行政區劃不包含本團隊所在的行政區劃".into(),
                "its region does not contain the team's region".into(),
            ),
            Self::ChallengeStale => (
                "挑战码不是本平台发出的，或已使用、已过期，请重新获取".into(),
                "挑戰碼不是本平台發出的，或已使用、已過期，請重新取得".into(),
                "the challenge is not one this platform gave you, or it was answered already \
                 or expired: ask for a new one"
                    .into(),
            ),
            Self::AccountLinkedElsewhere { partner } => (
                format!("您在{partner}的账户已关联本平台的另一位志愿者"),
                format!("您在{partner}的帳戶已關聯本平台的另一位志願者"),
                format!("this account at {partner} is linked to another volunteer here"),
            ),
            Self::AlreadyLinked { partner } => (
                format!("您已关联{partner}的另一个账户，请先撤回该认可"),
                format!("您已關聯{partner}的另一個帳戶，請先撤回該認可"),
                format!(
                    "you are linked to another account at {partner}: withdraw that recognition \
                     first"
                ),
            ),
            Self::NotAPracticeSite => (
                "不是新时代文明实践中心、所、站".into(),
                "不是新時代文明實踐中心、所、站".into(),
                "is not a practice station, institute or center".into(),
            ),
            Self::CodeShape => (
                "应为1至40个字母、数字、- 或 _".into(),
                "應為1至40個英文字母、數字、- 或 _".into(),
                "must be 1 to 40 letters, digits, - or _".into(),
            ),
            Self::OutsideArea => (
                "超出本站可以派单的范围".into(),
                "超出本站可以派單的範圍".into(),
                "outside the area this site may dispatch to".into(),
            ),
            Self::NotOffered => (
                "该需求未开放认领".into(),
                "該需求未開放認領".into(),
                "the order is not offered for taking".into(),
            ),
            Self::HoldsNoPlace => (
                "该报名没有占用名额".into(),
                "該報名沒有佔用名額".into(),
                "the sign-up holds no place".into(),
            ),
            Self::NotAbsent => (
                "该报名未被标记为缺席".into(),
                "該報名未被標記為缺席".into(),
                "the sign-up is not marked absent".into(),
            ),
            Self::ShiftFull => (
                "该班次名额已满".into(),
                "該班次名額已滿".into(),
                "every place of the shift is taken".into(),
            ),
            Self::NotOneOf(allowed) => (
                format!("应为以下之一：{}", allowed.join("、")),
                format!("應為以下之一：{}", allowed.join("、")),
                format!("must be one of: {}", allowed.join(", ")),
            ),
            Self::WrongType(kind) => {
                let [zh_hans, zh_hk, en] = kind.names();
                (
                    format!("应为{zh_hans}"),
                    format!("應為{zh_hk}"),
                    format!("must be {en}"),
                )
            }
            Self::ExactlyOneOf(fields) => (
                format!("{}须且只须填写一项", fields.join("、")),
                format!("{}須且只須填寫一項", fields.join("、")),
                format!("send exactly one of {}", fields.join(", ")),
            ),
            Self::NotATime => (
                "应为时间，写作 2026-11-05T09:30:00+08:00（RFC 3339）".into(),
                "應為時間，寫作 2026-11-05T09:30:00+08:00（RFC 3339）".into(),
                "must be a time written 2026-11-05T09:30:00+08:00 (RFC 3339)".into(),
            ),
            Self::NotIsoDate => (
                "应为真实日期，写作 2026-11-05".into(),
                "應為真實日期，寫作 2026-11-05".into(),
                "must be a real date written 2026-11-05".into(),
            ),
            Self::CannotBecome { from, to } => (
                format!("当前状态 {from} 不能变为 {to}"),
                format!("目前狀態 {from} 不能變為 {to}"),
                format!("cannot go from {from} to {to}"),
            ),
            Self::NotNow { action, status } => (
                format!("订单当前状态 {status} 下不能执行 {action}"),
                format!("訂單目前狀態 {status} 下不能執行 {action}"),
                format!("an order that is {status} does not take {action}"),
            ),
            Self::AlreadyThere => (
                "订单已在该处".into(),
                "訂單已在該處".into(),
                "the order is already there".into(),
            ),
            Self::NotATaker => (
                "只有队伍或志愿者可以接单".into(),
                "只有隊伍或志願者可以接單".into(),
                "only a team or a volunteer takes an order".into(),
            ),
            Self::NoDispatcher => (
                "没有派单的阵地可以退回".into(),
                "沒有派單的陣地可以退回".into(),
                "the order has no dispatching site to return to".into(),
            ),
            Self::Repeated => (
                "重复填写".into(),
                "重複填寫".into(),
                "is given twice".into(),
            ),
            Self::WrongPassword => (
                "当前密码不正确".into(),
                "目前密碼不正確".into(),
                "is not the account's password".into(),
            ),
            Self::SamePassword => (
                "新密码不能与当前密码相同".into(),
                "新密碼不能與目前密碼相同".into(),
                "must differ from the current password".into(),
            ),
            Self::ConsentOutdated { current } => (
                format!("请阅读并同意第 {current} 版隐私政策"),
                format!("請閱讀並同意第 {current} 版私隱政策"),
                format!("the privacy policy is now version {current}; read and accept it"),
            ),
            Self::NotAUrl => (
                "应为 http(s) 网址".into(),
                "應為 http(s) 網址".into(),
                "must be an http(s) URL".into(),
            ),
            Self::NotAnEmail => (
                "应为电子邮件地址".into(),
                "應為電郵地址".into(),
                "must be an e-mail address".into(),
            ),
            Self::Expired => (
                "已过有效期".into(),
                "已過有效期".into(),
                "has expired".into(),
            ),
            Self::LoginShape => (
                "应为3至40个小写字母、数字或 . - _，以字母开头".into(),
                "應為3至40個小寫字母、數字或 . - _，以字母開頭".into(),
                "must be 3 to 40 lowercase letters, digits, '.', '-' or '_', starting with a letter"
                    .into(),
            ),
            Self::NotABundle => (
                "不是合作平台导出的志愿服务记录包".into(),
                "不是合作平台匯出的志願服務記錄包".into(),
                "is not a volunteer record bundle from a partner platform".into(),
            ),
            Self::UntrustedPartner => (
                "不是本平台认可的合作平台签发的".into(),
                "不是本平台認可的合作平台簽發的".into(),
                "was not signed by a partner platform this platform trusts".into(),
            ),
            Self::PartnerSuspended { partner } => (
                format!("暂停认可「{partner}」的记录"),
                format!("暫停認可「{partner}」的記錄"),
                format!("recognition of records from {partner} is suspended"),
            ),
            Self::SignatureInvalid => (
                "签名验证不通过：内容被改动，或非该平台签发".into(),
                "簽名驗證不通過：內容被改動，或非該平台簽發".into(),
                "the signature does not verify: it was altered or not made by that platform"
                    .into(),
            ),
            Self::MadeForAnother => (
                "该记录包是为其他平台生成的，请重新为本平台生成".into(),
                "該記錄包是為其他平台生成的，請重新為本平台生成".into(),
                "the bundle was made for another platform; make one for this platform".into(),
            ),
            Self::NoRevocationStatus => (
                "缺少合作平台的撤销状态".into(),
                "缺少合作平台的撤銷狀態".into(),
                "carries no revocation status at the partner".into(),
            ),
            Self::RevokedByPartner => (
                "已被签发平台撤销".into(),
                "已被簽發平台撤銷".into(),
                "was revoked by the platform that issued it".into(),
            ),
            Self::NotInLedger => (
                "缺少记入合作平台账本的证明".into(),
                "缺少記入合作平台賬本的證明".into(),
                "carries no proof that it is in the partner's ledger".into(),
            ),
            Self::AboutSomeoneElse => (
                "所载志愿者不是记录包的持有人".into(),
                "所載志願者不是記錄包的持有人".into(),
                "is about someone other than the bundle's holder".into(),
            ),
            Self::NameByJurisdiction => (
                "登记姓名须由所属辖区核实后更正".into(),
                "登記姓名須由所屬轄區核實後更正".into(),
                "a registered name is corrected by the jurisdiction, which checks it".into(),
            ),
            Self::AlreadyRegistered => (
                "该证件已注册为志愿者，请直接登录".into(),
                "該證件已登記為志願者，請直接登入".into(),
                "this identity document is already registered; sign in instead".into(),
            ),
            Self::PlaceNeeded => (
                "请选择所在地区，或允许获取位置".into(),
                "請選擇所在地區，或允許取得位置".into(),
                "give the region or the coordinates of the place".into(),
            ),
            Self::NoSiteHere => (
                "该地暂无新时代文明实践中心、所、站受理".into(),
                "該地暫無新時代文明實踐中心、所、站受理".into(),
                "no practice station, institute or center covers this place".into(),
            ),
            Self::NoSiteNear { within_m } => {
                let km = *within_m as f64 / 1000.0;
                (
                    format!("{km}公里内没有新时代文明实践中心、所、站"),
                    format!("{km}公里內沒有新時代文明實踐中心、所、站"),
                    format!("no practice site within {km} km of this place"),
                )
            }
            Self::NotOnMenu { site } => (
                format!("不在{site}的服务菜单上，请查看其菜单"),
                format!("不在{site}的服務菜單上，請查看其菜單"),
                format!("not on the menu of {site} (see its menu)"),
            ),
            Self::InThePast => (
                "不能早于现在".into(),
                "不能早於現在".into(),
                "is in the past".into(),
            ),
            Self::NotCompleted => (
                "服务完成后才能评价".into(),
                "服務完成後才能評價".into(),
                "only a completed order is rated".into(),
            ),
            Self::AlreadyRated => (
                "您已评价过这项服务".into(),
                "您已評價過這項服務".into(),
                "the order is rated already".into(),
            ),
            Self::NotAPoint => (
                "应写作“纬度,经度”，如 23.13,113.26".into(),
                "應寫作「緯度,經度」，如 22.28,114.16".into(),
                "must be lat,lng in degrees, e.g. 23.13,113.26".into(),
            ),
            Self::AboveZeroAtMost { max } => (
                format!("须大于0且不超过{max}"),
                format!("須大於0且不超過{max}"),
                format!("must be above 0 and at most {max}"),
            ),
            Self::NotACursor => (
                "翻页标记无效，请从第一页重新查询".into(),
                "翻頁標記無效，請從第一頁重新查詢".into(),
                "is not a cursor returned by this listing; start again from the first page"
                    .into(),
            ),
            Self::NotASlot => (
                "应为某天加时段，如 sat-morning（周六上午）：天为 mon…sun、weekday、weekend 或 \
                 daily，时段为 morning、afternoon 或 evening"
                    .into(),
                "應為某天加時段，如 sat-morning（星期六上午）：日子為 mon…sun、weekday、weekend 或 \
                 daily，時段為 morning、afternoon 或 evening"
                    .into(),
                "must be a day (mon..sun, weekday, weekend, daily) and a part of the day \
                 (morning, afternoon, evening), e.g. sat-morning"
                    .into(),
            ),
            Self::MustRise => (
                "须高于上一级".into(),
                "須高於上一級".into(),
                "must rise with each tier".into(),
            ),
            Self::MustNotFall => (
                "不能低于上一级".into(),
                "不能低於上一級".into(),
                "must not fall with a higher tier".into(),
            ),
            Self::SiteLevel(kind) => {
                let [hans, hk, en] = match kind {
                    SiteKind::PracticeCenter => [
                        "新时代文明实践中心应设在县（市、区）",
                        "新時代文明實踐中心應設於縣（市、區）",
                        "a practice center belongs in a county (or a city without counties)",
                    ],
                    SiteKind::PracticeInstitute => [
                        "新时代文明实践所应设在乡镇（街道）",
                        "新時代文明實踐所應設於鄉鎮（街道）",
                        "a practice institute belongs in a town or street",
                    ],
                    SiteKind::PracticeStation => [
                        "新时代文明实践站应设在村（社区）",
                        "新時代文明實踐站應設於村（社區）",
                        "a practice station belongs in a village or community",
                    ],
                    _ => [
                        "站点应设在市级或以下地区",
                        "站點應設於市級或以下地區",
                        "a site belongs in a city or below",
                    ],
                };
                (hans.into(), hk.into(), en.into())
            }
            Self::ProvinceFixed => (
                "省级地区为基础数据，不能新增".into(),
                "省級地區為基礎資料，不能新增".into(),
                "provinces are reference data and cannot be added".into(),
            ),
            Self::NotActiveMember => (
                "只能给已加入的成员分配角色".into(),
                "只能給已加入的成員分配角色".into(),
                "roles are given to active members only".into(),
            ),
            Self::AlreadyMember => (
                "您已是该团队成员".into(),
                "您已是該團隊成員".into(),
                "you are a member of this team already".into(),
            ),
            Self::NoCoordinates => (
                "需求及其站点都没有坐标，无法按距离匹配".into(),
                "需求及其站點都沒有座標，無法按距離配對".into(),
                "neither the need nor its site has coordinates to measure distance from".into(),
            ),
            Self::HoursByAttendance => (
                "该订单的活动通过报名和签到记录时长".into(),
                "該訂單的活動透過報名和簽到記錄時數".into(),
                "the order's activity records its hours through sign-ups and attendance".into(),
            ),
            Self::HoursByTeam => (
                "只有团队能随订单记录时长，志愿者的时长由团队记录".into(),
                "只有團隊能隨訂單記錄時數，志願者的時數由團隊記錄".into(),
                "only a team records hours with an order; a volunteer's are recorded by a team"
                    .into(),
            ),
            Self::TakenFirst => (
                "订单刚被其他人抢先接下".into(),
                "訂單剛被其他人搶先接下".into(),
                "someone else took the order first".into(),
            ),
            Self::OwnAccount => (
                "本人账号的这项变更须由另一位管理员办理".into(),
                "本人帳號的這項變更須由另一位管理員辦理".into(),
                "another administrator makes this change to your own account".into(),
            ),
            Self::NotCertified => (
                "该星级尚未认定".into(),
                "該星級尚未認定".into(),
                "the star is not certified".into(),
            ),
            Self::OnlyAcceptingTeam => (
                "只有接单的团队能将订单作为活动开展".into(),
                "只有接單的團隊能將訂單作為活動開展".into(),
                "only the team that accepted an order carries it out as an activity".into(),
            ),
            Self::HasActivity => (
                "该订单已有活动".into(),
                "該訂單已有活動".into(),
                "the order already has its activity".into(),
            ),
            Self::NoSiteAbove => (
                "上级没有新时代文明实践所或中心可以上报".into(),
                "上級沒有新時代文明實踐所或中心可以上報".into(),
                "there is no practice site above to escalate to".into(),
            ),
            Self::NotADid => (
                "应为不带片段的 DID，如 did:web:volunteer.example.hk".into(),
                "應為不帶片段的 DID，如 did:web:volunteer.example.hk".into(),
                "must be a DID without fragment, e.g. did:web:volunteer.example.hk".into(),
            ),
            Self::NotAKey { form } => (
                format!("应为{form}格式的公钥"),
                format!("應為{form}格式的公鑰"),
                format!("must be a public key written as {form}"),
            ),
            Self::NotAJurisdiction => (
                "应为 HK、MO、TW 或内地省份的两位代码（如 45）".into(),
                "應為 HK、MO、TW 或內地省份的兩位代碼（如 45）".into(),
                "must be HK, MO, TW, or a Mainland province's two-digit code (e.g. 45)".into(),
            ),
            Self::Length { min, max } => (
                format!("应为{min}至{max}个字符"),
                format!("應為{min}至{max}個字元"),
                format!("must be {min} to {max} characters"),
            ),
            Self::Exists => (
                "已登记，不能重复".into(),
                "已登記，不能重複".into(),
                "is registered already".into(),
            ),
            Self::KeyInProgress => (
                "使用此键的请求仍在处理中，请稍后重试".into(),
                "使用此鍵的請求仍在處理中，請稍後重試".into(),
                "the request first sent with this key is still being handled; retry shortly"
                    .into(),
            ),
            Self::KeyReused => (
                "此键已用于另一个请求，每个操作须使用新的键".into(),
                "此鍵已用於另一個請求，每個操作須使用新的鍵".into(),
                "was used for a different request; use a new key for each operation".into(),
            ),
            Self::NotAnIdempotencyKey => (
                "应为1至255个可打印的ASCII字符，每个操作随机生成（如UUID）".into(),
                "應為1至255個可列印的ASCII字元，每個操作隨機產生（如UUID）".into(),
                "must be 1 to 255 printable ASCII characters, random for each operation (a UUID)"
                    .into(),
            ),
        };
        lang.pick([zh_hans, zh_hk, en])
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// A non-empty list of field errors: the input as a whole was refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Collects the error of `result` (if any) and returns its value.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no error was collected.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for Invalid {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "invalid input: {}", parts.join("; "))
    }
}

impl std::error::Error for Invalid {}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::{FieldError, JsonType, Reason};
    use crate::document::DocumentKind;
    use crate::lang::Lang;
    use crate::region::RegionCode;
    use crate::site::SiteKind;

    /// One example of each reason, in order. The match has no wildcard, so a new variant
    /// does not compile until it is given a place in the chain, and so in the test.
    fn after(why: Option<&Reason>) -> Option<Reason> {
        Some(match why {
            None => Reason::Required,
            Some(Reason::Required) => Reason::TooLong { max: 50 },
            Some(Reason::TooLong { .. }) => Reason::ControlCharacters,
            Some(Reason::ControlCharacters) => Reason::VolunteerNumberDigits,
            Some(Reason::VolunteerNumberDigits) => Reason::CheckDigit,
            Some(Reason::CheckDigit) => Reason::NotADate,
            Some(Reason::NotADate) => Reason::InTheFuture,
            Some(Reason::InTheFuture) => Reason::NotMinutes,
            Some(Reason::NotMinutes) => Reason::NotHours,
            Some(Reason::NotHours) => Reason::NotPositive,
            Some(Reason::NotPositive) => Reason::OverDailyCap { cap_minutes: 720 },
            Some(Reason::OverDailyCap { .. }) => Reason::NoSuchVolunteer,
            Some(Reason::NoSuchVolunteer) => Reason::DayOverCap {
                day: date!(2026 - 11 - 05),
                cap_minutes: 720,
            },
            Some(Reason::DayOverCap { .. }) => Reason::CodeMalformed,
            Some(Reason::CodeMalformed) => Reason::CodeExpired,
            Some(Reason::CodeExpired) => Reason::CodeForged,
            Some(Reason::CodeForged) => Reason::CodeOfAnotherShift,
            Some(Reason::CodeOfAnotherShift) => Reason::LocationNeeded,
            Some(Reason::LocationNeeded) => Reason::OutsideGeofence {
                distance_m: 1200,
                radius_m: 300,
            },
            Some(Reason::OutsideGeofence { .. }) => Reason::NoSignup,
            Some(Reason::NoSignup) => Reason::CheckInClosed {
                opens_before_minutes: 60,
            },
            Some(Reason::CheckInClosed { .. }) => Reason::NotCheckedIn,
            Some(Reason::NotCheckedIn) => Reason::ProjectNotOpen,
            Some(Reason::ProjectNotOpen) => Reason::ShiftCancelled,
            Some(Reason::ShiftCancelled) => Reason::ShiftStarted,
            Some(Reason::ShiftStarted) => Reason::AlreadySignedUp,
            Some(Reason::AlreadySignedUp) => Reason::TooYoung { min: 16 },
            Some(Reason::TooYoung { .. }) => Reason::TooOld { max: 60 },
            Some(Reason::TooOld { .. }) => Reason::MinorsNotAllowed,
            Some(Reason::MinorsNotAllowed) => Reason::AgeNeedsMinors,
            Some(Reason::AgeNeedsMinors) => {
                Reason::MissingSkills(vec!["急救".into(), "手语".into()])
            }
            Some(Reason::MissingSkills(_)) => Reason::TooLateToCancel,
            Some(Reason::TooLateToCancel) => Reason::NotAPhone,
            Some(Reason::NotAPhone) => Reason::PasswordLength { min: 8, max: 128 },
            Some(Reason::PasswordLength { .. }) => Reason::BirthDateNotDocuments,
            Some(Reason::BirthDateNotDocuments) => Reason::GenderNotDocuments,
            Some(Reason::GenderNotDocuments) => Reason::ImplausibleBirthDate,
            Some(Reason::ImplausibleBirthDate) => Reason::GuardianNeeded,
            Some(Reason::GuardianNeeded) => Reason::DocumentShape(DocumentKind::HkId),
            Some(Reason::DocumentShape(_)) => Reason::NotAProvince,
            Some(Reason::NotAProvince) => Reason::ResidencePermitRegion,
            Some(Reason::ResidencePermitRegion) => Reason::ImpossibleBirthDate,
            Some(Reason::ImpossibleBirthDate) => Reason::PassportCountry,
            Some(Reason::PassportCountry) => Reason::MainlandPassport,
            Some(Reason::MainlandPassport) => Reason::NotARegionCode,
            Some(Reason::NotARegionCode) => {
                Reason::UnknownRegion(RegionCode::parse("440199").unwrap())
            }
            Some(Reason::UnknownRegion(_)) => Reason::UnknownField,
            Some(Reason::UnknownField) => Reason::NotFound,
            Some(Reason::NotFound) => Reason::OutOfRange { min: 1, max: 200 },
            Some(Reason::OutOfRange { .. }) => Reason::AtLeast { min: 5 },
            Some(Reason::AtLeast { .. }) => Reason::BeforeStart,
            Some(Reason::BeforeStart) => Reason::AboveMaximum,
            Some(Reason::AboveMaximum) => Reason::ChangedMeanwhile,
            Some(Reason::ChangedMeanwhile) => Reason::AlreadyDecided,
            Some(Reason::AlreadyDecided) => Reason::GeofenceNeedsLocation,
            Some(Reason::GeofenceNeedsLocation) => Reason::ProjectEnded,
            Some(Reason::ProjectEnded) => Reason::ReviewNeeded,
            Some(Reason::ReviewNeeded) => Reason::InsuranceNeeded,
            Some(Reason::InsuranceNeeded) => Reason::InsuranceShort,
            Some(Reason::InsuranceShort) => Reason::OutsideProjectPeriod,
            Some(Reason::OutsideProjectPeriod) => Reason::ShiftTooLong { max_hours: 24 },
            Some(Reason::ShiftTooLong { .. }) => Reason::PlacesTaken { taken: 7 },
            Some(Reason::PlacesTaken { .. }) => Reason::ShiftNotStarted,
            Some(Reason::ShiftNotStarted) => Reason::AttendanceTaken,
            Some(Reason::AttendanceTaken) => Reason::LongerThanShift { minutes: 180 },
            Some(Reason::LongerThanShift { .. }) => Reason::AlreadyReported,
            Some(Reason::AlreadyReported) => Reason::AlreadyRecorded,
            Some(Reason::AlreadyRecorded) => Reason::NewerVersionExists,
            Some(Reason::NewerVersionExists) => Reason::CorrectionWaiting,
            Some(Reason::CorrectionWaiting) => Reason::StarBarred {
                until: date!(2027 - 11 - 05),
            },
            Some(Reason::StarBarred { .. }) => Reason::StarHeld { current: 2 },
            Some(Reason::StarHeld { .. }) => Reason::StarNotEligible { eligible: 1 },
            Some(Reason::StarNotEligible { .. }) => Reason::ApplicationOpen,
            Some(Reason::ApplicationOpen) => Reason::NotInNotice,
            Some(Reason::NotInNotice) => Reason::NoticeRunning,
            Some(Reason::NoticeRunning) => Reason::NothingToCertify,
            Some(Reason::NothingToCertify) => Reason::TooManyToList {
                records: 812,
                max: 500,
            },
            Some(Reason::TooManyToList { .. }) => Reason::AlreadyRevoked,
            Some(Reason::AlreadyRevoked) => Reason::PlaceNeeded,
            Some(Reason::PlaceNeeded) => Reason::NoSiteHere,
            Some(Reason::NoSiteHere) => Reason::NoSiteNear { within_m: 5_000 },
            Some(Reason::NoSiteNear { .. }) => Reason::NotOnMenu {
                site: "华工社区新时代文明实践站".into(),
            },
            Some(Reason::NotOnMenu { .. }) => Reason::InThePast,
            Some(Reason::InThePast) => Reason::NotCompleted,
            Some(Reason::NotCompleted) => Reason::AlreadyRated,
            Some(Reason::AlreadyRated) => Reason::AlreadyCancelled,
            Some(Reason::AlreadyCancelled) => Reason::NotText,
            Some(Reason::NotText) => Reason::NotCsv { line: 7 },
            Some(Reason::NotCsv { .. }) => Reason::NotAWorkbook,
            Some(Reason::NotAWorkbook) => Reason::NoHeader,
            Some(Reason::NoHeader) => {
                Reason::MissingColumns(vec![["服务日期", "服務日期", "service_date"]])
            }
            Some(Reason::MissingColumns(_)) => Reason::TooManyRows { max: 100_000 },
            Some(Reason::TooManyRows { .. }) => Reason::TooMany { max: 20 },
            Some(Reason::TooMany { .. }) => Reason::UnknownCategory,
            Some(Reason::UnknownCategory) => Reason::CreditCodeShape,
            Some(Reason::CreditCodeShape) => Reason::NotForGrassroots,
            Some(Reason::NotForGrassroots) => Reason::DoesNotCover,
            Some(Reason::DoesNotCover) => Reason::ChallengeStale,
            Some(Reason::ChallengeStale) => Reason::AccountLinkedElsewhere {
                partner: "香港義工平台".into(),
            },
            Some(Reason::AccountLinkedElsewhere { .. }) => Reason::AlreadyLinked {
                partner: "香港義工平台".into(),
            },
            Some(Reason::AlreadyLinked { .. }) => Reason::NotAPracticeSite,
            Some(Reason::NotAPracticeSite) => Reason::CodeShape,
            Some(Reason::CodeShape) => Reason::OutsideArea,
            Some(Reason::OutsideArea) => Reason::NotOffered,
            Some(Reason::NotOffered) => Reason::HoldsNoPlace,
            Some(Reason::HoldsNoPlace) => Reason::NotAbsent,
            Some(Reason::NotAbsent) => Reason::ShiftFull,
            Some(Reason::ShiftFull) => Reason::NotOneOf(vec!["webhook".into(), "email".into()]),
            Some(Reason::NotOneOf(_)) => Reason::WrongType(JsonType::WholeNumber),
            Some(Reason::WrongType(_)) => {
                Reason::ExactlyOneOf(vec!["code".into(), "volunteer_code".into()])
            }
            Some(Reason::ExactlyOneOf(_)) => Reason::NotATime,
            Some(Reason::NotATime) => Reason::NotIsoDate,
            Some(Reason::NotIsoDate) => Reason::CannotBecome {
                from: "closed",
                to: "published",
            },
            Some(Reason::CannotBecome { .. }) => Reason::NotNow {
                action: "grab",
                status: "open",
            },
            Some(Reason::NotNow { .. }) => Reason::AlreadyThere,
            Some(Reason::AlreadyThere) => Reason::NotATaker,
            Some(Reason::NotATaker) => Reason::NoDispatcher,
            Some(Reason::NoDispatcher) => Reason::Repeated,
            Some(Reason::Repeated) => Reason::WrongPassword,
            Some(Reason::WrongPassword) => Reason::SamePassword,
            Some(Reason::SamePassword) => Reason::ConsentOutdated {
                current: "2026-01".into(),
            },
            Some(Reason::ConsentOutdated { .. }) => Reason::NotAUrl,
            Some(Reason::NotAUrl) => Reason::NotAnEmail,
            Some(Reason::NotAnEmail) => Reason::Expired,
            Some(Reason::Expired) => Reason::LoginShape,
            Some(Reason::LoginShape) => Reason::NotABundle,
            Some(Reason::NotABundle) => Reason::UntrustedPartner,
            Some(Reason::UntrustedPartner) => Reason::PartnerSuspended {
                partner: "香港義工平台".into(),
            },
            Some(Reason::PartnerSuspended { .. }) => Reason::SignatureInvalid,
            Some(Reason::SignatureInvalid) => Reason::MadeForAnother,
            Some(Reason::MadeForAnother) => Reason::NoRevocationStatus,
            Some(Reason::NoRevocationStatus) => Reason::RevokedByPartner,
            Some(Reason::RevokedByPartner) => Reason::NotInLedger,
            Some(Reason::NotInLedger) => Reason::AboutSomeoneElse,
            Some(Reason::AboutSomeoneElse) => Reason::NameByJurisdiction,
            Some(Reason::NameByJurisdiction) => Reason::AlreadyRegistered,
            Some(Reason::AlreadyRegistered) => Reason::NotAPoint,
            Some(Reason::NotAPoint) => Reason::AboveZeroAtMost { max: 200 },
            Some(Reason::AboveZeroAtMost { .. }) => Reason::NotACursor,
            Some(Reason::NotACursor) => Reason::NotASlot,
            Some(Reason::NotASlot) => Reason::MustRise,
            Some(Reason::MustRise) => Reason::MustNotFall,
            Some(Reason::MustNotFall) => Reason::SiteLevel(SiteKind::PracticeStation),
            Some(Reason::SiteLevel(_)) => Reason::ProvinceFixed,
            Some(Reason::ProvinceFixed) => Reason::NotActiveMember,
            Some(Reason::NotActiveMember) => Reason::AlreadyMember,
            Some(Reason::AlreadyMember) => Reason::NoCoordinates,
            Some(Reason::NoCoordinates) => Reason::HoursByAttendance,
            Some(Reason::HoursByAttendance) => Reason::HoursByTeam,
            Some(Reason::HoursByTeam) => Reason::TakenFirst,
            Some(Reason::TakenFirst) => Reason::OwnAccount,
            Some(Reason::OwnAccount) => Reason::NotCertified,
            Some(Reason::NotCertified) => Reason::OnlyAcceptingTeam,
            Some(Reason::OnlyAcceptingTeam) => Reason::HasActivity,
            Some(Reason::HasActivity) => Reason::NoSiteAbove,
            Some(Reason::NoSiteAbove) => Reason::NotADid,
            Some(Reason::NotADid) => Reason::NotAKey {
                form: "Ed25519 Multikey (z6Mk…)",
            },
            Some(Reason::NotAKey { .. }) => Reason::NotAJurisdiction,
            Some(Reason::NotAJurisdiction) => Reason::Length { min: 16, max: 200 },
            Some(Reason::Length { .. }) => Reason::Exists,
            Some(Reason::Exists) => Reason::KeyInProgress,
            Some(Reason::KeyInProgress) => Reason::KeyReused,
            Some(Reason::KeyReused) => Reason::NotAnIdempotencyKey,
            Some(Reason::NotAnIdempotencyKey) => return None,
        })
    }

    /// The chain, cut short should an arm point back (the test then finds a code twice).
    fn every_reason() -> Vec<Reason> {
        std::iter::successors(after(None), |why| after(Some(why)))
            .take(1_000)
            .collect()
    }

    /// A client acts on the code, so no two reasons share one, and none is the code of
    /// an error without a reason; each is said in all three languages: two sentences in
    /// Chinese, one in English that is neither.
    #[test]
    fn every_reason_has_its_own_code_and_a_sentence_in_each_language() {
        let reasons = every_reason();
        let mut codes: Vec<&str> = reasons.iter().map(Reason::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), reasons.len());
        assert!(!codes.contains(&"invalid"));
        for why in &reasons {
            let [hans, hk, en] = Lang::ALL.map(|lang| why.say(lang));
            assert!(!hans.is_ascii() && !hk.is_ascii(), "{why:?}");
            assert!(!en.is_empty() && en != hans && en != hk, "{why:?}");
        }
        let hk = Reason::CheckDigit.say(Lang::ZhHk);
        assert_eq!(
            (Reason::CheckDigit.say(Lang::ZhHans), hk.as_str()),
            ("校验位不正确".into(), "校驗位不正確")
        );
    }

    /// Clients learn the codes from the API reference, so each is listed there.
    #[test]
    fn every_code_is_listed_in_the_api_reference() {
        let reference = include_str!("../../../docs/API.md");
        let unlisted: Vec<&str> = every_reason()
            .iter()
            .map(Reason::code)
            .filter(|code| !reference.contains(&format!("`{code}`")))
            .collect();
        assert!(unlisted.is_empty(), "not in docs/API.md: {unlisted:?}");
    }

    /// An error with a reason serializes its code and says its sentence in English; one
    /// without says what it was given, under `invalid`, in every language.
    #[test]
    fn a_field_error_carries_its_code_and_says_its_reason() {
        let coded = FieldError::because("", Reason::TooYoung { min: 16 }).at("conditions");
        assert_eq!(
            serde_json::to_value(&coded).unwrap(),
            serde_json::json!({"field": "conditions", "code": "too_young",
                "reason": "volunteers must be at least 16"})
        );
        assert_eq!(coded.say(Lang::ZhHk), "志願者須年滿16歲");
        let plain = FieldError::new("rating", "1 to 5");
        assert_eq!(plain.code(), "invalid");
        assert_eq!(plain.say(Lang::ZhHans), "1 to 5");
    }
}
