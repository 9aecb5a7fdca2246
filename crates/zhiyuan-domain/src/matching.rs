//! Matching orders to candidates (issue 5, item 7): where volunteers are willing to serve
//! and when, the grid that indexes those places, and the score that ranks candidates with
//! every term explained.
//!
//! A volunteer opts in to being proposed by setting a service area: a point (usually near
//! home or work) and the parts of the week they are free. The store indexes the point by
//! grid cell ([`cell_of`]), one row per (skill, cell), so "the volunteers with these skills
//! within 10 km" reads the few cells around the need ([`cells_within`]) instead of a scan.

use time::OffsetDateTime;

use crate::category::ServiceCategory;
use crate::clock::CHINA;
use crate::site::GeoPoint;
use crate::{FieldError, Reason};

/// Parts of the day a volunteer can be free, in China time.
pub const DAY_PARTS: [(&str, u8, u8); 3] = [
    ("morning", 6, 12),
    ("afternoon", 12, 18),
    ("evening", 18, 22),
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// When a volunteer is usually free: any of the 21 slots "mon-morning" .. "sun-evening".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Availability(u32);

impl Availability {
    pub fn from_bits(bits: u32) -> Self {
        Self(bits & ((1 << 21) - 1))
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses slots such as `sat-morning`; `weekday-evening`, `weekend-morning` and
    /// `daily-afternoon` name several days at once.
    pub fn parse(slots: &[String]) -> Result<Self, FieldError> {
        let mut bits = 0u32;
        for (i, slot) in slots.iter().enumerate() {
            let bad = || FieldError::because(format!("[{i}]"), Reason::NotASlot);
            let (day, part) = slot.trim().split_once('-').ok_or_else(bad)?;
            let days: &[usize] = match day {
                "weekday" => &[0, 1, 2, 3, 4],
                "weekend" => &[5, 6],
                "daily" => &[0, 1, 2, 3, 4, 5, 6],
                d => match DAYS.iter().position(|x| *x == d) {
                    Some(p) => &[0, 1, 2, 3, 4, 5, 6][p..=p],
                    None => return Err(bad()),
                },
            };
            let part = DAY_PARTS
                .iter()
                .position(|(name, _, _)| *name == part)
                .ok_or_else(bad)?;
            for d in days {
                bits |= 1 << (d * 3 + part);
            }
        }
        Ok(Self(bits))
    }

    /// The slots, in week order.
    pub fn slots(self) -> Vec<String> {
        (0..21)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| format!("{}-{}", DAYS[i / 3], DAY_PARTS[i % 3].0))
            .collect()
    }

    /// The slot an instant falls in, if any (nights belong to none).
    pub fn slot_of(at: OffsetDateTime) -> Option<u32> {
        let local = at.to_offset(CHINA);
        let day = local.weekday().number_days_from_monday() as u32;
        let hour = local.hour();
        let part = DAY_PARTS
            .iter()
            .position(|(_, from, to)| (*from..*to).contains(&hour))?;
        Some(day * 3 + part as u32)
    }

    pub fn covers(self, at: OffsetDateTime) -> bool {
        Self::slot_of(at).is_some_and(|s| self.0 & (1 << s) != 0)
    }
}

/// Where and when a volunteer is willing to be proposed for orders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceArea {
    pub location: GeoPoint,
    pub availability: Availability,
}

/// Categories as a bit set (bit i = `ServiceCategory::ALL[i]`), for the index rows.
pub fn category_bits(categories: &[ServiceCategory]) -> i64 {
    categories.iter().fold(0, |bits, c| bits | category_bit(*c))
}

pub fn category_bit(c: ServiceCategory) -> i64 {
    ServiceCategory::ALL
        .iter()
        .position(|x| *x == c)
        .map_or(0, |i| 1 << i)
}

/// Grid cells are this many degrees square: about 5.5 km north-south and 5 km east-west
/// in Guangdong, so a 10 km circle spans at most 5 × 5 cells.
pub const CELL_DEGREES: f64 = 0.05;

fn cell_index(lat: f64, lng: f64) -> (i64, i64) {
    (
        (lat / CELL_DEGREES).floor() as i64,
        (lng / CELL_DEGREES).floor() as i64,
    )
}

fn cell_id((la, lo): (i64, i64)) -> i64 {
    // la in -1800..=1800, lo in -3600..=3600: both made non-negative and packed.
    (la + 2_000) * 10_000 + (lo + 4_000)
}

/// The grid cell holding a point.
pub fn cell_of(p: GeoPoint) -> i64 {
    cell_id(cell_index(p.lat, p.lng))
}

/// Every cell that meets the circle of `radius_m` around `p` (a superset: the exact
/// distance filters afterwards).
pub fn cells_within(p: GeoPoint, radius_m: f64) -> Vec<i64> {
    let ((lat0, lat1), (lng0, lng1)) = p.bounding_box(radius_m);
    let (a0, o0) = cell_index(lat0, lng0);
    let (a1, o1) = cell_index(lat1, lng1);
    (a0..=a1)
        .flat_map(|a| (o0..=o1).map(move |o| cell_id((a, o))))
        .collect()
}

/// How near a candidate is to the need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Proximity {
    /// A volunteer's service point, this far from the need, searched within `radius_m`.
    Distance {
        metres: f64,
        radius_m: f64,
    },
    /// A team, by where it is registered relative to the need's region.
    SameVillage,
    SameTown,
    SameCounty,
}

/// What is known about a candidate against one need.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub proximity: Proximity,
    /// The candidate lists the need's service category.
    pub category: bool,
    /// `None` when the need names no time or the candidate stated no availability.
    pub available: Option<bool>,
    /// Orders the candidate holds and has not finished (assigned or accepted).
    pub open_orders: i64,
    /// Mean rating of the candidate's rated orders, and how many.
    pub rating: Option<(f64, i64)>,
}

/// One part of a score, with what it was given for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Term {
    /// `distance`, `area`, `skills`, `category`, `availability`, `load` or `rating`.
    pub term: &'static str,
    pub points: f64,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Score {
    pub total: f64,
    pub terms: Vec<Term>,
}

const NEAR: f64 = 40.0;
const CATEGORY: f64 = 15.0;
const AVAILABLE: f64 = 15.0;
const UNSTATED: f64 = 5.0;
const PER_OPEN_ORDER: f64 = 10.0;
const MAX_LOAD: f64 = 30.0;
const PER_RATING_STEP: f64 = 5.0;
const MAX_RATING: f64 = 10.0;

/// The most the terms that depend on a candidate's orders (load and rating) can add.
const MAX_ORDER_BONUS: f64 = MAX_RATING;

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl Facts {
    fn proximity_points(&self) -> f64 {
        match self.proximity {
            Proximity::Distance { metres, radius_m } => {
                round1(NEAR * (1.0 - metres / radius_m).clamp(0.0, 1.0))
            }
            Proximity::SameVillage => NEAR,
            Proximity::SameTown => 30.0,
            Proximity::SameCounty => 20.0,
        }
    }

    fn category_points(&self) -> f64 {
        if self.category { CATEGORY } else { 0.0 }
    }

    fn availability_points(&self) -> f64 {
        match self.available {
            Some(true) => AVAILABLE,
            Some(false) => 0.0,
            None => UNSTATED,
        }
    }

    fn load_points(&self) -> f64 {
        if self.open_orders > 0 {
            -(PER_OPEN_ORDER * self.open_orders as f64).min(MAX_LOAD)
        } else {
            0.0
        }
    }

    fn rating_points(&self) -> f64 {
        self.rating.map_or(0.0, |(mean, _)| {
            round1(((mean - 3.0) * PER_RATING_STEP).clamp(-MAX_RATING, MAX_RATING))
        })
    }

    /// The terms that need no look at the candidate's orders.
    pub fn base_points(&self) -> f64 {
        self.proximity_points() + self.category_points() + self.availability_points()
    }

    /// The total, as [`Facts::explain`] gives it, without building the explanation.
    pub fn points(&self) -> f64 {
        round1(self.base_points() + self.load_points() + self.rating_points())
    }

    /// The score with every term explained; `skills` are those the candidate was
    /// required to have (a filter, reported for the record).
    pub fn explain(&self, skills: &[String]) -> Score {
        let proximity = match self.proximity {
            Proximity::Distance { metres, radius_m } => Term {
                term: "distance",
                points: self.proximity_points(),
                detail: format!(
                    "{:.1} km from the place of the need (searched within {:.0} km)",
                    metres / 1000.0,
                    radius_m / 1000.0
                ),
            },
            p => Term {
                term: "area",
                points: self.proximity_points(),
                detail: match p {
                    Proximity::SameVillage => "registered in the need's village or community",
                    Proximity::SameTown => "registered in the need's town or street",
                    _ => "registered in the need's county or district",
                }
                .into(),
            },
        };
        let mut terms = vec![proximity];
        if !skills.is_empty() {
            terms.push(Term {
                term: "skills",
                points: 0.0,
                detail: format!("has the required skills: {}", skills.join(", ")),
            });
        }
        terms.push(Term {
            term: "category",
            points: self.category_points(),
            detail: if self.category {
                "serves the need's category"
            } else {
                "does not list the need's category"
            }
            .into(),
        });
        terms.push(Term {
            term: "availability",
            points: self.availability_points(),
            detail: match self.available {
                Some(true) => "free at the wanted time",
                Some(false) => "not usually free at the wanted time",
                None => "no wanted time or no stated availability",
            }
            .into(),
        });
        terms.push(Term {
            term: "load",
            points: self.load_points(),
            detail: format!("{} unfinished orders", self.open_orders),
        });
        terms.push(Term {
            term: "rating",
            points: self.rating_points(),
            detail: match self.rating {
                Some((mean, n)) => format!("rated {mean:.1} of 5 over {n} orders"),
                None => "no rated orders yet".into(),
            },
        });
        Score {
            total: self.points(),
            terms,
        }
    }
}

/// Whether a candidate whose base points are `base` can still beat `kth`, the k-th best
/// total so far, once their orders are known. Candidates read best base first can stop
/// at the first that cannot: no one after it can either.
pub fn can_still_reach(base: f64, kth: f64) -> bool {
    base + MAX_ORDER_BONUS >= kth
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn availability_parses_days_and_groups_and_round_trips() {
        let a = Availability::parse(&["sat-morning".into(), "weekday-evening".into()]).unwrap();
        assert_eq!(
            a.slots(),
            [
                "mon-evening",
                "tue-evening",
                "wed-evening",
                "thu-evening",
                "fri-evening",
                "sat-morning"
            ]
        );
        assert_eq!(Availability::parse(&a.slots()).unwrap(), a);
        let e = Availability::parse(&["sat-dawn".into()]).unwrap_err();
        assert_eq!(e.field, "[0]");
        assert!(Availability::parse(&["someday-morning".into()]).is_err());
        assert!(Availability::parse(&["morning".into()]).is_err());
    }

    #[test]
    fn availability_is_read_in_china_time() {
        let a = Availability::parse(&["sat-morning".into()]).unwrap();
        // 2026-12-05 is a Saturday; 01:30 UTC is 09:30 in China.
        assert!(a.covers(datetime!(2026-12-05 01:30 UTC)));
        // 23:30 UTC on Friday is already Saturday 07:30 in China.
        assert!(a.covers(datetime!(2026-12-04 23:30 UTC)));
        // Saturday 13:00 in China is the afternoon; 23:00 at night is no slot at all.
        assert!(!a.covers(datetime!(2026-12-05 05:00 UTC)));
        assert_eq!(Availability::slot_of(datetime!(2026-12-05 15:00 UTC)), None);
    }

    #[test]
    fn the_cells_around_a_point_hold_every_point_within_the_radius() {
        let centre = GeoPoint::parse(23.1291, 113.2644).unwrap();
        let cells = cells_within(centre, 10_000.0);
        assert!(cells.len() <= 25, "{}", cells.len());
        for i in 0..360 {
            let bearing = (i as f64).to_radians();
            for km in [0.5, 5.0, 9.99] {
                let p = GeoPoint {
                    lat: centre.lat + km / 111.32 * bearing.cos(),
                    lng: centre.lng + km / (111.32 * centre.lat.to_radians().cos()) * bearing.sin(),
                };
                assert!(centre.distance_m(p) < 10_000.0);
                assert!(cells.contains(&cell_of(p)), "{p:?}");
            }
        }
        let far = GeoPoint::parse(23.1291, 113.5).unwrap();
        assert!(!cells.contains(&cell_of(far)));
        // Negative coordinates stay distinct cells.
        assert_ne!(
            cell_of(GeoPoint::parse(-0.01, -0.01).unwrap()),
            cell_of(GeoPoint::parse(0.01, 0.01).unwrap())
        );
    }

    fn facts(km: f64) -> Facts {
        Facts {
            proximity: Proximity::Distance {
                metres: km * 1000.0,
                radius_m: 10_000.0,
            },
            category: true,
            available: Some(true),
            open_orders: 0,
            rating: None,
        }
    }

    #[test]
    fn a_score_adds_its_explained_terms() {
        let s = facts(2.5).explain(&["急救".into()]);
        let names: Vec<_> = s.terms.iter().map(|t| t.term).collect();
        assert_eq!(
            names,
            [
                "distance",
                "skills",
                "category",
                "availability",
                "load",
                "rating"
            ]
        );
        assert_eq!(s.terms[0].points, 30.0);
        assert!(s.terms[0].detail.starts_with("2.5 km"));
        assert_eq!(s.total, 30.0 + 15.0 + 15.0);
        assert_eq!(
            s.terms[4].points.to_bits(),
            0.0f64.to_bits(),
            "no load is +0"
        );
        assert_eq!(facts(2.5).base_points(), s.total);
        assert_eq!(facts(2.5).points(), s.total);
        let sum: f64 = s.terms.iter().map(|t| t.points).sum();
        assert_eq!(sum, s.total);
        assert_eq!(facts(2.5).explain(&[]).terms.len(), 5, "no skills term");
    }

    #[test]
    fn nearer_free_and_well_rated_rank_higher_busy_ranks_lower() {
        assert!(facts(1.0).points() > facts(6.0).points());
        let mut busy = facts(1.0);
        busy.open_orders = 5;
        let s = busy.explain(&[]);
        assert_eq!(s.terms[3].points, -MAX_LOAD, "load is capped");
        assert_eq!(s.terms[3].detail, "5 unfinished orders");
        let mut liked = facts(1.0);
        liked.rating = Some((5.0, 3));
        let mut disliked = facts(1.0);
        disliked.rating = Some((1.0, 2));
        assert_eq!(liked.points() - facts(1.0).points(), MAX_RATING);
        assert_eq!(facts(1.0).points() - disliked.points(), MAX_RATING);
        let mut unavailable = facts(1.0);
        unavailable.available = Some(false);
        let mut unstated = facts(1.0);
        unstated.available = None;
        assert!(unavailable.points() < unstated.points());
        assert!(unstated.points() < facts(1.0).points());
    }

    #[test]
    fn reading_stops_only_where_no_bonus_could_reach_the_kth_best() {
        // The best any order terms can give is a top rating.
        let mut best = facts(3.0);
        best.rating = Some((5.0, 10));
        let bonus = best.points() - facts(3.0).points();
        assert_eq!(bonus, MAX_ORDER_BONUS);
        let kth = 50.0;
        assert!(
            can_still_reach(kth - bonus, kth),
            "a tie may still win on distance"
        );
        assert!(!can_still_reach(kth - bonus - 0.1, kth));
    }
}
