//! Mutual recognition (粤港澳记录互认): the trust registry of partner platforms, the
//! one-time challenges that bind an import to the account that asked for it, and the
//! recognitions imported from partners' signed bundles.

use time::OffsetDateTime;
use zhiyuan_domain::ids::VolunteerId;

/// A partner platform whose credentials this platform trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartner {
    pub name: String,
    /// `HK`, `MO`, `TW`, or a Mainland province's region code (`45` for Guangxi).
    pub jurisdiction: String,
    /// Where the partner is reached; the status lists of its credentials live under it.
    pub url: String,
    /// Its issuer's DID, which its bundles and credentials name.
    pub did: String,
    /// Its issuer's Ed25519 key, as a Multikey (`z6Mk…`): the only key its bundles are
    /// checked against (never one fetched from elsewhere).
    pub issuer_key: String,
    /// Its ledger's checkpoint origin and note verifier keys.
    pub log_origin: String,
    pub log_keys: Vec<String>,
    /// The recognition policy: whether hours recognised from it count toward star levels
    /// and toward incentives here.
    pub counts_toward_stars: bool,
    pub counts_toward_incentives: bool,
    /// A suspended partner's bundles are refused; what was recognised stays.
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: i64,
    pub partner: NewPartner,
    /// When it was registered or last changed (the audit entry's time).
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

/// A recognition imported from a partner's bundle. A volunteer holds at most one per
/// partner (a newer bundle replaces it, so nothing is counted twice), and a partner's
/// account is linked to at most one volunteer here.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecognition {
    pub volunteer: VolunteerId,
    pub partner: i64,
    /// The volunteer's account at the partner (its volunteer number), and their name there.
    pub partner_subject: String,
    pub partner_name: String,
    /// The partner's record certificate credential the hours come from.
    pub credential_id: String,
    pub minutes: i64,
    pub records: i64,
    /// The star level the partner certified, when the bundle carries one.
    pub star: Option<i16>,
    /// The verified bundle as received, kept for re-verification.
    pub bundle: serde_json::Value,
    pub imported_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    pub id: i64,
    pub recognition: NewRecognition,
}

/// A volunteer's recognised minutes, and the share the partners' policies count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecognisedMinutes {
    pub minutes: i64,
    pub toward_stars: i64,
    pub toward_incentives: i64,
}
