//! Corrections of service records (Art. 13) and training, award and evaluation entries
//! (Art. 8 to 10), as rows.

use time::{Date, OffsetDateTime};
use zhiyuan_domain::ids::{AccountId, OrgId, VolunteerId};

use crate::{RecordId, RecordRow};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct CorrectionId(pub i64);

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct EntryId(pub i64);

/// Where a correction request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionStatus {
    Pending,
    Approved,
    Rejected,
}

impl CorrectionStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Approved, Self::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What a correction proposes: the fields to change in a record, or for an omission, the
/// whole missing record.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_person: Option<String>,
}

impl RecordChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCorrection {
    /// The record version the volunteer disputes; `None` reports an omission.
    pub record: Option<RecordId>,
    pub volunteer: VolunteerId,
    /// The recording unit that decides.
    pub org: OrgId,
    pub reason: String,
    pub proposed: RecordChanges,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRecord {
    pub id: CorrectionId,
    pub correction: NewCorrection,
    pub status: CorrectionStatus,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<AccountId>,
    pub decision_note: Option<String>,
    /// The record version the approval produced.
    pub result: Option<RecordId>,
}

/// Filters for corrections, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorrectionQuery {
    pub org: Option<OrgId>,
    pub volunteer: Option<VolunteerId>,
    pub status: Option<CorrectionStatus>,
}

/// The outcome of an approved correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrected {
    pub correction: CorrectionRecord,
    pub record: RecordRow,
}

/// The kinds of entry besides service records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Art. 8: name, main content, duration, organiser, date.
    Training,
    /// Art. 9: name, date, granting body.
    Award,
    /// Art. 10: service quality rating and its date.
    Evaluation,
}

impl EntryKind {
    pub const ALL: [Self; 3] = [Self::Training, Self::Award, Self::Evaluation];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Training => "training",
            Self::Award => "award",
            Self::Evaluation => "evaluation",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub volunteer: VolunteerId,
    pub org: OrgId,
    pub name: String,
    pub date: Date,
    pub content: String,
    /// Training duration.
    pub duration_minutes: Option<i64>,
    /// The organiser (training) or granting body (award); the evaluating unit otherwise.
    pub issuer: String,
    /// Evaluation rating, e.g. 优秀.
    pub rating: Option<String>,
    pub created_at: OffsetDateTime,
    pub created_by: Option<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    pub id: EntryId,
    pub entry: NewEntry,
}
