//! What the tamper-evident ledger commits to, and how: shared by both backends (which
//! write an entry in the same transaction as the change it certifies) and by the audit
//! that recomputes every entry from the rows.
//!
//! A log entry is a 32-byte **commitment**, SHA-256(salt ‖ content), where content is the
//! RFC 8785 canonical JSON of the certified facts (ids, dates, minutes; no names and no
//! document numbers) and the salt is 32 random bytes kept only in the database and given
//! only to the record's holder. The public log therefore carries no personal data, and
//! nobody can test guesses against it.

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zhiyuan_ledger::Hash;

use crate::{CertificateRecord, NewRecord, RecordId, RecordStatus, StarApplication};

/// What an entry certifies. The number is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LedgerKind {
    /// A service record (or a corrected version of one) that counts.
    Record = 1,
    /// A star level certified.
    Star = 2,
    /// A certified star level revoked.
    StarRevocation = 3,
    /// A record certificate issued.
    Certificate = 4,
    /// A record certificate revoked.
    CertificateRevocation = 5,
}

impl LedgerKind {
    pub const ALL: [Self; 5] = [
        Self::Record,
        Self::Star,
        Self::StarRevocation,
        Self::Certificate,
        Self::CertificateRevocation,
    ];

    pub fn as_i64(self) -> i64 {
        self as i64
    }

    pub fn from_i64(n: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_i64() == n)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::Star => "star",
            Self::StarRevocation => "star-revocation",
            Self::Certificate => "certificate",
            Self::CertificateRevocation => "certificate-revocation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An entry as written: what it certifies, its secret salt and its public commitment.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedEntry {
    pub kind: LedgerKind,
    pub subject: i64,
    pub salt: [u8; 32],
    pub commitment: Hash,
}

impl std::fmt::Debug for SealedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedEntry")
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl SealedEntry {
    /// Seals `content` under a fresh random salt.
    pub fn seal(kind: LedgerKind, subject: i64, content: &[u8]) -> Self {
        let mut salt = [0; 32];
        rand::thread_rng().fill_bytes(&mut salt);
        Self {
            kind,
            subject,
            commitment: commit(&salt, content),
            salt,
        }
    }
}

/// SHA-256(salt ‖ content): the log entry.
pub fn commit(salt: &[u8], content: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(content);
    h.finalize().into()
}

/// An entry as stored, with its place in the log once integrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: i64,
    pub sealed: SealedEntry,
    /// The leaf index, once the sequencer has integrated the entry.
    pub seq: Option<u64>,
    pub created_at: OffsetDateTime,
}

/// The stored tree: how many leaves it has and its root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerTree {
    pub size: u64,
    pub root: Hash,
}

/// One integration step: the tree after it, and how many entries it added (0 when
/// nothing waited, or another app server was integrating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integration {
    pub tree: LedgerTree,
    pub added: u64,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: String,
    pub signed_at: OffsetDateTime,
}

/// One subject as the audit sees it: whether its row exists, the content the row says
/// now (`None` when it no longer qualifies, e.g. a logged record no longer effective),
/// and the entry written for it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectCheck {
    pub subject: i64,
    pub exists: bool,
    pub content: Option<Vec<u8>>,
    pub entry: Option<LedgerEntry>,
}

/// A page of the audit's walk over one kind's subjects, in subject order: every row that
/// qualifies or has an entry, and every entry whose row is gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectPage {
    pub checks: Vec<SubjectCheck>,
    /// Where the next page starts (`None` at the end).
    pub next: Option<i64>,
}

impl SubjectPage {
    /// Pairs a page of rows (`(id, content)` in id order, `limit` asked for) with the
    /// entries of their kind whose subject lies in [`SubjectPage::entry_range`].
    pub fn pair(
        limit: u32,
        rows: Vec<(i64, Option<Vec<u8>>)>,
        mut entries: std::collections::BTreeMap<i64, LedgerEntry>,
    ) -> Self {
        let full = rows.len() >= limit as usize;
        let next = if full { rows.last().map(|r| r.0) } else { None };
        let mut checks = Vec::new();
        for (subject, content) in rows {
            // Entries for subjects between rows belong to deleted rows.
            while let Some(e) = entries.first_entry().filter(|e| *e.key() < subject) {
                let entry = e.remove();
                checks.push(SubjectCheck {
                    subject: entry.sealed.subject,
                    exists: false,
                    content: None,
                    entry: Some(entry),
                });
            }
            let entry = entries.remove(&subject);
            if content.is_some() || entry.is_some() {
                checks.push(SubjectCheck {
                    subject,
                    exists: true,
                    content,
                    entry,
                });
            }
        }
        checks.extend(entries.into_values().map(|entry| SubjectCheck {
            subject: entry.sealed.subject,
            exists: false,
            content: None,
            entry: Some(entry),
        }));
        Self { checks, next }
    }

    /// The subject ids (exclusive, inclusive) whose entries [`SubjectPage::pair`] needs
    /// for a page of rows read after `after`: up to the last row, or without end on the
    /// last page.
    pub fn entry_range(after: i64, limit: u32, rows: &[(i64, Option<Vec<u8>>)]) -> (i64, i64) {
        match rows.last() {
            Some(last) if rows.len() >= limit as usize => (after, last.0),
            _ => (after, i64::MAX),
        }
    }
}

fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// A service record's certified facts. Fields are declared in RFC 8785 order (sorted),
/// and hold only strings, integers and nulls, so serde_json's compact output is the
/// canonical form (a test checks this against a canonicaliser).
#[derive(Serialize)]
struct RecordFacts<'a> {
    activity: &'a str,
    content: &'a str,
    date: String,
    id: i64,
    kind: &'static str,
    minutes: i64,
    org: i64,
    origin: Option<i64>,
    place: &'a str,
    project: Option<i64>,
    recorded_at_us: i64,
    responsible: &'a str,
    revision: i64,
    shift: Option<i64>,
    source: &'a str,
    volunteer: i64,
}

/// The canonical content of record `id` (a version `revision` of `origin`); `None` unless
/// it is effective (only records that count are logged).
pub fn record_content(
    id: RecordId,
    origin: Option<RecordId>,
    revision: i64,
    r: &NewRecord,
) -> Option<Vec<u8>> {
    if r.status != RecordStatus::Effective {
        return None;
    }
    let facts = RecordFacts {
        activity: &r.activity_name,
        content: &r.content,
        date: r.service_date.to_string(),
        id: id.0,
        kind: LedgerKind::Record.as_str(),
        minutes: r.minutes,
        org: r.org.0,
        origin: origin.map(|o| o.0),
        place: &r.place,
        project: r.project.map(|p| p.0),
        recorded_at_us: micros(r.created_at),
        responsible: &r.responsible_person,
        revision,
        shift: r.shift.map(|s| s.0),
        source: r.source.as_str(),
        volunteer: r.volunteer.0,
    };
    serde_json::to_vec(&facts).ok()
}

/// RFC 8785 canonical JSON of any value (objects' keys sorted at every depth).
fn canonical(value: &serde_json::Value) -> Option<Vec<u8>> {
    serde_json_canonicalizer::to_vec(value).ok()
}

/// A star certification's facts: `None` unless the application is certified (or was,
/// and has since been revoked).
pub fn star_content(a: &StarApplication) -> Option<Vec<u8>> {
    use zhiyuan_domain::stars::StarStatus;
    if !matches!(a.status, StarStatus::Certified | StarStatus::Revoked) {
        return None;
    }
    canonical(&serde_json::json!({
        "kind": LedgerKind::Star.as_str(),
        "application": a.id.0,
        "volunteer": a.application.volunteer.0,
        "star": a.application.star,
        "label": a.application.label,
        "certifier": a.application.certifier.as_i64(),
        "minutes": a.application.minutes,
        "applied_at_us": micros(a.application.applied_at),
    }))
}

/// A star revocation's facts: `None` unless the application is revoked.
pub fn star_revocation_content(a: &StarApplication) -> Option<Vec<u8>> {
    if a.status != zhiyuan_domain::stars::StarStatus::Revoked {
        return None;
    }
    canonical(&serde_json::json!({
        "kind": LedgerKind::StarRevocation.as_str(),
        "application": a.id.0,
        "volunteer": a.application.volunteer.0,
        "star": a.application.star,
        "revoked_at_us": a.decided_at.map(micros),
    }))
}

/// A certificate's facts as issued (its number and what it certifies; the holder's name
/// is part of the facts, but the log carries only the salted commitment).
pub fn certificate_content(c: &CertificateRecord) -> Option<Vec<u8>> {
    canonical(&serde_json::json!({
        "kind": LedgerKind::Certificate.as_str(),
        "id": c.id,
        "number": c.certificate.number,
        "volunteer": c.certificate.volunteer.0,
        "facts": c.certificate.facts,
        "issued_at_us": micros(c.certificate.issued_at),
    }))
}

/// A certificate revocation's facts: `None` unless the certificate is revoked.
pub fn certificate_revocation_content(c: &CertificateRecord) -> Option<Vec<u8>> {
    let at = c.revoked_at?;
    canonical(&serde_json::json!({
        "kind": LedgerKind::CertificateRevocation.as_str(),
        "id": c.id,
        "number": c.certificate.number,
        "revoked_at_us": micros(at),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ProjectId, RecordSource, ShiftId};
    use proptest::prelude::*;
    use zhiyuan_domain::ids::{OrgId, VolunteerId};

    fn record(name: String, place: String, minutes: i64) -> NewRecord {
        NewRecord {
            volunteer: VolunteerId(7),
            org: OrgId(3),
            project: Some(ProjectId(11)),
            shift: None,
            activity_name: name,
            service_date: time::macros::date!(2026 - 11 - 20),
            place,
            content: "清洁\n\"河涌\"".into(),
            minutes,
            responsible_person: "李四".into(),
            source: RecordSource::Entry,
            status: RecordStatus::Effective,
            flags: vec![],
            dedupe_key: None,
            created_at: time::macros::datetime!(2026-11-20 10:00:00.123456 UTC),
            created_by: None,
        }
    }

    proptest! {
        #[test]
        fn record_content_is_rfc_8785_canonical(
            name in "\\PC{0,20}", place in "[\\x00-\\x7f\u{2028}中文]{0,12}", minutes in -1000i64..100_000,
        ) {
            let r = record(name, place, minutes);
            let bytes = record_content(RecordId(42), Some(RecordId(40)), 2, &r).unwrap();
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            prop_assert_eq!(bytes, serde_json_canonicalizer::to_vec(&value).unwrap());
        }
    }

    #[test]
    fn only_effective_records_have_content_and_every_fact_changes_it() {
        let r = record("河涌清洁".into(), "荔湾".into(), 90);
        let base = record_content(RecordId(1), None, 1, &r).unwrap();
        let mut pending = r.clone();
        pending.status = RecordStatus::Pending;
        assert_eq!(record_content(RecordId(1), None, 1, &pending), None);
        let mut longer = r.clone();
        longer.minutes = 91;
        assert_ne!(record_content(RecordId(1), None, 1, &longer).unwrap(), base);
        let mut elsewhere = r.clone();
        elsewhere.shift = Some(ShiftId(1));
        assert_ne!(
            record_content(RecordId(1), None, 1, &elsewhere).unwrap(),
            base
        );
        assert_ne!(record_content(RecordId(2), None, 1, &r).unwrap(), base);
        // Operational fields are not certified facts.
        let mut flagged = r.clone();
        flagged.flags = vec!["capped".into()];
        flagged.dedupe_key = Some("k".into());
        assert_eq!(
            record_content(RecordId(1), None, 1, &flagged).unwrap(),
            base
        );
    }

    #[test]
    fn the_same_content_seals_to_different_commitments() {
        let a = SealedEntry::seal(LedgerKind::Record, 1, b"{}");
        let b = SealedEntry::seal(LedgerKind::Record, 1, b"{}");
        assert_ne!(a.commitment, b.commitment);
        assert_eq!(commit(&a.salt, b"{}"), a.commitment);
        assert!(!format!("{a:?}").contains("salt"));
    }
}
