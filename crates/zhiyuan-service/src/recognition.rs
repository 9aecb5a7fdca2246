//! Mutual recognition of records (粤港澳记录互认) between platforms that trust each other.
//!
//! A province administrator keeps a trust registry of partner platforms: their issuer's
//! DID and key, their ledger's origin and keys, and the policy on counting their hours.
//! A volunteer moves their records across in three steps, which also link their two
//! accounts with their consent and without any document number changing hands:
//!
//! 1. here (the importer), they ask for a one-time challenge, bound to their account;
//! 2. at the partner (the exporter), signed in there, they ask for a bundle for this
//!    platform and that challenge: a Verifiable Presentation signed by the partner's
//!    issuer key (`domain` = this platform's DID, `challenge`), holding a fresh record
//!    certificate credential and their certified star badge, each with its ledger proof;
//! 3. here again, they upload it. Everything is checked against what the registry says of
//!    the partner (never against keys the bundle brings): the presentation's signature,
//!    domain and challenge, every credential's signature, its revocation status (fetched
//!    from the partner), its ledger inclusion proof, and that all of it is about the same
//!    account there. The challenge is spent in the same transaction that records the
//!    recognition, so a bundle counts once; a newer bundle replaces the older one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use zhiyuan_domain::access::{Grant, Principal};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::region::RegionLevel;
use zhiyuan_domain::site::parse_text;
use zhiyuan_domain::stars::StarStatus;
use zhiyuan_domain::{FieldError, Invalid, Reason};
use zhiyuan_store::ledger::LedgerKind;
use zhiyuan_store::{
    NewPartner, NewRecognition, PageRequest, Partner, RecognisedMinutes, Recognition, StarQuery,
    StoreError,
};

use crate::certificates::CertificateRequest;
use crate::credentials::{CredentialVerifier, identity_hash};
use crate::error::{Result, ServiceError};
use crate::{Ctx, Zhiyuan};

/// How long a challenge may be answered.
pub const CHALLENGE_TTL: time::Duration = time::Duration::hours(1);

/// The largest status list fetched from a partner (a 131,072-bit list is about 16 KiB
/// uncompressed, far less gzipped).
const MAX_STATUS_LIST: usize = 1 << 20;

/// Changes to a partner; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub issuer_key: Option<String>,
    pub log_keys: Option<Vec<String>>,
    pub counts_toward_stars: Option<bool>,
    pub counts_toward_incentives: Option<bool>,
    pub active: Option<bool>,
    pub reason: Option<String>,
    pub version: Option<i64>,
}

/// A challenge for a volunteer to take to a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecognitionChallenge {
    pub challenge: String,
    /// This platform's DID: the `domain` the partner's bundle must name.
    pub domain: String,
    pub expires_at: OffsetDateTime,
}

/// A volunteer's recognitions, with the partners they came from and the totals.
#[derive(Debug, Clone)]
pub struct Recognitions {
    pub totals: RecognisedMinutes,
    pub items: Vec<(Recognition, Partner)>,
}

/// Jurisdictions a partner may belong to: Hong Kong, Macau, Taiwan, or a Mainland
/// province by the first two digits of its region codes.
fn check_jurisdiction(j: &str) -> std::result::Result<(), FieldError> {
    let province = j.len() == 2
        && j.parse::<u8>()
            .is_ok_and(|n| matches!(n, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65));
    if matches!(j, "HK" | "MO" | "TW") || province {
        Ok(())
    } else {
        Err(FieldError::because(
            "jurisdiction",
            Reason::NotAJurisdiction,
        ))
    }
}

/// A DID as partners name themselves and each other (`did:web:…`).
fn is_did(s: &str) -> bool {
    s.starts_with("did:") && s.len() <= 500
}

/// Checks a partner's description, trimming its name, its origin line and its URL's final slash.
fn check_partner(p: &mut NewPartner) -> Result<()> {
    p.url = p.url.trim_end_matches('/').to_owned();
    let mut errors = Invalid::default();
    if let Some(name) = errors.check(parse_text(&p.name, 100).map_err(|e| e.at("name"))) {
        p.name = name;
    }
    errors.check(check_jurisdiction(&p.jurisdiction));
    match reqwest::Url::parse(&p.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => errors.push(FieldError::because("url", Reason::NotAUrl)),
    }
    if !is_did(&p.did) || p.did.contains('#') {
        errors.push(FieldError::because("did", Reason::NotADid));
    }
    if zhiyuan_credentials::public_key_from_multibase(&p.issuer_key).is_err() {
        let form = "Ed25519 Multikey (z6Mk…)";
        errors.push(FieldError::because("issuer_key", Reason::NotAKey { form }));
    }
    // The origin line of the partner's checkpoints: one line, compared as it is.
    match parse_text(&p.log_origin, 500) {
        Ok(line) if line.contains('\n') => {
            errors.push(FieldError::because("log_origin", Reason::ControlCharacters));
        }
        Ok(line) => p.log_origin = line,
        Err(e) => errors.push(e.at("log_origin")),
    }
    if p.log_keys.is_empty() {
        errors.push(FieldError::because("log_keys", Reason::Required));
    }
    for (i, k) in p.log_keys.iter().enumerate() {
        if zhiyuan_ledger::NoteVerifier::parse(k).is_err() {
            let form = "C2SP signed-note verifier key (name+hash+key)";
            errors.push(FieldError::because(
                format!("log_keys[{i}]"),
                Reason::NotAKey { form },
            ));
        }
    }
    Ok(errors.finish(|| ())?)
}

/// The DID of a verification method (`did:web:host#key-1` → `did:web:host`).
fn did_of(method: &str) -> &str {
    method.split_once('#').map_or(method, |(did, _)| did)
}

/// A bundle refused on `field` (under `bundle.`) for `why`.
fn bad(field: &str, why: Reason) -> ServiceError {
    ServiceError::because(format!("bundle.{field}"), why)
}

/// What an import takes from one verified record certificate credential.
struct Certified {
    id: String,
    subject: String,
    name: String,
    minutes: i64,
    records: i64,
}

impl Zhiyuan {
    /// Passes a province administrator, and returns their province (for the audit).
    fn require_province_admin(ctx: &Ctx) -> Result<Option<RegionCode>> {
        let province = |p: &Principal| {
            p.grants.iter().find_map(|g| match g {
                Grant::JurisdictionAdmin { region } if region.level() == RegionLevel::Province => {
                    Some(*region)
                }
                _ => None,
            })
        };
        ctx.require(|p| province(p).is_some())?;
        Ok(ctx.user().ok().and_then(province))
    }

    /// The trust registry, for anyone: which platforms' records are recognised here.
    pub async fn partners(&self) -> Result<Vec<Partner>> {
        Ok(self.0.store.list_partners().await?)
    }

    /// A province administrator adds a partner platform.
    pub async fn add_partner(&self, ctx: &Ctx, mut p: NewPartner) -> Result<Partner> {
        let province = Self::require_province_admin(ctx)?;
        check_partner(&mut p)?;
        let mut audit = ctx.audit("partner.add", "partner", "", province);
        audit.details = json!({ "name": p.name, "did": p.did, "jurisdiction": p.jurisdiction });
        self.0
            .store
            .insert_partner(&p, &audit)
            .await
            .map_err(Into::into)
    }

    /// A province administrator changes a partner: rotates its keys, changes the policy,
    /// suspends or reinstates it. Every change is audited with its reason.
    pub async fn update_partner(&self, ctx: &Ctx, id: i64, patch: PartnerPatch) -> Result<Partner> {
        let province = Self::require_province_admin(ctx)?;
        let mut p = self
            .0
            .store
            .get_partner(id)
            .await?
            .ok_or(ServiceError::NotFound("partner"))?;
        crate::check_version(patch.version, p.version)?;
        let reason = patch
            .reason
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| ServiceError::because("reason", Reason::Required))?;
        let mut changes = crate::ctx::Changes::default();
        let n = &mut p.partner;
        macro_rules! apply {
            ($($field:ident),*) => {$(
                if let Some(v) = patch.$field {
                    changes.note(stringify!($field), &n.$field, &v);
                    n.$field = v;
                }
            )*};
        }
        apply!(
            name,
            url,
            issuer_key,
            log_keys,
            counts_toward_stars,
            counts_toward_incentives,
            active
        );
        check_partner(n)?;
        let mut audit = ctx.audit("partner.update", "partner", id, province);
        audit.reason = Some(reason);
        audit.details = changes.into_json();
        Ok(self.0.store.update_partner(&p, &audit).await?)
    }

    /// Step 1, here: a one-time challenge for the signed-in volunteer to take to a partner.
    pub async fn recognition_challenge(&self, ctx: &Ctx) -> Result<RecognitionChallenge> {
        let volunteer = ctx.volunteer()?;
        let challenge = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        let expires_at = ctx.now + CHALLENGE_TTL;
        self.0
            .store
            .insert_recognition_challenge(&challenge, volunteer, expires_at)
            .await?;
        Ok(RecognitionChallenge {
            challenge,
            domain: self.0.config.issuer.did.clone(),
            expires_at,
        })
    }

    /// Step 2, at the exporter: the signed-in volunteer's records as a bundle for the
    /// platform `domain`, answering its `challenge`. Issues a record certificate of all
    /// their effective records (listed one by one when there are at most
    /// [`crate::certificates::MAX_LISTED`]), and adds their certified star.
    pub async fn recognition_bundle(
        &self,
        ctx: &Ctx,
        domain: &str,
        challenge: &str,
    ) -> Result<Value> {
        let volunteer = ctx.volunteer()?;
        if !is_did(domain) {
            return Err(ServiceError::because("domain", Reason::NotADid));
        }
        if !(16..=200).contains(&challenge.chars().count()) {
            let why = Reason::Length { min: 16, max: 200 };
            return Err(ServiceError::because("challenge", why));
        }
        let listed = CertificateRequest {
            list_records: true,
            ..CertificateRequest::default()
        };
        let certificate = match self.issue_certificate(ctx, listed).await {
            Err(ServiceError::Invalid(e)) if e.0.iter().any(|f| f.field == "list_records") => {
                self.issue_certificate(ctx, CertificateRequest::default())
                    .await?
            }
            other => other?,
        };
        self.await_checkpoint(LedgerKind::Certificate, certificate.id)
            .await?;
        let mut credentials = vec![
            self.certificate_credential(&certificate.certificate.number)
                .await?,
        ];
        let certified = StarQuery {
            within: None,
            volunteer: Some(volunteer),
            status: Some(StarStatus::Certified),
        };
        let stars = self
            .0
            .store
            .list_star_applications(&certified, &PageRequest::first(1))
            .await?;
        if let Some(star) = stars.items.first() {
            credentials.push(self.star_credential(ctx, star.id.0).await?);
        }
        let f = &certificate.certificate.facts;
        let issuer = &self.0.config.issuer;
        let presentation = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": format!("urn:uuid:{}", uuid_v4()),
            "type": ["VerifiablePresentation", "VolunteerRecordBundle"],
            "holder": {
                "id": format!("{}#volunteer-{}", issuer.did, f.volunteer_number),
                "type": "Volunteer",
                "volunteerNumber": f.volunteer_number,
                "name": f.name,
            },
            "verifiableCredential": credentials,
        });
        let options = zhiyuan_credentials::ProofOptions {
            created: crate::credentials::rfc3339(ctx.now),
            verification_method: issuer.key_id(),
            proof_purpose: "authentication".into(),
            challenge: Some(challenge.to_owned()),
            domain: Some(domain.to_owned()),
        };
        zhiyuan_credentials::sign(&presentation, &options, &issuer.key)
            .map_err(|e| ServiceError::Internal(format!("signing a bundle: {e}").into()))
    }

    /// Fetches a partner's status list credential; it must live under the partner's URL.
    async fn partner_status_list(&self, partner: &NewPartner, url: &str) -> Result<Value> {
        let base = format!("{}/", partner.url);
        if !url.starts_with(&base) {
            tracing::info!(url, base, "a status list not at the partner");
            return Err(bad(
                "verifiableCredential.credentialStatus",
                Reason::NoRevocationStatus,
            ));
        }
        let unavailable = |e: String| {
            ServiceError::Unavailable(format!(
                "the partner's status list {url} could not be read ({e}); try again later"
            ))
        };
        let mut response = self
            .0
            .http
            .get(url)
            .header("accept", "application/vc+ld+json, application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable(e.to_string()))?;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(e.to_string()))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_STATUS_LIST {
                return Err(unavailable("larger than 1 MiB".into()));
            }
        }
        serde_json::from_slice(&body).map_err(|e| unavailable(e.to_string()))
    }

    /// Checks one credential of a bundle: issued by the partner, signed by its registered
    /// key, not revoked (its status list, fetched from the partner), in the partner's log.
    async fn check_partner_credential(
        &self,
        partner: &NewPartner,
        key: &ed25519_dalek::VerifyingKey,
        credential: &Value,
        at: usize,
    ) -> Result<()> {
        let field = format!("verifiableCredential[{at}]");
        let issuer = credential["issuer"]["id"]
            .as_str()
            .or_else(|| credential["issuer"].as_str());
        if issuer != Some(partner.did.as_str()) {
            // Not issued by the platform that signed the bundle.
            return Err(bad(&field, Reason::UntrustedPartner));
        }
        let status = match credential["credentialStatus"]["statusListCredential"].as_str() {
            Some(url) => Some(self.partner_status_list(partner, url).await?),
            None => return Err(bad(&field, Reason::NoRevocationStatus)),
        };
        let trusted = (partner.log_origin.as_str(), partner.log_keys.as_slice());
        let check = CredentialVerifier::default()
            .check_against(credential, key, status.as_ref(), Some(trusted))
            .map_err(|e| {
                tracing::info!(error = %e, "a partner's credential does not verify");
                bad(&field, Reason::SignatureInvalid)
            })?;
        if check.revoked != Some(false) {
            return Err(bad(&field, Reason::RevokedByPartner));
        }
        if check.ledger.is_empty() {
            return Err(bad(&field, Reason::NotInLedger));
        }
        Ok(())
    }

    /// Step 3, here: the signed-in volunteer imports a partner's bundle. See the module
    /// documentation for what is checked; any failure names what failed and records
    /// nothing.
    pub async fn import_recognition(
        &self,
        ctx: &Ctx,
        bundle: Value,
    ) -> Result<(Recognition, Partner)> {
        let v = self.signed_in_volunteer(ctx).await?;
        let (volunteer, residence) = (v.id, v.profile.residence_region);
        let types = bundle["type"].as_array().map_or(&[][..], Vec::as_slice);
        if !types.iter().any(|t| t == "VolunteerRecordBundle") {
            return Err(bad("type", Reason::NotABundle));
        }
        let method = bundle["proof"]["verificationMethod"]
            .as_str()
            .ok_or_else(|| bad("proof", Reason::NotABundle))?;
        let did = did_of(method);
        let partner = self
            .0
            .store
            .partner_by_did(did)
            .await?
            .ok_or_else(|| bad("proof.verificationMethod", Reason::UntrustedPartner))?;
        let p = &partner.partner;
        if !p.active {
            return Err(bad(
                "proof.verificationMethod",
                Reason::PartnerSuspended {
                    partner: p.name.clone(),
                },
            ));
        }
        let key = zhiyuan_credentials::public_key_from_multibase(&p.issuer_key)
            .map_err(|e| ServiceError::Internal(format!("partner {}: {e}", partner.id).into()))?;
        zhiyuan_credentials::verify(&bundle, &key).map_err(|e| {
            tracing::info!(error = %e, partner = partner.id, "a bundle does not verify");
            bad("proof", Reason::SignatureInvalid)
        })?;
        if bundle["proof"]["proofPurpose"] != "authentication" {
            // A bundle is signed for authentication.
            return Err(bad("proof.proofPurpose", Reason::NotABundle));
        }
        let me = &self.0.config.issuer.did;
        if bundle["proof"]["domain"].as_str() != Some(me.as_str()) {
            return Err(bad("proof.domain", Reason::MadeForAnother));
        }
        let challenge = bundle["proof"]["challenge"]
            .as_str()
            .ok_or_else(|| bad("proof.challenge", Reason::NotABundle))?
            .to_owned();
        let credentials = bundle["verifiableCredential"]
            .as_array()
            .ok_or_else(|| bad("verifiableCredential", Reason::NotABundle))?;
        let holder = bundle["holder"]["volunteerNumber"]
            .as_str()
            .ok_or_else(|| bad("holder.volunteerNumber", Reason::NotABundle))?;
        let mut certified: Option<Certified> = None;
        let mut star = None;
        for (at, c) in credentials.iter().enumerate() {
            let types = c["type"].as_array().map_or(&[][..], Vec::as_slice);
            let field = format!("verifiableCredential[{at}]");
            if types
                .iter()
                .any(|t| t == "VolunteerServiceRecordCredential")
            {
                if certified.is_some() {
                    // A bundle holds one record certificate.
                    return Err(bad(&field, Reason::NotABundle));
                }
                self.check_partner_credential(p, &key, c, at).await?;
                let s = &c["credentialSubject"];
                let number = |v: &Value, what: &str| {
                    v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
                        let field = format!("{field}.credentialSubject.{what}");
                        bad(&field, Reason::AtLeast { min: 0 })
                    })
                };
                certified = Some(Certified {
                    id: c["id"].as_str().unwrap_or_default().to_owned(),
                    subject: s["volunteerNumber"].as_str().unwrap_or_default().to_owned(),
                    name: s["name"].as_str().unwrap_or_default().to_owned(),
                    minutes: number(&s["serviceMinutes"], "serviceMinutes")?,
                    records: number(&s["records"], "records")?,
                });
            } else if types.iter().any(|t| t == "OpenBadgeCredential") {
                self.check_partner_credential(p, &key, c, at).await?;
                // The badge names its holder by a salted hash of their number.
                let id = &c["credentialSubject"]["identifier"][0];
                let salt = id["salt"].as_str().unwrap_or_default();
                if id["identityHash"].as_str() != Some(&identity_hash(holder, salt)) {
                    return Err(bad(&field, Reason::AboutSomeoneElse));
                }
                star = c["evidence"][0]["content"]["star"].as_i64();
            } else {
                // Neither a record certificate nor a star badge.
                return Err(bad(&field, Reason::NotABundle));
            }
        }
        let certified = certified.ok_or_else(|| bad("verifiableCredential", Reason::NotABundle))?;
        if certified.subject != holder {
            return Err(bad(
                "verifiableCredential[0].credentialSubject.volunteerNumber",
                Reason::AboutSomeoneElse,
            ));
        }
        let mut audit = ctx.audit("recognition.import", "recognition", "", Some(residence));
        audit.details = json!({
            "partner": partner.id,
            "credential": certified.id,
            "minutes": certified.minutes,
            "records": certified.records,
        });
        let recognition = self
            .0
            .store
            .import_recognition(
                &NewRecognition {
                    volunteer,
                    partner: partner.id,
                    partner_subject: certified.subject,
                    partner_name: certified.name,
                    credential_id: certified.id,
                    minutes: certified.minutes,
                    records: certified.records,
                    star: star.and_then(|s| i16::try_from(s).ok()),
                    bundle,
                    imported_at: ctx.now,
                },
                &challenge,
                &audit,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "challenge" } => {
                    ServiceError::conflict_because("bundle.proof.challenge", Reason::ChallengeStale)
                }
                StoreError::Conflict {
                    field: "partner_subject",
                } => ServiceError::conflict_because(
                    "bundle.holder",
                    Reason::AccountLinkedElsewhere {
                        partner: p.name.clone(),
                    },
                ),
                StoreError::Conflict { field: "partner" } => ServiceError::conflict_because(
                    "bundle.holder",
                    Reason::AlreadyLinked {
                        partner: p.name.clone(),
                    },
                ),
                other => other.into(),
            })?;
        Ok((recognition, partner))
    }

    /// A volunteer's profile with the minutes recognised from partners, for those who may
    /// read it.
    pub async fn volunteer_profile(
        &self,
        ctx: &Ctx,
        number: zhiyuan_domain::volunteer_number::VolunteerNumber,
    ) -> Result<(zhiyuan_store::VolunteerRecord, RecognisedMinutes)> {
        let v = self.get_volunteer(ctx, number).await?;
        let recognised = self.0.store.recognised_minutes(v.id).await?;
        Ok((v, recognised))
    }

    /// A volunteer's recognitions, for them and those who may read their record.
    pub async fn recognitions(
        &self,
        ctx: &Ctx,
        number: zhiyuan_domain::volunteer_number::VolunteerNumber,
    ) -> Result<Recognitions> {
        let v = self.get_volunteer(ctx, number).await?;
        let store = &self.0.store;
        let (totals, items, partners) = tokio::try_join!(
            store.recognised_minutes(v.id),
            store.list_recognitions(v.id),
            store.list_partners(),
        )?;
        let items = items
            .into_iter()
            .filter_map(|r| {
                let p = partners.iter().find(|p| p.id == r.recognition.partner)?;
                Some((r, p.clone()))
            })
            .collect();
        Ok(Recognitions { totals, items })
    }

    /// The signed-in volunteer withdraws a recognition, and so their consent to the link.
    pub async fn withdraw_recognition(
        &self,
        ctx: &Ctx,
        id: i64,
        reason: Option<String>,
    ) -> Result<()> {
        let v = self.signed_in_volunteer(ctx).await?;
        let (volunteer, residence) = (v.id, v.profile.residence_region);
        let mut audit = ctx.audit("recognition.withdraw", "recognition", id, Some(residence));
        audit.reason = reason;
        self.0
            .store
            .delete_recognition(volunteer, id, &audit)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("recognition"),
                other => other.into(),
            })
    }
}

/// A random (version 4) UUID.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jurisdictions_are_hong_kong_macau_taiwan_or_a_province() {
        for ok in ["HK", "MO", "TW", "45", "11", "65", "50"] {
            assert!(check_jurisdiction(ok).is_ok(), "{ok}");
        }
        for bad in ["hk", "CN", "4", "440000", "10", "70", "66", ""] {
            assert!(check_jurisdiction(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_verification_method_names_its_did() {
        assert_eq!(did_of("did:web:hk.example#key-1"), "did:web:hk.example");
        assert_eq!(did_of("did:web:hk.example"), "did:web:hk.example");
    }

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(u, uuid_v4());
    }
}
