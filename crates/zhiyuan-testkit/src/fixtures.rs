//! Builders for valid test data.

use serde_json::{Value, json};
use time::OffsetDateTime;
use zhiyuan_domain::document::DocumentKind;
use zhiyuan_domain::document::resident_check_char;
use zhiyuan_domain::person::Gender;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{NewVolunteer, SealedDocument, VolunteerProfile};

/// A valid 18-digit resident number for region `region6`, birth date `yyyymmdd` and a
/// 3-digit sequence (odd: male, even: female).
pub fn resident_id(region6: &str, yyyymmdd: &str, seq: u16) -> String {
    let mut digits = format!("{region6}{yyyymmdd}{seq:03}").into_bytes();
    digits.push(resident_check_char(&digits));
    String::from_utf8(digits).expect("ascii")
}

/// A registration body; every field valid unless changed.
#[derive(Debug, Clone)]
pub struct VolunteerBuilder {
    pub body: Value,
}

impl VolunteerBuilder {
    /// An adult man living in `residence`, with a document unique to `seq`.
    pub fn new(residence: &str, seq: u16) -> Self {
        let birth = "19900101";
        Self {
            body: json!({
                "name": "陈测试",
                "gender": if seq % 2 == 1 { "male" } else { "female" },
                "birth_date": "1990-01-01",
                "id_document": {"type": "mainland_id", "number": resident_id("440106", birth, seq)},
                "residence_region": residence,
                "phone": "13800138000",
                "skills": ["急救"],
                "service_categories": ["community"],
                "password": "volunteer-pass",
                "privacy_consent_version": "2026-01"
            }),
        }
    }

    /// Sets a top-level field.
    pub fn with(mut self, field: &str, value: Value) -> Self {
        self.body[field] = value;
        self
    }

    /// Removes a top-level field.
    pub fn without(mut self, field: &str) -> Self {
        if let Some(map) = self.body.as_object_mut() {
            map.remove(field);
        }
        self
    }

    /// Changes birth date and document together, keeping them consistent.
    pub fn born(mut self, yyyy_mm_dd: &str, seq: u16) -> Self {
        self.body["birth_date"] = json!(yyyy_mm_dd);
        self.body["gender"] = json!(if seq % 2 == 1 { "male" } else { "female" });
        self.body["id_document"]["number"] =
            json!(resident_id("440106", &yyyy_mm_dd.replace('-', ""), seq));
        self
    }
}

/// A volunteer row; `n` makes the number and the document fingerprint unique.
pub fn volunteer_row(n: u64, region: &str) -> NewVolunteer {
    NewVolunteer {
        number: VolunteerNumber::from_index(n, 99),
        gender: Gender::Female,
        birth_date: time::macros::date!(1990 - 01 - 01),
        document: SealedDocument {
            kind: DocumentKind::MainlandId,
            country: None,
            ciphertext: vec![1, 2, 3, n as u8],
            identity_hmac: n.to_be_bytes().to_vec(),
            masked: "4401**********0000".into(),
        },
        profile: VolunteerProfile {
            name: format!("志愿者{n}"),
            residence_region: RegionCode::parse(region).expect("region code"),
            phone: "13800138000".into(),
            skills: vec!["急救".into()],
            service_categories: vec![zhiyuan_domain::category::ServiceCategory::Health],
            service: None,
        },
        guardian: None,
        privacy_consent_version: "2026-01".into(),
        registered_at: OffsetDateTime::now_utc(),
        password_hash: Some("$argon2id$fake".into()),
    }
}
