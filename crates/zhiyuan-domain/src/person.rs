//! A person's name, gender, phone and guardian: the plain personal fields of Art. 5.

use crate::{FieldError, Reason};

/// Gender as the identity document records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub const ALL: [Self; 2] = [Self::Male, Self::Female];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A person's name: 1 to 50 characters, no control characters. Chinese names, Latin names
/// with spaces and the middle dot of ethnic-minority names (·) are all accepted.
pub fn parse_person_name(input: &str) -> Result<String, FieldError> {
    let name = input.trim();
    if name.chars().any(char::is_control) {
        return Err(FieldError::because("", Reason::ControlCharacters));
    }
    match name.chars().count() {
        0 => Err(FieldError::because("", Reason::Required)),
        n if n > 50 => Err(FieldError::because("", Reason::TooLong { max: 50 })),
        _ => Ok(name.to_owned()),
    }
}

/// A phone number: a mainland mobile (11 digits starting with 1), or an international
/// number in `+<country><number>` form (e.g. `+85291234567`). Spaces and dashes are dropped.
pub fn parse_phone(input: &str) -> Result<String, FieldError> {
    let compact: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = if let Some(rest) = compact.strip_prefix('+') {
        digits_only(rest) && (8..=15).contains(&rest.len()) && !rest.starts_with('0')
    } else {
        digits_only(&compact) && compact.len() == 11 && compact.starts_with('1')
    };
    if ok {
        Ok(compact)
    } else {
        Err(FieldError::because("", Reason::NotAPhone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_mainland_and_international_forms_are_accepted() {
        assert_eq!(parse_phone("138 0013 8000").unwrap(), "13800138000");
        assert_eq!(parse_phone("+852 9123 4567").unwrap(), "+85291234567");
        assert!(parse_phone("12345").is_err());
        assert!(parse_phone("23800138000").is_err());
        assert!(parse_phone("+0123456789").is_err());
    }

    #[test]
    fn names_may_hold_chinese_latin_and_middle_dots() {
        assert_eq!(parse_person_name(" 陈小明 ").unwrap(), "陈小明");
        assert!(parse_person_name("买买提·艾力").is_ok());
        assert!(parse_person_name("Chan Tai Man").is_ok());
        assert!(parse_person_name("").is_err());
        assert!(parse_person_name("a\u{0007}b").is_err());
        assert!(parse_person_name(&"名".repeat(51)).is_err());
    }
}
