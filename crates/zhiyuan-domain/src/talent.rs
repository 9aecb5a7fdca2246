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

#[cfg(test)]
mod tests {
    use super::*;

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
