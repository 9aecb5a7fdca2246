//! Organisations and teams, and volunteers' memberships in them.

use crate::{FieldError, Reason};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// A registered organisation, with a unified social credit code.
    RegisteredOrganisation,
    /// An unregistered grassroots team (often under a site or a parent organisation).
    GrassrootsTeam,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegisteredOrganisation => "registered_organisation",
            Self::GrassrootsTeam => "grassroots_team",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "registered_organisation" => Some(Self::RegisteredOrganisation),
            "grassroots_team" => Some(Self::GrassrootsTeam),
            _ => None,
        }
    }
}

const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Validates a unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters
/// from a 31-character alphabet, the last a MOD 31 check character.
pub fn parse_credit_code(input: &str) -> Result<String, FieldError> {
    let code = input.trim().to_ascii_uppercase();
    let values: Option<Vec<u32>> = code
        .bytes()
        .map(|b| USCC_CHARS.iter().position(|&c| c == b).map(|p| p as u32))
        .collect();
    let Some(values) = values.filter(|v| v.len() == 18) else {
        return Err(FieldError::because("credit_code", Reason::CreditCodeShape));
    };
    let sum: u32 = values[..17]
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    if (31 - sum % 31) % 31 != values[17] {
        return Err(FieldError::because("credit_code", Reason::CheckDigit));
    }
    Ok(code)
}

/// A member's role in a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MembershipRole {
    Member,
    /// Runs projects, shifts and attendance; reads the team's members.
    Coordinator,
    /// Also manages the team itself and decides on applications.
    Admin,
}

impl MembershipRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Coordinator => "coordinator",
            Self::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(Self::Member),
            "coordinator" => Some(Self::Coordinator),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// Where a membership stands. Applications are `pending` until a team admin decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    Pending,
    Active,
    Rejected,
    Left,
}

impl MembershipStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Rejected => "rejected",
            Self::Left => "left",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "rejected" => Some(Self::Rejected),
            "left" => Some(Self::Left),
            _ => None,
        }
    }

    /// Who may move a membership from this status to `to`: the team (`by_team`) or the
    /// volunteer. Volunteers withdraw or leave; teams approve, reject or remove.
    pub fn may_move_to(self, to: MembershipStatus, by_team: bool) -> bool {
        use MembershipStatus::*;
        match (self, to) {
            (Pending, Active | Rejected) => by_team,
            (Pending | Active, Left) => true,
            (Rejected | Left, Pending) => !by_team,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_credit_code_passes_and_a_changed_one_fails() {
        assert_eq!(
            parse_credit_code("91350100m000100y43").unwrap(),
            "91350100M000100Y43"
        );
        let why = |code: &str| parse_credit_code(code).unwrap_err().why;
        assert_eq!(why("91350100M000100Y44"), Some(Reason::CheckDigit));
        assert_eq!(why("91350100M000100Y4"), Some(Reason::CreditCodeShape));
        assert_eq!(why("9135010OM000100Y43"), Some(Reason::CreditCodeShape));
    }

    #[test]
    fn only_the_team_decides_applications_and_only_the_volunteer_reapplies() {
        use MembershipStatus::*;
        assert!(Pending.may_move_to(Active, true));
        assert!(!Pending.may_move_to(Active, false));
        assert!(Active.may_move_to(Left, false));
        assert!(Left.may_move_to(Pending, false));
        assert!(!Left.may_move_to(Pending, true));
        assert!(!Rejected.may_move_to(Active, true));
    }
}
