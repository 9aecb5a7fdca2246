//! The professional talent pool (专业人才库): volunteers' professional qualifications, each
//! verified by an authorised staff member before it counts (Art. 16: where law requires a
//! qualification, the volunteer must hold it).

/// A field of professional qualification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QualificationKind {
    Doctor,
    Nurse,
    Teacher,
    Rescue,
    Counselling,
    Legal,
    Engineering,
    Other,
}

impl QualificationKind {
    pub const ALL: [Self; 8] = [
        Self::Doctor,
        Self::Nurse,
        Self::Teacher,
        Self::Rescue,
        Self::Counselling,
        Self::Legal,
        Self::Engineering,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Doctor => "doctor",
            Self::Nurse => "nurse",
            Self::Teacher => "teacher",
            Self::Rescue => "rescue",
            Self::Counselling => "counselling",
            Self::Legal => "legal",
            Self::Engineering => "engineering",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a qualification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QualificationStatus {
    /// Declared by the volunteer, not yet checked.
    Pending,
    Verified,
    Rejected,
}

impl QualificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Verified, Self::Rejected]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a called volunteer stands in a mobilisation (急难险重 call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Selected and told; no answer yet.
    Notified,
    Acknowledged,
    Declined,
    /// Reported at the assembly point.
    CheckedIn,
}

impl MemberStatus {
    pub const ALL: [Self; 4] = [
        Self::Notified,
        Self::Acknowledged,
        Self::Declined,
        Self::CheckedIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notified => "notified",
            Self::Acknowledged => "acknowledged",
            Self::Declined => "declined",
            Self::CheckedIn => "checked_in",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A volunteer answers, may change their mind until they check in, and checks in only
    /// after saying they come.
    pub fn may_move_to(self, to: Self) -> bool {
        use MemberStatus::*;
        matches!(
            (self, to),
            (Notified | Declined, Acknowledged)
                | (Notified | Acknowledged, Declined)
                | (Acknowledged, CheckedIn)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_called_volunteer_answers_then_checks_in_and_nothing_follows() {
        use MemberStatus::*;
        let mut allowed = Vec::new();
        for from in MemberStatus::ALL {
            for to in MemberStatus::ALL {
                if from.may_move_to(to) {
                    allowed.push((from.as_str(), to.as_str()));
                }
            }
        }
        assert_eq!(
            allowed,
            [
                ("notified", "acknowledged"),
                ("notified", "declined"),
                ("acknowledged", "declined"),
                ("acknowledged", "checked_in"),
                ("declined", "acknowledged"),
            ]
        );
        assert!(MemberStatus::ALL.iter().all(|s| !CheckedIn.may_move_to(*s)));
        for s in MemberStatus::ALL {
            assert_eq!(MemberStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn kinds_and_statuses_round_trip_their_names() {
        for k in QualificationKind::ALL {
            assert_eq!(QualificationKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(QualificationKind::parse("wizard"), None);
        for s in ["pending", "verified", "rejected"] {
            assert_eq!(
                QualificationStatus::parse(s).map(QualificationStatus::as_str),
                Some(s)
            );
        }
    }
}
