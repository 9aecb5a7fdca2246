//! Internal row identifiers. They are database keys, not public numbers: volunteers are
//! addressed publicly by their [`crate::volunteer_number::VolunteerNumber`].

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A volunteer's row id.
    VolunteerId
);
id_type!(
    /// A login account's row id.
    AccountId
);
id_type!(
    /// A service site's id (public: sites are a public directory).
    SiteId
);
id_type!(
    /// An organisation's or team's id (public).
    OrgId
);
id_type!(
    /// A membership's id.
    MembershipId
);
