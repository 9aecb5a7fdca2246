//! Volunteer registration (Art. 5 and 6): everything that decides whether a registration
//! is acceptable without touching storage. Region existence and duplicate documents are
//! checked by the service, which has the database.

use time::{Date, OffsetDateTime, format_description::well_known::Rfc3339};

use crate::category::{ServiceCategory, parse_categories, parse_skills};
use crate::clock::age_on;
use crate::document::{DocumentKind, IdDocument};
use crate::person::{Gender, parse_person_name, parse_phone};
use crate::region::RegionCode;
use crate::site::parse_text;
use crate::{FieldError, Invalid, Reason};

/// The youngest age at which anyone may register (Youth League rule).
pub const MIN_AGE: i32 = 14;
/// Below this age a guardian's consent is required.
pub const ADULT_AGE: i32 = 18;

/// Registration input as received, before validation.
#[derive(Debug, Clone, Default)]
pub struct RegistrationDraft<'a> {
    pub name: &'a str,
    pub gender: &'a str,
    pub birth_date: &'a str,
    pub document_kind: &'a str,
    pub document_number: &'a str,
    pub document_country: Option<&'a str>,
    pub residence_region: &'a str,
    pub phone: &'a str,
    pub skills: &'a [String],
    pub service_categories: &'a [String],
    pub password: &'a str,
    pub privacy_consent_version: &'a str,
    pub guardian: Option<GuardianDraft<'a>>,
}

/// A guardian's details as received.
#[derive(Debug, Clone, Default)]
pub struct GuardianDraft<'a> {
    pub name: &'a str,
    pub phone: &'a str,
    pub consented_at: &'a str,
}

/// A minor's guardian and the moment they consented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardian {
    pub name: String,
    pub phone: String,
    pub consented_at: OffsetDateTime,
}

/// A registration that passed every rule that needs no storage.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub gender: Gender,
    pub birth_date: Date,
    pub document: IdDocument,
    pub residence_region: RegionCode,
    pub phone: String,
    pub skills: Vec<String>,
    pub service_categories: Vec<ServiceCategory>,
    pub password: String,
    pub privacy_consent_version: String,
    pub guardian: Option<Guardian>,
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(input: &str) -> Result<Date, FieldError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(input.trim(), &format).map_err(|_| FieldError::because("", Reason::NotIsoDate))
}

/// Parses an RFC 3339 timestamp.
pub fn parse_timestamp(input: &str) -> Result<OffsetDateTime, FieldError> {
    OffsetDateTime::parse(input.trim(), &Rfc3339)
        .map_err(|_| FieldError::because("", Reason::NotATime))
}

/// Checks a password's length: 8 to 128 characters.
pub fn check_password(password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if !(8..=128).contains(&n) {
        return Err(FieldError::because(
            "password",
            Reason::PasswordLength { min: 8, max: 128 },
        ));
    }
    Ok(())
}

fn at<T>(field: &str, r: Result<T, FieldError>) -> Result<T, FieldError> {
    r.map_err(|e| e.under(field))
}

impl Registration {
    /// Validates a draft as of instant `now`, collecting every field error at once.
    pub fn validate(d: &RegistrationDraft<'_>, now: OffsetDateTime) -> Result<Self, Invalid> {
        let today = crate::clock::china_date(now);
        let mut errors = Invalid::default();
        let name = errors.check(at("name", parse_person_name(d.name)));
        let gender = errors.check(Gender::parse(d.gender).ok_or_else(|| {
            FieldError::because("gender", Reason::one_of(&Gender::ALL.map(Gender::as_str)))
        }));
        let birth_date = errors.check(at("birth_date", parse_date(d.birth_date)));
        let document = errors.check(
            DocumentKind::parse(d.document_kind)
                .ok_or_else(|| {
                    FieldError::because(
                        "type",
                        Reason::one_of(&DocumentKind::ALL.map(DocumentKind::as_str)),
                    )
                })
                .and_then(|kind| IdDocument::parse(kind, d.document_number, d.document_country))
                .map_err(|e| e.under("id_document")),
        );
        let residence_region = errors.check(at(
            "residence_region",
            RegionCode::parse(d.residence_region),
        ));
        let phone = errors.check(at("phone", parse_phone(d.phone)));
        let skills = errors.check(at("skills", parse_skills(d.skills)));
        let service_categories = errors.check(at(
            "service_categories",
            parse_categories(d.service_categories),
        ));
        errors.check(check_password(d.password));
        // The version of the privacy policy the volunteer accepted.
        let consent = errors.check(at(
            "privacy_consent_version",
            parse_text(d.privacy_consent_version, 32),
        ));

        // Cross-field rules: the document's own facts, then age.
        if let (Some(doc), Some(birth), Some(gender)) = (&document, birth_date, gender)
            && let Some(facts) = doc.embedded_facts()
        {
            if facts.birth_date != birth {
                errors.push(FieldError::because(
                    "birth_date",
                    Reason::BirthDateNotDocuments,
                ));
            }
            if facts.gender != gender {
                errors.push(FieldError::because("gender", Reason::GenderNotDocuments));
            }
        }
        let mut guardian = None;
        if let Some(birth) = birth_date {
            let age = age_on(birth, today);
            if birth > today || age > 120 {
                errors.push(FieldError::because(
                    "birth_date",
                    Reason::ImplausibleBirthDate,
                ));
            } else if age < MIN_AGE {
                errors.push(FieldError::because(
                    "birth_date",
                    Reason::TooYoung { min: MIN_AGE },
                ));
            } else if age < ADULT_AGE {
                match &d.guardian {
                    None => errors.push(FieldError::because("guardian", Reason::GuardianNeeded)),
                    Some(g) => {
                        guardian =
                            errors.check(Self::guardian(g, now).map_err(|e| e.under("guardian")))
                    }
                }
            }
        }

        errors.finish(|| Registration {
            name: name.unwrap_or_default(),
            gender: gender.unwrap_or(Gender::Female),
            birth_date: birth_date.unwrap_or(today),
            document: document.unwrap_or_else(|| unreachable!("checked")),
            residence_region: residence_region.unwrap_or_else(|| unreachable!("checked")),
            phone: phone.unwrap_or_default(),
            skills: skills.unwrap_or_default(),
            service_categories: service_categories.unwrap_or_default(),
            password: d.password.to_owned(),
            privacy_consent_version: consent.unwrap_or_default(),
            guardian,
        })
    }

    fn guardian(g: &GuardianDraft<'_>, now: OffsetDateTime) -> Result<Guardian, FieldError> {
        let name = at("name", parse_person_name(g.name))?;
        let phone = at("phone", parse_phone(g.phone))?;
        let consented_at = at("consented_at", parse_timestamp(g.consented_at))?;
        if consented_at > now + time::Duration::minutes(5) {
            return Err(FieldError::because("consented_at", Reason::InTheFuture));
        }
        Ok(Guardian {
            name,
            phone,
            consented_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::resident_check_char;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 +08:00);

    fn resident_number(birth: &str, seq: &str) -> String {
        let mut n = format!("440106{birth}{seq}").into_bytes();
        n.push(resident_check_char(&n));
        String::from_utf8(n).unwrap()
    }

    fn fields(e: &Invalid) -> Vec<&str> {
        e.0.iter().map(|f| f.field.as_str()).collect()
    }

    fn with<R>(
        number: &str,
        birth: &str,
        gender: &str,
        f: impl FnOnce(RegistrationDraft<'_>) -> R,
    ) -> R {
        let skills = vec!["急救".to_owned()];
        let cats = vec!["health".to_owned()];
        f(RegistrationDraft {
            name: "陈小明",
            gender,
            birth_date: birth,
            document_kind: "mainland_id",
            document_number: number,
            residence_region: "440106",
            phone: "13800138000",
            skills: &skills,
            service_categories: &cats,
            password: "correct horse",
            privacy_consent_version: "2026-01",
            ..Default::default()
        })
    }

    #[test]
    fn an_adult_with_a_consistent_document_registers() {
        let n = resident_number("19900101", "123");
        let r = with(&n, "1990-01-01", "male", |d| {
            Registration::validate(&d, NOW)
        })
        .unwrap();
        assert_eq!(r.residence_region.to_string(), "440106");
        assert!(r.guardian.is_none());
    }

    #[test]
    fn a_birth_date_or_gender_that_contradicts_the_document_is_named() {
        let n = resident_number("19900101", "123");
        let e = with(&n, "1990-01-02", "female", |d| {
            Registration::validate(&d, NOW)
        })
        .unwrap_err();
        assert_eq!(fields(&e), ["birth_date", "gender"]);
    }

    #[test]
    fn under_fourteen_is_refused() {
        let n = resident_number("20130101", "123");
        let e = with(&n, "2013-01-01", "male", |d| {
            Registration::validate(&d, NOW)
        })
        .unwrap_err();
        assert_eq!(fields(&e), ["birth_date"]);
        assert!(e.0[0].reason.contains("14"));
    }

    #[test]
    fn a_minor_needs_a_guardian() {
        let n = resident_number("20100101", "123");
        let e = with(&n, "2010-01-01", "male", |d| {
            Registration::validate(&d, NOW)
        })
        .unwrap_err();
        assert_eq!(fields(&e), ["guardian"]);
        let r = with(&n, "2010-01-01", "male", |mut d| {
            d.guardian = Some(GuardianDraft {
                name: "陈大明",
                phone: "13900139000",
                consented_at: "2026-11-20T10:00:00+08:00",
            });
            Registration::validate(&d, NOW)
        })
        .unwrap();
        assert_eq!(r.guardian.unwrap().name, "陈大明");
    }

    #[test]
    fn every_broken_field_is_reported_at_once() {
        let e = Registration::validate(
            &RegistrationDraft {
                document_kind: "library_card",
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            fields(&e),
            [
                "name",
                "gender",
                "birth_date",
                "id_document.type",
                "residence_region",
                "phone",
                "password",
                "privacy_consent_version"
            ]
        );
    }
}
