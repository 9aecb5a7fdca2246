//! Who may do what. A [`Principal`] carries the grants of the person behind a request;
//! the `can_*` functions decide from facts about the object that the caller has loaded.
//! Every endpoint calls exactly one of them, so the whole policy is read in this file.
//!
//! Scopes:
//! - volunteer: themselves;
//! - team admin / coordinator: their team (admins manage it; coordinators read it);
//! - site staff: their site and the teams attached to it;
//! - jurisdiction admin: a region and everything below it;
//! - auditor: read-only over a region subtree.

use crate::ids::{AccountId, OrgId, SiteId, VolunteerId};
use crate::org::MembershipRole;
use crate::region::RegionCode;

/// Roles granted to accounts by administrators (team roles come from memberships).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantedRole {
    JurisdictionAdmin,
    Auditor,
    SiteStaff,
}

impl GrantedRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JurisdictionAdmin => "jurisdiction_admin",
            Self::Auditor => "auditor",
            Self::SiteStaff => "site_staff",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "jurisdiction_admin" => Some(Self::JurisdictionAdmin),
            "auditor" => Some(Self::Auditor),
            "site_staff" => Some(Self::SiteStaff),
            _ => None,
        }
    }
}

/// One scope an account holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Grant {
    JurisdictionAdmin {
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        region: RegionCode,
    },
    Auditor {
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        region: RegionCode,
    },
    SiteStaff {
        #[cfg_attr(feature = "openapi", schema(value_type = i64))]
        site: SiteId,
    },
    /// Held through an active membership with role coordinator or admin.
    Team {
        #[cfg_attr(feature = "openapi", schema(value_type = i64))]
        org: OrgId,
        team_role: MembershipRole,
    },
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: AccountId,
    pub volunteer: Option<VolunteerId>,
    pub grants: Vec<Grant>,
}

/// Whether an action only reads or also changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Facts about an organisation that decide access to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgFacts {
    pub id: OrgId,
    pub region: RegionCode,
    pub site: Option<SiteId>,
}

/// Facts about a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFacts {
    pub id: SiteId,
    pub region: RegionCode,
}

/// Facts about a volunteer: residence, and the teams they belong to or applied to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolunteerFacts {
    pub id: VolunteerId,
    pub region: RegionCode,
    pub orgs: Vec<OrgFacts>,
}

impl Principal {
    /// Whether a jurisdiction grant (or, for reads, an auditor grant) covers `region`.
    pub fn covers(&self, region: RegionCode, access: Access) -> bool {
        self.grants.iter().any(|g| match g {
            Grant::JurisdictionAdmin { region: r } => r.contains(region),
            Grant::Auditor { region: r } => access == Access::Read && r.contains(region),
            _ => false,
        })
    }

    /// Whether any jurisdiction or auditor grant exists (for list endpoints).
    pub fn regions(&self, access: Access) -> Vec<RegionCode> {
        self.grants
            .iter()
            .filter_map(|g| match g {
                Grant::JurisdictionAdmin { region } => Some(*region),
                Grant::Auditor { region } if access == Access::Read => Some(*region),
                _ => None,
            })
            .collect()
    }

    fn team_role(&self, org: OrgId) -> Option<MembershipRole> {
        self.grants.iter().find_map(|g| match g {
            Grant::Team { org: o, team_role } if *o == org => Some(*team_role),
            _ => None,
        })
    }

    fn is_site_staff(&self, site: SiteId) -> bool {
        self.grants
            .iter()
            .any(|g| matches!(g, Grant::SiteStaff { site: s } if *s == site))
    }

    /// The one site this principal is staff of, if exactly one.
    pub fn only_site(&self) -> Option<SiteId> {
        let mut sites = self.grants.iter().filter_map(|g| match g {
            Grant::SiteStaff { site } => Some(*site),
            _ => None,
        });
        match (sites.next(), sites.next()) {
            (Some(site), None) => Some(site),
            _ => None,
        }
    }

    /// The site-staff and team grants; a principal with none needs no membership facts.
    pub fn has_local_grants(&self) -> bool {
        self.grants
            .iter()
            .any(|g| matches!(g, Grant::SiteStaff { .. } | Grant::Team { .. }))
    }

    /// Reading or managing an organisation (its private details, members, applications).
    pub fn can_access_org(&self, org: &OrgFacts, access: Access) -> bool {
        self.covers(org.region, access)
            || org.site.is_some_and(|s| self.is_site_staff(s))
            || match self.team_role(org.id) {
                Some(MembershipRole::Admin) => true,
                Some(MembershipRole::Coordinator) => access == Access::Read,
                _ => false,
            }
    }

    /// Running a team's projects: shifts, sign-ups, attendance and records. Team admins
    /// and coordinators, the team's site, its jurisdiction.
    pub fn can_run_projects(&self, org: &OrgFacts) -> bool {
        self.covers(org.region, Access::Write)
            || org.site.is_some_and(|s| self.is_site_staff(s))
            || matches!(
                self.team_role(org.id),
                Some(MembershipRole::Admin | MembershipRole::Coordinator)
            )
    }

    /// Reviewing a project before it is published: the site it takes place at, or the
    /// jurisdiction of its region.
    pub fn can_review_project(&self, region: RegionCode, site: Option<SiteId>) -> bool {
        self.covers(region, Access::Write) || site.is_some_and(|s| self.is_site_staff(s))
    }

    /// Creating an organisation in `region`, at `site`, under `parent`.
    pub fn can_create_org(
        &self,
        region: RegionCode,
        site: Option<&SiteFacts>,
        parent: Option<&OrgFacts>,
    ) -> bool {
        self.covers(region, Access::Write)
            || site.is_some_and(|s| self.is_site_staff(s.id) && s.region.contains(region))
            || parent.is_some_and(|p| {
                self.team_role(p.id) == Some(MembershipRole::Admin) && p.region.contains(region)
            })
    }

    /// Reading or changing a site's record.
    pub fn can_access_site(&self, site: &SiteFacts, access: Access) -> bool {
        self.covers(site.region, access) || self.is_site_staff(site.id)
    }

    /// Creating a site or a region beneath `parent`.
    pub fn can_create_in(&self, parent: RegionCode) -> bool {
        self.covers(parent, Access::Write)
    }

    /// Renaming a region: only from strictly above it, never one's own jurisdiction.
    pub fn can_update_region(&self, region: RegionCode) -> bool {
        region
            .parent()
            .is_some_and(|parent| self.covers(parent, Access::Write))
    }

    /// Reading a volunteer's profile.
    pub fn can_read_volunteer(&self, v: &VolunteerFacts) -> bool {
        self.volunteer == Some(v.id)
            || self.covers(v.region, Access::Read)
            || v.orgs.iter().any(|o| self.can_access_org(o, Access::Read))
    }

    /// Changing a volunteer's profile: the volunteer, or the jurisdiction they live in.
    pub fn can_update_volunteer(&self, v: &VolunteerFacts) -> bool {
        self.volunteer == Some(v.id) || self.covers(v.region, Access::Write)
    }

    /// Giving a role to an account: only inside one's own jurisdiction.
    pub fn can_grant(&self, region: RegionCode) -> bool {
        self.covers(region, Access::Write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    fn principal(grants: Vec<Grant>) -> Principal {
        Principal {
            account: AccountId(1),
            volunteer: Some(VolunteerId(1)),
            grants,
        }
    }

    #[test]
    fn only_staff_of_exactly_one_site_have_a_site_of_their_own() {
        let staff = |site| Grant::SiteStaff { site: SiteId(site) };
        let admin = Grant::JurisdictionAdmin {
            region: code("440106"),
        };
        assert_eq!(
            principal(vec![admin.clone(), staff(3)]).only_site(),
            Some(SiteId(3))
        );
        assert_eq!(principal(vec![staff(3), staff(4)]).only_site(), None);
        assert_eq!(principal(vec![admin]).only_site(), None);
    }

    #[test]
    fn an_auditor_reads_but_never_writes() {
        let p = principal(vec![Grant::Auditor {
            region: code("440100"),
        }]);
        assert!(p.covers(code("440106"), Access::Read));
        assert!(!p.covers(code("440106"), Access::Write));
        assert!(!p.covers(code("440300"), Access::Read));
    }

    #[test]
    fn a_coordinator_reads_the_team_but_only_an_admin_manages_it() {
        let org = OrgFacts {
            id: OrgId(9),
            region: code("440106"),
            site: None,
        };
        let coord = principal(vec![Grant::Team {
            org: OrgId(9),
            team_role: MembershipRole::Coordinator,
        }]);
        assert!(coord.can_access_org(&org, Access::Read));
        assert!(!coord.can_access_org(&org, Access::Write));
        let admin = principal(vec![Grant::Team {
            org: OrgId(9),
            team_role: MembershipRole::Admin,
        }]);
        assert!(admin.can_access_org(&org, Access::Write));
    }

    #[test]
    fn coordinators_run_projects_and_members_do_not() {
        let org = OrgFacts {
            id: OrgId(3),
            region: code("440106"),
            site: None,
        };
        let as_role = |team_role| {
            principal(vec![Grant::Team {
                org: OrgId(3),
                team_role,
            }])
        };
        assert!(as_role(MembershipRole::Coordinator).can_run_projects(&org));
        assert!(as_role(MembershipRole::Admin).can_run_projects(&org));
        assert!(!as_role(MembershipRole::Member).can_run_projects(&org));
        assert!(!principal(vec![]).can_run_projects(&org));
    }

    #[test]
    fn nobody_renames_their_own_jurisdiction() {
        let p = principal(vec![Grant::JurisdictionAdmin {
            region: code("440100"),
        }]);
        assert!(!p.can_update_region(code("440100")));
        assert!(p.can_update_region(code("440106")));
    }

    #[test]
    fn a_volunteer_reads_themselves_and_no_one_else() {
        let p = principal(vec![]);
        let me = VolunteerFacts {
            id: VolunteerId(1),
            region: code("440106"),
            orgs: vec![],
        };
        let other = VolunteerFacts {
            id: VolunteerId(2),
            ..me.clone()
        };
        assert!(p.can_read_volunteer(&me) && p.can_update_volunteer(&me));
        assert!(!p.can_read_volunteer(&other) && !p.can_update_volunteer(&other));
    }
}
