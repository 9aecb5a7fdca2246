//! Proposing candidates for an order (issue 5, item 7): volunteers whose service area lies
//! near the need and who have every skill the service requires, and teams registered
//! around it; each ranked by a score whose terms are all reported
//! (`zhiyuan_domain::matching`).

use std::sync::Arc;

use time::Date;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::ids::{OrgId, VolunteerId};
use zhiyuan_domain::matching::{
    Facts, Proximity, Score, can_still_reach, category_bit, cells_within,
};
use zhiyuan_domain::order::{Holder, OrderStatus};
use zhiyuan_domain::region::{RegionCode, RegionLevel};
use zhiyuan_domain::registration::ADULT_AGE;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{HolderFacts, MatchQuery, Need, OrgQuery, PageRequest};

use crate::{Ctx, Result, ServiceError, Zhiyuan};
use zhiyuan_domain::Reason;

/// The widest search, and the default.
pub const MAX_RADIUS_M: f64 = 30_000.0;
pub const DEFAULT_RADIUS_M: f64 = 10_000.0;
/// Teams read around a need (its county's), at most.
const TEAMS_READ: u32 = 500;

/// What the dispatcher asks for.
#[derive(Debug, Clone)]
pub struct CandidateRequest {
    pub radius_m: f64,
    /// Skills asked for on top of those the service requires.
    pub skills: Vec<String>,
    pub limit: usize,
}

impl Default for CandidateRequest {
    fn default() -> Self {
        Self {
            radius_m: DEFAULT_RADIUS_M,
            skills: Vec::new(),
            limit: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CandidateKind {
    Volunteer {
        id: VolunteerId,
        number: VolunteerNumber,
        name: String,
        distance_m: f64,
    },
    Team {
        id: OrgId,
        name: String,
        region: RegionCode,
    },
}

impl CandidateKind {
    /// The id of the volunteer or team.
    fn key(&self) -> i64 {
        match self {
            Self::Volunteer { id, .. } => id.0,
            Self::Team { id, .. } => id.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub who: CandidateKind,
    pub score: Score,
}

/// The ranked proposals for one order, with what the search used.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    pub order: i64,
    /// The need's place, or its receiving site's when it gave none.
    pub place: GeoPoint,
    pub radius_m: f64,
    pub skills: Vec<String>,
    pub minors_allowed: bool,
    pub volunteers: Vec<Candidate>,
    pub teams: Vec<Candidate>,
}

/// The last birth date of someone who is an adult on `day`.
fn adult_born_by(day: Date) -> Date {
    let year = day.year() - ADULT_AGE;
    Date::from_calendar_date(year, day.month(), day.day())
        // 29 February: an adult by the 28th of a common year.
        .or_else(|_| Date::from_calendar_date(year, day.month(), day.day() - 1))
        .unwrap_or(day)
}

/// A candidate before explanation: its facts and the numeric score they give.
struct Scored {
    facts: Facts,
    points: f64,
    who: CandidateKind,
}

impl Scored {
    /// Nearer, then the older id, for equal scores: a stable order.
    fn tie_break(&self) -> (f64, i64) {
        match &self.who {
            CandidateKind::Volunteer { id, distance_m, .. } => (*distance_m, id.0),
            CandidateKind::Team { id, .. } => (0.0, id.0),
        }
    }
}

/// The best `limit`, best first, each explained (only these build their explanations).
fn top(mut all: Vec<Scored>, limit: usize, skills: &[String]) -> Vec<Candidate> {
    let order = |a: &Scored, b: &Scored| {
        let (ka, kb) = (a.tie_break(), b.tie_break());
        b.points
            .total_cmp(&a.points)
            .then_with(|| ka.0.total_cmp(&kb.0))
            .then_with(|| ka.1.cmp(&kb.1))
    };
    if all.len() > limit {
        all.select_nth_unstable_by(limit - 1, order);
        all.truncate(limit);
    }
    all.sort_by(order);
    all.into_iter()
        .map(|c| Candidate {
            score: c.facts.explain(skills),
            who: c.who,
        })
        .collect()
}

/// The `k`-th best total among `scored`, if there are that many.
fn kth_best(scored: &[Scored], k: usize) -> Option<f64> {
    let mut points: Vec<f64> = scored.iter().map(|v| v.points).collect();
    if k == 0 || points.len() < k {
        return None;
    }
    points.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    Some(points[k - 1])
}

fn scored(mut facts: Facts, known: Option<&HolderFacts>, who: CandidateKind) -> Scored {
    if let Some(h) = known {
        facts.open_orders = h.open_orders;
        facts.rating = h.mean_rating.map(|m| (m, h.rated));
    }
    Scored {
        points: facts.points(),
        facts,
        who,
    }
}

impl Zhiyuan {
    /// Candidates for an order its handlers are about to dispatch.
    pub async fn order_candidates(
        &self,
        ctx: &Ctx,
        id: i64,
        req: CandidateRequest,
    ) -> Result<Candidates> {
        let o = self.get_order(ctx, id).await?;
        if matches!(
            o.state.status,
            OrderStatus::Completed | OrderStatus::Cancelled | OrderStatus::Rejected
        ) {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::NotNow {
                    action: "candidates",
                    status: o.state.status.as_str(),
                },
            ));
        }
        if !(100.0..=MAX_RADIUS_M).contains(&req.radius_m) {
            return Err(ServiceError::because(
                "radius_m",
                Reason::OutOfRange {
                    min: 100,
                    max: MAX_RADIUS_M as i64,
                },
            ));
        }
        if !(1..=100).contains(&req.limit) {
            return Err(ServiceError::because(
                "limit",
                Reason::OutOfRange { min: 1, max: 100 },
            ));
        }
        let need = &o.order.need;
        let menu = self.order_site_menu(&o.order).await?;
        let place = need
            .location
            .or(menu.site.site.location)
            .ok_or_else(|| ServiceError::because("location", Reason::NoCoordinates))?;
        let item = menu.items.iter().find(|m| m.item.code == need.service_code);
        let mut skills = item.map(|m| m.item.skills.clone()).unwrap_or_default();
        for s in &req.skills {
            if !skills.contains(s) {
                skills.push(s.clone());
            }
        }
        let minors_allowed = item.is_some_and(|m| m.item.minors_allowed);
        let day = china_date(need.wanted_at.unwrap_or(ctx.now));

        let (volunteers, teams) = tokio::try_join!(
            self.volunteer_candidates(need, place, &skills, minors_allowed, day, &req),
            self.team_candidates(need),
        )?;

        Ok(Candidates {
            order: o.id,
            place,
            radius_m: req.radius_m,
            volunteers: top(volunteers, req.limit, &skills),
            teams: top(teams, req.limit, &[]),
            skills,
            minors_allowed,
        })
    }

    /// Volunteers: the cells around the place, then the exact distance.
    async fn volunteer_candidates(
        &self,
        need: &Need,
        place: GeoPoint,
        skills: &[String],
        minors_allowed: bool,
        day: Date,
        req: &CandidateRequest,
    ) -> Result<Vec<Scored>> {
        let rows = self
            .0
            .store
            .match_volunteers(&MatchQuery {
                cells: cells_within(place, req.radius_m),
                within: place.bounding_box(req.radius_m),
                skills: skills.to_vec(),
                born_on_or_before: (!minors_allowed).then(|| adult_born_by(day)),
            })
            .await?;
        let wanted = category_bit(need.category);
        // Each with its base points, computed once (not at every comparison of the sort).
        let mut near: Vec<(f64, Facts, CandidateKind)> = rows
            .into_iter()
            .filter_map(|r| {
                let metres = place.distance_m(r.location);
                (metres <= req.radius_m).then(|| {
                    let facts = Facts {
                        proximity: Proximity::Distance {
                            metres,
                            radius_m: req.radius_m,
                        },
                        category: r.categories & wanted != 0,
                        available: need
                            .wanted_at
                            .filter(|_| !r.availability.is_empty())
                            .map(|t| r.availability.covers(t)),
                        open_orders: 0,
                        rating: None,
                    };
                    let who = CandidateKind::Volunteer {
                        id: r.volunteer,
                        number: r.number,
                        name: r.name,
                        distance_m: metres.round(),
                    };
                    (facts.base_points(), facts, who)
                })
            })
            .collect();
        // Orders are read in two rounds at most: for the best bases first; then, once the
        // k-th best total among those is known (the final k-th can only be higher), for
        // everyone else whose base could still reach it whatever their orders say.
        near.sort_by(|a, b| b.0.total_cmp(&a.0));
        let second = near.split_off(near.len().min(2 * req.limit));
        let mut volunteers = self.scored_volunteers(near).await?;
        if let Some(kth) = kth_best(&volunteers, req.limit) {
            let reach = second.partition_point(|(base, _, _)| can_still_reach(*base, kth));
            volunteers.extend(
                self.scored_volunteers(second.into_iter().take(reach).collect())
                    .await?,
            );
        } else {
            volunteers.extend(self.scored_volunteers(second).await?);
        }
        Ok(volunteers)
    }

    /// Volunteers scored with what their orders say (load and ratings).
    async fn scored_volunteers(
        &self,
        near: Vec<(f64, Facts, CandidateKind)>,
    ) -> Result<Vec<Scored>> {
        if near.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = near.iter().map(|(_, _, w)| w.key()).collect();
        let known = self
            .0
            .store
            .holder_facts(Holder::Volunteer(VolunteerId(0)).kind(), &ids)
            .await?;
        Ok(near
            .into_iter()
            .map(|(_, facts, who)| scored(facts, known.get(&who.key()), who))
            .collect())
    }

    /// Teams: those registered in the need's county, by how close their region is.
    async fn team_candidates(&self, need: &Need) -> Result<Vec<Scored>> {
        let chain: Vec<RegionCode> = need.region.and_ancestors().collect();
        let scope = chain
            .iter()
            .copied()
            .find(|r| r.level() == RegionLevel::County)
            .unwrap_or(need.region);
        // The county's teams are kept briefly (a team registered just now may be
        // proposed ten seconds later); their orders are read every time.
        let teams = self
            .0
            .teams
            .read(scope, async {
                let page = self
                    .0
                    .store
                    .list_orgs(
                        &OrgQuery {
                            within: Some(scope),
                            ..OrgQuery::default()
                        },
                        &PageRequest::first(TEAMS_READ),
                    )
                    .await?;
                Ok(Arc::new(page.items))
            })
            .await?;
        let team_ids: Vec<i64> = teams.iter().map(|t| t.id.0).collect();
        let team_known = self
            .0
            .store
            .holder_facts(Holder::Org(OrgId(0)).kind(), &team_ids)
            .await?;
        Ok(teams
            .iter()
            .filter_map(|t| {
                let closest = chain.iter().find(|r| r.contains(t.org.region))?;
                let proximity = match closest.level() {
                    RegionLevel::Village => Proximity::SameVillage,
                    RegionLevel::Town => Proximity::SameTown,
                    _ => Proximity::SameCounty,
                };
                let facts = Facts {
                    proximity,
                    category: t.org.service_categories.contains(&need.category),
                    available: None,
                    open_orders: 0,
                    rating: None,
                };
                let who = CandidateKind::Team {
                    id: t.id,
                    name: t.org.name.clone(),
                    region: t.org.region,
                };
                Some(scored(facts, team_known.get(&t.id.0), who))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn an_adult_on_a_day_was_born_eighteen_years_before_it_or_earlier() {
        assert_eq!(adult_born_by(date!(2026 - 12 - 02)), date!(2008 - 12 - 02));
        assert_eq!(adult_born_by(date!(2028 - 02 - 29)), date!(2010 - 02 - 28));
        assert_eq!(
            zhiyuan_domain::clock::age_on(date!(2008 - 12 - 02), date!(2026 - 12 - 02)),
            ADULT_AGE
        );
        assert_eq!(
            zhiyuan_domain::clock::age_on(date!(2008 - 12 - 03), date!(2026 - 12 - 02)),
            ADULT_AGE - 1
        );
    }
}
