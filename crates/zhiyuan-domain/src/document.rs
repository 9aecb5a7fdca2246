//! Identity documents accepted at registration, with their check rules.
//!
//! A parsed [`IdDocument`] holds the normalised number. It is never shown or logged as such:
//! callers display [`IdDocument::masked`], store the number encrypted, and detect duplicates
//! with a keyed hash of [`IdDocument::identity_key`], which identifies the *person*
//! (for a Mainland Travel Permit, only the first 9 characters survive a renewal).

use std::fmt;

use time::{Date, Month};

use crate::lang::Lang;
use crate::person::Gender;
use crate::{FieldError, Reason};

/// The kinds of identity document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// 居民身份证 (GB 11643), 18 characters.
    MainlandId,
    /// 港澳台居民居住证, 18 characters with region 810000, 820000 or 830000.
    ResidencePermit,
    /// 港澳居民来往内地通行证 (回乡证): H/M + 8 digits + optional 2-digit renewal count.
    TravelPermit,
    /// 香港身份证, e.g. `A123456(3)`.
    HkId,
    /// 澳门居民身份证, e.g. `1234567(8)`.
    MacauId,
    /// A foreign passport: issuing country (ISO 3166-1 alpha-3) and number.
    Passport,
}

impl DocumentKind {
    pub const ALL: [Self; 6] = [
        Self::MainlandId,
        Self::ResidencePermit,
        Self::TravelPermit,
        Self::HkId,
        Self::MacauId,
        Self::Passport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MainlandId => "mainland_id",
            Self::ResidencePermit => "residence_permit",
            Self::TravelPermit => "travel_permit",
            Self::HkId => "hk_id",
            Self::MacauId => "macau_id",
            Self::Passport => "passport",
        }
    }

    /// The document's name as printed on certificates, in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::MainlandId, Lang::ZhHans) => "居民身份证",
            (Self::MainlandId, Lang::ZhHk) => "居民身份證",
            (Self::MainlandId, Lang::En) => "Resident Identity Card",
            (Self::ResidencePermit, Lang::ZhHans) => "港澳台居民居住证",
            (Self::ResidencePermit, Lang::ZhHk) => "港澳台居民居住證",
            (Self::ResidencePermit, Lang::En) => {
                "Residence Permit for Hong Kong, Macao and Taiwan Residents"
            }
            (Self::TravelPermit, Lang::ZhHans) => "港澳居民来往内地通行证",
            (Self::TravelPermit, Lang::ZhHk) => "港澳居民來往內地通行證",
            (Self::TravelPermit, Lang::En) => {
                "Mainland Travel Permit for Hong Kong and Macao Residents"
            }
            (Self::HkId, Lang::ZhHans) => "香港居民身份证",
            (Self::HkId, Lang::ZhHk) => "香港居民身份證",
            (Self::HkId, Lang::En) => "Hong Kong Identity Card",
            (Self::MacauId, Lang::ZhHans) => "澳门居民身份证",
            (Self::MacauId, Lang::ZhHk) => "澳門居民身份證",
            (Self::MacauId, Lang::En) => "Macao Resident Identity Card",
            (Self::Passport, Lang::ZhHans) => "外国护照",
            (Self::Passport, Lang::ZhHk) => "外國護照",
            (Self::Passport, Lang::En) => "Foreign passport",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A validated identity document. Deliberately not `Display`, `Serialize` or a plain
/// `Debug`: the number must not leak into logs or responses by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct IdDocument {
    kind: DocumentKind,
    /// Issuing country for passports.
    country: Option<String>,
    number: String,
}

impl fmt::Debug for IdDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdDocument")
            .field("kind", &self.kind)
            .field("number", &self.masked())
            .finish()
    }
}

/// Facts an 18-digit resident number states about its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedFacts {
    pub birth_date: Date,
    pub gender: Gender,
}

const MOD11_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const MOD11_CHECK: &[u8; 11] = b"10X98765432";

/// The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident number.
pub fn resident_check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(MOD11_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    MOD11_CHECK[(sum % 11) as usize]
}

fn err(why: Reason) -> FieldError {
    FieldError::because("number", why)
}

/// Province-level codes in use on mainland resident numbers (GB/T 2260).
const MAINLAND_PROVINCES: [u32; 31] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65,
];

fn parse_resident_number(raw: &str, kind: DocumentKind) -> Result<String, FieldError> {
    let number = raw.trim().to_ascii_uppercase();
    let bytes = number.as_bytes();
    if bytes.len() != 18
        || !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
    {
        return Err(err(Reason::DocumentShape(kind)));
    }
    let province: u32 = number[..2].parse().unwrap_or(0);
    match kind {
        DocumentKind::ResidencePermit => {
            if !matches!(&number[..6], "810000" | "820000" | "830000") {
                return Err(err(Reason::ResidencePermitRegion));
            }
        }
        _ => {
            if !MAINLAND_PROVINCES.contains(&province) {
                return Err(err(Reason::NotAProvince));
            }
        }
    }
    if birth_date_of(bytes).is_none() {
        return Err(err(Reason::ImpossibleBirthDate));
    }
    if resident_check_char(&bytes[..17]) != bytes[17] {
        return Err(err(Reason::CheckDigit));
    }
    Ok(number)
}

fn birth_date_of(bytes: &[u8]) -> Option<Date> {
    let digits = std::str::from_utf8(bytes.get(6..14)?).ok()?;
    let year: i32 = digits[..4].parse().ok()?;
    let month: u8 = digits[4..6].parse().ok()?;
    let day: u8 = digits[6..8].parse().ok()?;
    if year < 1900 {
        return None;
    }
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// Value of a Hong Kong ID character for the check sum: digits 0-9, letters A=10..Z=35.
fn hk_value(c: u8) -> u32 {
    if c.is_ascii_digit() {
        u32::from(c - b'0')
    } else {
        u32::from(c - b'A') + 10
    }
}

/// The check character of a Hong Kong identity card: `prefix` is 1-2 letters, `digits` 6.
pub fn hk_check_char(prefix: &[u8], digits: &[u8]) -> u8 {
    let mut values: Vec<u32> = Vec::with_capacity(8);
    if prefix.len() == 1 {
        values.push(36); // the padding space
    }
    values.extend(prefix.iter().map(|&c| hk_value(c)));
    values.extend(digits.iter().map(|&c| hk_value(c)));
    let sum: u32 = values.iter().zip((2..=9).rev()).map(|(v, w)| v * w).sum();
    match (11 - sum % 11) % 11 {
        10 => b'A',
        n => b'0' + n as u8,
    }
}

fn strip_brackets(raw: &str) -> String {
    raw.trim()
        .to_ascii_uppercase()
        .chars()
        .filter(|c| !matches!(c, '(' | ')' | ' ' | '（' | '）'))
        .collect()
}

fn parse_hk_id(raw: &str) -> Result<String, FieldError> {
    let s = strip_brackets(raw);
    let b = s.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if !(1..=2).contains(&letters)
        || b.len() != letters + 7
        || !b[letters..letters + 6].iter().all(u8::is_ascii_digit)
        || !(b[letters + 6].is_ascii_digit() || b[letters + 6] == b'A')
    {
        return Err(err(Reason::DocumentShape(DocumentKind::HkId)));
    }
    if hk_check_char(&b[..letters], &b[letters..letters + 6]) != b[letters + 6] {
        return Err(err(Reason::CheckDigit));
    }
    Ok(format!("{}({})", &s[..letters + 6], &s[letters + 6..]))
}

fn parse_macau_id(raw: &str) -> Result<String, FieldError> {
    let s = strip_brackets(raw);
    let b = s.as_bytes();
    // The check algorithm is not published; only the format is validated.
    if b.len() != 8 || !matches!(b[0], b'1' | b'5' | b'7') || !b.iter().all(u8::is_ascii_digit) {
        return Err(err(Reason::DocumentShape(DocumentKind::MacauId)));
    }
    Ok(format!("{}({})", &s[..7], &s[7..]))
}

fn parse_travel_permit(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim().to_ascii_uppercase();
    let b = s.as_bytes();
    if !matches!(b.len(), 9 | 11)
        || !matches!(b[0], b'H' | b'M')
        || !b[1..].iter().all(u8::is_ascii_digit)
    {
        return Err(err(Reason::DocumentShape(DocumentKind::TravelPermit)));
    }
    Ok(s)
}

fn parse_passport(country: Option<&str>, raw: &str) -> Result<(String, String), FieldError> {
    let country = country
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        .ok_or_else(|| FieldError::because("country", Reason::PassportCountry))?;
    if country == "CHN" {
        return Err(FieldError::because("country", Reason::MainlandPassport));
    }
    let number = raw.trim().to_ascii_uppercase();
    if !(5..=20).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(err(Reason::DocumentShape(DocumentKind::Passport)));
    }
    Ok((country, number))
}

impl IdDocument {
    /// Validates a document of `kind`; `country` is required for passports only.
    /// Errors name `number` or `country`, relative to the document object.
    pub fn parse(
        kind: DocumentKind,
        number: &str,
        country: Option<&str>,
    ) -> Result<Self, FieldError> {
        let (country, number) = match kind {
            DocumentKind::MainlandId | DocumentKind::ResidencePermit => {
                (None, parse_resident_number(number, kind)?)
            }
            DocumentKind::TravelPermit => (None, parse_travel_permit(number)?),
            DocumentKind::HkId => (None, parse_hk_id(number)?),
            DocumentKind::MacauId => (None, parse_macau_id(number)?),
            DocumentKind::Passport => {
                let (c, n) = parse_passport(country, number)?;
                (Some(c), n)
            }
        };
        Ok(Self {
            kind,
            country,
            number,
        })
    }

    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    /// The normalised number, for encryption only.
    pub fn expose_number(&self) -> &str {
        &self.number
    }

    /// The key that identifies the holder across documents of this kind: duplicate
    /// detection hashes this, never the raw input.
    pub fn identity_key(&self) -> String {
        match self.kind {
            DocumentKind::TravelPermit => format!("travel_permit:{}", &self.number[..9]),
            DocumentKind::Passport => format!(
                "passport:{}:{}",
                self.country.as_deref().unwrap_or_default(),
                self.number
            ),
            kind => format!("{}:{}", kind.as_str(), self.number),
        }
    }

    /// Birth date and gender stated by an 18-digit resident number.
    pub fn embedded_facts(&self) -> Option<EmbeddedFacts> {
        match self.kind {
            DocumentKind::MainlandId | DocumentKind::ResidencePermit => {
                let b = self.number.as_bytes();
                let birth_date = birth_date_of(b)?;
                let gender = if (b[16] - b'0') % 2 == 1 {
                    Gender::Male
                } else {
                    Gender::Female
                };
                Some(EmbeddedFacts { birth_date, gender })
            }
            _ => None,
        }
    }

    /// The number with its middle hidden: `4401**********123X`.
    pub fn masked(&self) -> String {
        mask(&self.number)
    }
}

/// Masks all but the first and last quarter (at most 4 characters each) of `s`.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let keep = (chars.len() / 4).min(4);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep || i >= chars.len() - keep {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn parse(kind: DocumentKind, n: &str) -> Result<IdDocument, FieldError> {
        IdDocument::parse(kind, n, None)
    }

    #[test]
    fn the_standard_example_resident_number_is_valid() {
        let doc = parse(DocumentKind::MainlandId, "11010519491231002x").expect("valid");
        assert_eq!(doc.expose_number(), "11010519491231002X");
        let facts = doc.embedded_facts().expect("facts");
        assert_eq!(facts.birth_date, date!(1949 - 12 - 31));
        assert_eq!(facts.gender, Gender::Female);
    }

    #[test]
    fn a_wrong_check_digit_is_refused() {
        let e = parse(DocumentKind::MainlandId, "110105194912310021").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.why),
            ("number", Some(Reason::CheckDigit))
        );
    }

    #[test]
    fn an_impossible_birth_date_is_refused_even_with_a_right_check_digit() {
        let mut n = b"44010619900230123".to_vec();
        n.push(resident_check_char(&n));
        let e = parse(DocumentKind::MainlandId, std::str::from_utf8(&n).unwrap()).unwrap_err();
        assert_eq!(e.why, Some(Reason::ImpossibleBirthDate), "{e}");
    }

    #[test]
    fn residence_permits_need_their_region_codes() {
        let mut n = b"81000019900101123".to_vec();
        n.push(resident_check_char(&n));
        let hk = std::str::from_utf8(&n).unwrap();
        assert!(parse(DocumentKind::ResidencePermit, hk).is_ok());
        assert!(parse(DocumentKind::MainlandId, hk).is_err());
        assert!(parse(DocumentKind::ResidencePermit, "11010519491231002X").is_err());
    }

    #[test]
    fn hong_kong_identity_cards_are_checked() {
        let doc = parse(DocumentKind::HkId, "A123456(3)").expect("valid");
        assert_eq!(doc.expose_number(), "A123456(3)");
        assert_eq!(parse(DocumentKind::HkId, "a1234563").expect("valid"), doc);
        assert!(parse(DocumentKind::HkId, "A123456(4)").is_err());
        // Two-letter prefix.
        let check = hk_check_char(b"AB", b"987654");
        let two = format!("AB987654({})", check as char);
        assert!(parse(DocumentKind::HkId, &two).is_ok());
    }

    #[test]
    fn macau_identity_cards_are_checked_for_format() {
        assert!(parse(DocumentKind::MacauId, "1234567(8)").is_ok());
        assert!(parse(DocumentKind::MacauId, "2234567(8)").is_err());
        assert!(parse(DocumentKind::MacauId, "123456(8)").is_err());
    }

    #[test]
    fn travel_permits_identify_the_holder_by_the_first_nine_characters() {
        let first = parse(DocumentKind::TravelPermit, "H1234567800").expect("valid");
        let renewed = parse(DocumentKind::TravelPermit, "H1234567801").expect("valid");
        let short = parse(DocumentKind::TravelPermit, "h12345678").expect("valid");
        assert_eq!(first.identity_key(), renewed.identity_key());
        assert_eq!(first.identity_key(), short.identity_key());
        assert!(parse(DocumentKind::TravelPermit, "X1234567800").is_err());
    }

    #[test]
    fn passports_need_a_foreign_country() {
        let doc = IdDocument::parse(DocumentKind::Passport, "x1234567", Some("usa")).expect("ok");
        assert_eq!(doc.identity_key(), "passport:USA:X1234567");
        let e = IdDocument::parse(DocumentKind::Passport, "X1234567", None).unwrap_err();
        assert_eq!(e.field, "country");
        assert!(IdDocument::parse(DocumentKind::Passport, "X1234567", Some("CHN")).is_err());
    }

    #[test]
    fn masking_hides_the_middle_of_the_number() {
        let doc = parse(DocumentKind::MainlandId, "11010519491231002X").expect("valid");
        assert_eq!(doc.masked(), "1101**********002X");
        assert!(!format!("{doc:?}").contains("19491231"));
    }

    proptest! {
        #[test]
        fn every_valid_resident_number_survives_one_changed_digit_only_if_rechecked(
            body in "[1-6][1-5](0[1-9]|1[0-9])[0-9]{2}(19[5-9][0-9]|200[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
            pos in 0usize..17,
            delta in 1u8..10,
        ) {
            let mut n = body.into_bytes();
            n.push(resident_check_char(&n));
            let valid = String::from_utf8(n.clone()).unwrap();
            let province: u32 = valid[..2].parse().unwrap();
            prop_assume!(MAINLAND_PROVINCES.contains(&province));
            prop_assert!(parse(DocumentKind::MainlandId, &valid).is_ok());
            // Any single-digit change is caught by MOD 11-2.
            n[pos] = b'0' + (n[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(n).unwrap();
            prop_assert!(parse(DocumentKind::MainlandId, &changed).is_err());
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(kind in 0usize..6, s in "\\PC{0,30}") {
            let kinds = [DocumentKind::MainlandId, DocumentKind::ResidencePermit,
                DocumentKind::TravelPermit, DocumentKind::HkId, DocumentKind::MacauId,
                DocumentKind::Passport];
            let _ = IdDocument::parse(kinds[kind], &s, Some("GBR"));
        }
    }
}
