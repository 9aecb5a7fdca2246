//! Service categories (the fixed vocabulary volunteers, projects and menus share) and
//! free-text professional skills.

use crate::{FieldError, Reason};

macro_rules! categories {
    ($( $variant:ident => $code:literal, $zh:literal; )*) => {
        /// A field of volunteer service.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ServiceCategory { $( $variant, )* }

        impl ServiceCategory {
            pub const ALL: &'static [ServiceCategory] = &[$( Self::$variant, )*];

            pub fn code(self) -> &'static str {
                match self { $( Self::$variant => $code, )* }
            }

            /// The Chinese label shown on screens and certificates.
            pub fn label_zh(self) -> &'static str {
                match self { $( Self::$variant => $zh, )* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $( $code => Some(Self::$variant), )* _ => None }
            }
        }
    };
}

categories! {
    Community => "community", "社区服务";
    PovertyRelief => "poverty_relief", "乡村振兴";
    Education => "education", "支教助学";
    Health => "health", "卫生健康";
    Elderly => "elderly", "扶老助残";
    Children => "children", "关爱少年儿童";
    Legal => "legal", "法律服务";
    Environment => "environment", "生态环保";
    Culture => "culture", "文化艺术";
    Science => "science", "科技科普";
    Emergency => "emergency", "应急救援";
    Events => "events", "大型赛会";
    Safety => "safety", "平安综治";
    Civility => "civility", "文明实践";
}

/// Parses a list of category codes, refusing unknown codes and duplicates; at most 14.
pub fn parse_categories(codes: &[String]) -> Result<Vec<ServiceCategory>, FieldError> {
    let mut out = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        let cat = ServiceCategory::parse(code)
            .ok_or_else(|| FieldError::because(format!("[{i}]"), Reason::UnknownCategory))?;
        if !out.contains(&cat) {
            out.push(cat);
        }
    }
    Ok(out)
}

/// Parses professional skills: up to 20 distinct entries of 1 to 32 characters.
pub fn parse_skills(skills: &[String]) -> Result<Vec<String>, FieldError> {
    if skills.len() > 20 {
        return Err(FieldError::because("", Reason::TooMany { max: 20 }));
    }
    let mut out: Vec<String> = Vec::with_capacity(skills.len());
    for (i, skill) in skills.iter().enumerate() {
        let s = skill.trim();
        let n = s.chars().count();
        let why = if n == 0 {
            Some(Reason::Required)
        } else if n > 32 {
            Some(Reason::TooLong { max: 32 })
        } else if s.chars().any(char::is_control) {
            Some(Reason::ControlCharacters)
        } else {
            None
        };
        if let Some(why) = why {
            return Err(FieldError::because(format!("[{i}]"), why));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_categories_are_named_by_position() {
        let e = parse_categories(&["health".into(), "astrology".into()]).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.why),
            ("[1]", Some(Reason::UnknownCategory))
        );
        assert_eq!(
            parse_categories(&["health".into(), "health".into()]).unwrap(),
            vec![ServiceCategory::Health]
        );
    }

    /// Each skill is refused for what is wrong with it, by its position.
    #[test]
    fn skills_are_refused_by_position_for_what_is_wrong() {
        let refused = |skills: &[&str]| {
            let skills: Vec<String> = skills.iter().map(|s| (*s).to_owned()).collect();
            let e = parse_skills(&skills).unwrap_err();
            (e.field, e.why)
        };
        assert_eq!(
            refused(&["急救", " "]),
            ("[1]".into(), Some(Reason::Required))
        );
        assert_eq!(
            refused(&[&"长".repeat(33)]),
            ("[0]".into(), Some(Reason::TooLong { max: 32 }))
        );
        assert_eq!(
            refused(&["手\t语"]),
            ("[0]".into(), Some(Reason::ControlCharacters))
        );
        assert_eq!(
            refused(&["急救"; 21]),
            (String::new(), Some(Reason::TooMany { max: 20 }))
        );
        assert_eq!(
            parse_skills(&["急救".into(), "急救".into()]).unwrap(),
            ["急救"]
        );
    }

    #[test]
    fn every_category_code_parses_back() {
        for c in ServiceCategory::ALL {
            assert_eq!(ServiceCategory::parse(c.code()), Some(*c));
        }
    }
}
