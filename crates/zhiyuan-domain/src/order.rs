//! Service orders (点单 → 制单 → 派单 → 接单 → 评单): the public's needs, turned into orders
//! by the site that receives them, dispatched down the county/town/village network or
//! offered for teams to grab, taken, completed and rated.
//!
//! This module is the state machine: which action is allowed in which state and what
//! state it leads to. Who may take an action (the holder, the dispatcher, the requester)
//! is decided by the service, which knows the actor.

use crate::Reason;
use crate::ids::{OrgId, SiteId, VolunteerId};
use crate::region::RegionCode;

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// A need from the public, at the site that covers its place, to be verified.
    Received,
    /// The site refused the need; the requester sees the reason.
    Rejected,
    /// An order, at a site that is to handle or dispatch it.
    Open,
    /// Assigned to a lower site, a team or a volunteer, who is to accept or decline it.
    Assigned,
    /// Offered to the teams and volunteers of an area: the first valid taker wins.
    Offered,
    /// Taken by a team or a volunteer, who carries it out.
    Accepted,
    /// Carried out, with a completion report; the requester may rate it.
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [Self; 8] = [
        Self::Received,
        Self::Rejected,
        Self::Open,
        Self::Assigned,
        Self::Offered,
        Self::Accepted,
        Self::Completed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Rejected => "rejected",
            Self::Open => "open",
            Self::Assigned => "assigned",
            Self::Offered => "offered",
            Self::Accepted => "accepted",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the order still waits for someone to take it (escalates when it waits too
    /// long).
    pub fn is_waiting(self) -> bool {
        matches!(self, Self::Assigned | Self::Offered)
    }

    /// Open311's two states.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Rejected | Self::Completed | Self::Cancelled)
    }
}

/// Who holds an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Holder {
    Site(SiteId),
    Org(OrgId),
    Volunteer(VolunteerId),
    /// Offered openly to an area (a region subtree).
    Area(RegionCode),
}

impl Holder {
    pub fn kind(self) -> &'static str {
        match self {
            Self::Site(_) => "site",
            Self::Org(_) => "org",
            Self::Volunteer(_) => "volunteer",
            Self::Area(_) => "area",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Self::Site(s) => s.0,
            Self::Org(o) => o.0,
            Self::Volunteer(v) => v.0,
            Self::Area(r) => r.as_i64(),
        }
    }

    pub fn from_parts(kind: &str, id: i64) -> Option<Self> {
        Some(match kind {
            "site" => Self::Site(SiteId(id)),
            "org" => Self::Org(OrgId(id)),
            "volunteer" => Self::Volunteer(VolunteerId(id)),
            "area" => Self::Area(RegionCode::from_i64(id)?),
            _ => return None,
        })
    }

    /// A team or a volunteer: who can carry an order out.
    pub fn is_taker(self) -> bool {
        matches!(self, Self::Org(_) | Self::Volunteer(_))
    }
}

/// An order's position in the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderState {
    pub status: OrderStatus,
    pub holder: Holder,
    /// The site that assigned or offered it, to which a decline or a recall returns it.
    pub dispatcher: Option<SiteId>,
}

/// What someone does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    /// The receiving site verifies the need and makes it an order (制单).
    Verify,
    /// The receiving site refuses the need.
    Refuse,
    /// The site holding it assigns it (派单) to a lower site, a team or a volunteer; a site
    /// it was assigned to may forward it the same way.
    Assign(Holder),
    /// The site holding it offers it to an area (抢单).
    Offer(RegionCode),
    /// The assignee accepts: a site takes it to handle or dispatch, a team or volunteer
    /// takes it to carry out (接单).
    Accept,
    /// A team or volunteer of the area takes an offered order.
    Grab(Holder),
    /// The assignee declines, with a reason: back to the dispatcher.
    Decline,
    /// Up to the next site (by hand, or when nobody took it in time).
    Escalate(SiteId),
    /// The dispatcher takes back an order not yet taken, to dispatch it again.
    Recall,
    /// The taker reports it done.
    Complete,
    Cancel,
}

impl OrderAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Refuse => "refuse",
            Self::Assign(_) => "assign",
            Self::Offer(_) => "offer",
            Self::Accept => "accept",
            Self::Grab(_) => "grab",
            Self::Decline => "decline",
            Self::Escalate(_) => "escalate",
            Self::Recall => "recall",
            Self::Complete => "complete",
            Self::Cancel => "cancel",
        }
    }

    /// Whether the action must say why.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Self::Refuse | Self::Decline | Self::Escalate(_) | Self::Cancel
        )
    }
}

impl OrderState {
    /// The state `action` leads to, or why it is not allowed now.
    pub fn apply(self, action: OrderAction) -> Result<Self, Reason> {
        use OrderAction as A;
        use OrderStatus as S;
        let at_site = matches!(self.holder, Holder::Site(_));
        let site = match self.holder {
            Holder::Site(s) => Some(s),
            _ => None,
        };
        let next = |status, holder, dispatcher| Self {
            status,
            holder,
            dispatcher,
        };
        let refused = || {
            Err(Reason::NotNow {
                action: action.name(),
                status: self.status.as_str(),
            })
        };
        match (self.status, action) {
            (S::Received, A::Verify) => Ok(next(S::Open, self.holder, None)),
            (S::Received, A::Refuse) => Ok(next(S::Rejected, self.holder, None)),
            (S::Open | S::Assigned, A::Assign(to)) if at_site => match to {
                // An area is offered an order, not assigned it.
                Holder::Area(_) => Err(Reason::NotATaker),
                _ if Some(to) == Some(self.holder) => Err(Reason::AlreadyThere),
                _ => Ok(next(S::Assigned, to, site)),
            },
            (S::Open | S::Assigned, A::Offer(area)) if at_site => {
                Ok(next(S::Offered, Holder::Area(area), site))
            }
            (S::Assigned, A::Accept) => Ok(if at_site {
                next(S::Open, self.holder, None)
            } else {
                next(S::Accepted, self.holder, self.dispatcher)
            }),
            (S::Offered, A::Grab(by)) if by.is_taker() => {
                Ok(next(S::Accepted, by, self.dispatcher))
            }
            (S::Offered, A::Grab(_)) => Err(Reason::NotATaker),
            (S::Assigned, A::Decline) | (S::Assigned | S::Offered, A::Recall) => {
                match self.dispatcher {
                    Some(d) => Ok(next(S::Open, Holder::Site(d), None)),
                    None => Err(Reason::NoDispatcher),
                }
            }
            (S::Received, A::Escalate(to)) if at_site => {
                Ok(next(S::Received, Holder::Site(to), None))
            }
            (S::Open | S::Assigned | S::Offered, A::Escalate(to))
                if at_site || self.status == S::Offered || self.dispatcher.is_some() =>
            {
                Ok(next(S::Open, Holder::Site(to), None))
            }
            (S::Accepted, A::Complete) => Ok(next(S::Completed, self.holder, self.dispatcher)),
            (S::Received | S::Open | S::Assigned | S::Offered | S::Accepted, A::Cancel) => {
                Ok(next(S::Cancelled, self.holder, self.dispatcher))
            }
            _ => refused(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATION: SiteId = SiteId(3);
    const TOWN: SiteId = SiteId(2);
    const TEAM: Holder = Holder::Org(OrgId(7));

    fn area() -> RegionCode {
        RegionCode::from_i64(440_106_001_001).expect("region")
    }

    fn actions() -> Vec<OrderAction> {
        use OrderAction as A;
        vec![
            A::Verify,
            A::Refuse,
            A::Assign(Holder::Site(STATION)),
            A::Assign(TEAM),
            A::Offer(area()),
            A::Accept,
            A::Grab(TEAM),
            A::Decline,
            A::Escalate(SiteId(1)),
            A::Recall,
            A::Complete,
            A::Cancel,
        ]
    }

    /// One representative state per status, as the flow produces them.
    fn states() -> Vec<OrderState> {
        use OrderStatus as S;
        let s = |status, holder, dispatcher| OrderState {
            status,
            holder,
            dispatcher,
        };
        vec![
            s(S::Received, Holder::Site(TOWN), None),
            s(S::Rejected, Holder::Site(TOWN), None),
            s(S::Open, Holder::Site(TOWN), None),
            s(S::Assigned, Holder::Site(STATION), Some(TOWN)),
            s(S::Assigned, TEAM, Some(TOWN)),
            s(S::Offered, Holder::Area(area()), Some(TOWN)),
            s(S::Accepted, TEAM, Some(TOWN)),
            s(S::Completed, TEAM, Some(TOWN)),
            s(S::Cancelled, Holder::Site(TOWN), None),
        ]
    }

    /// Every state against every action: exactly these are allowed, leading where shown.
    #[test]
    fn every_state_allows_exactly_its_actions() {
        use OrderStatus as S;
        let mut allowed = Vec::new();
        for state in states() {
            for action in actions() {
                if let Ok(next) = state.apply(action) {
                    allowed.push((
                        state.status.as_str(),
                        state.holder.kind(),
                        action.name(),
                        next.status.as_str(),
                        next.holder.kind(),
                    ));
                }
            }
        }
        let expected = [
            ("received", "site", "verify", "open", "site"),
            ("received", "site", "refuse", "rejected", "site"),
            ("received", "site", "escalate", "received", "site"),
            ("received", "site", "cancel", "cancelled", "site"),
            ("open", "site", "assign", "assigned", "site"),
            ("open", "site", "assign", "assigned", "org"),
            ("open", "site", "offer", "offered", "area"),
            ("open", "site", "escalate", "open", "site"),
            ("open", "site", "cancel", "cancelled", "site"),
            // A site it was assigned to takes it, forwards it, or hands it back.
            ("assigned", "site", "assign", "assigned", "org"),
            ("assigned", "site", "offer", "offered", "area"),
            ("assigned", "site", "accept", "open", "site"),
            ("assigned", "site", "decline", "open", "site"),
            ("assigned", "site", "escalate", "open", "site"),
            ("assigned", "site", "recall", "open", "site"),
            ("assigned", "site", "cancel", "cancelled", "site"),
            ("assigned", "org", "accept", "accepted", "org"),
            ("assigned", "org", "decline", "open", "site"),
            ("assigned", "org", "escalate", "open", "site"),
            ("assigned", "org", "recall", "open", "site"),
            ("assigned", "org", "cancel", "cancelled", "org"),
            ("offered", "area", "grab", "accepted", "org"),
            ("offered", "area", "escalate", "open", "site"),
            ("offered", "area", "recall", "open", "site"),
            ("offered", "area", "cancel", "cancelled", "area"),
            ("accepted", "org", "complete", "completed", "org"),
            ("accepted", "org", "cancel", "cancelled", "org"),
        ];
        assert_eq!(allowed, expected);
        // Terminal states allow nothing.
        for state in states() {
            if matches!(state.status, S::Rejected | S::Completed | S::Cancelled) {
                assert!(actions().into_iter().all(|a| state.apply(a).is_err()));
            }
        }
    }

    #[test]
    fn a_decline_or_recall_returns_to_the_dispatcher_and_an_assignment_records_it() {
        let open = OrderState {
            status: OrderStatus::Open,
            holder: Holder::Site(TOWN),
            dispatcher: None,
        };
        let assigned = open.apply(OrderAction::Assign(TEAM)).expect("assign");
        assert_eq!(assigned.dispatcher, Some(TOWN));
        assert_eq!(assigned.apply(OrderAction::Decline), Ok(open));
        let offered = open.apply(OrderAction::Offer(area())).expect("offer");
        assert_eq!(offered.apply(OrderAction::Recall), Ok(open));
        let taken = offered.apply(OrderAction::Grab(TEAM)).expect("grab");
        assert_eq!(taken.holder, TEAM);
        // Only a team or a volunteer grabs; an area is offered, never assigned.
        assert!(
            offered
                .apply(OrderAction::Grab(Holder::Site(STATION)))
                .is_err()
        );
        assert_eq!(
            open.apply(OrderAction::Assign(Holder::Area(area()))),
            Err(Reason::NotATaker)
        );
        assert_eq!(
            open.apply(OrderAction::Assign(Holder::Site(TOWN))),
            Err(Reason::AlreadyThere)
        );
        let why = taken.apply(OrderAction::Verify).expect_err("not now");
        assert_eq!(
            why,
            Reason::NotNow {
                action: "verify",
                status: "accepted"
            }
        );
    }

    #[test]
    fn statuses_and_holders_round_trip_their_names() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        for h in [
            Holder::Site(STATION),
            TEAM,
            Holder::Volunteer(VolunteerId(9)),
            Holder::Area(area()),
        ] {
            assert_eq!(Holder::from_parts(h.kind(), h.id()), Some(h));
        }
        assert!(OrderAction::Cancel.needs_reason());
        assert!(!OrderAction::Accept.needs_reason());
    }
}
