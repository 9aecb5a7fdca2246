//! Service menus and orders: what sites offer, the public's needs, and the orders they
//! become as they move through the network (see `zhiyuan_domain::order`).

use time::OffsetDateTime;
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::order::{Holder, OrderState, OrderStatus};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::site::GeoPoint;

/// A service a site offers (服务清单). Lower sites offer their ancestors' items unless
/// they have an item of the same code: theirs replaces it, or hides it when not offered.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuItem {
    pub site: SiteId,
    /// Stable within the hierarchy, so a lower site can override an inherited item
    /// (also the Open311 `service_code`).
    pub code: String,
    pub category: ServiceCategory,
    pub name: String,
    pub description: String,
    /// Who may ask, and what must hold (e.g. "65 or older, living alone").
    pub conditions: String,
    pub skills: Vec<String>,
    pub typical_minutes: i64,
    /// Whether minors may be proposed to carry it out (never unless said).
    pub minors_allowed: bool,
    /// `false` hides the inherited item of this code at this site and below.
    pub offered: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MenuItemRecord {
    pub id: i64,
    pub item: MenuItem,
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

/// What a resident asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub service_code: String,
    pub service_name: String,
    pub category: ServiceCategory,
    pub description: String,
    /// The village or community (or a higher region) where the service is needed.
    pub region: RegionCode,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    pub wanted_at: Option<OffsetDateTime>,
    /// Seen only by those who handle the order (Art. 21).
    pub contact_name: String,
    pub contact_phone: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// The public tracking number.
    pub tracking: String,
    /// SHA-256 of the requester's secret, which lets them cancel and rate.
    pub requester_hash: Vec<u8>,
    pub need: Need,
    /// The site that received it (and answers for it).
    pub site: SiteId,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub id: i64,
    pub order: NewOrder,
    pub state: OrderState,
    /// When a waiting order escalates if nobody took it.
    pub due_at: Option<OffsetDateTime>,
    /// The last reason given (a refusal, a decline, a cancellation).
    pub note: Option<String>,
    pub report: Option<String>,
    pub rating: Option<i16>,
    pub comment: Option<String>,
    pub accepted_at: Option<OffsetDateTime>,
    pub completed_at: Option<OffsetDateTime>,
    pub rated_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

/// Orders to list: any combination of filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Orders received by this site.
    pub site: Option<SiteId>,
    /// Orders received or held by this site: everything a station has on its desk.
    pub at_site: Option<SiteId>,
    /// Orders this holder holds.
    pub holder: Option<Holder>,
    pub status: Option<OrderStatus>,
    /// Orders whose place is in this region subtree.
    pub within: Option<RegionCode>,
}

/// What a team's or volunteer's orders say about them, for ranking candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HolderFacts {
    /// Assigned to or accepted by them, not yet completed.
    pub open_orders: i64,
    pub rated: i64,
    pub mean_rating: Option<f64>,
}

/// How a site's orders went.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteOrderStats {
    pub site: SiteId,
    pub stats: OrderStats,
}

/// How a set of orders went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderStats {
    pub orders: i64,
    /// Taken by a team or volunteer (at some point).
    pub accepted: i64,
    pub completed: i64,
    pub rated: i64,
    /// Mean rating (1 to 5) of the rated ones.
    pub mean_rating: Option<f64>,
    /// Mean seconds from receipt to acceptance, and to completion.
    pub mean_secs_to_accept: Option<f64>,
    pub mean_secs_to_complete: Option<f64>,
}

impl OrderStats {
    /// Several sets together (a jurisdiction from its sites): counts summed, each mean
    /// weighted by how many orders it covers.
    pub fn combine<'a>(parts: impl IntoIterator<Item = &'a OrderStats> + Clone) -> Self {
        let weighted = |mean: fn(&OrderStats) -> Option<f64>, weight: fn(&OrderStats) -> i64| {
            let (sum, n) =
                parts
                    .clone()
                    .into_iter()
                    .fold((0.0, 0i64), |(sum, n), s| match mean(s) {
                        Some(x) => (sum + x * weight(s) as f64, n + weight(s)),
                        None => (sum, n),
                    });
            (n > 0).then(|| sum / n as f64)
        };
        let total = |count: fn(&OrderStats) -> i64| parts.clone().into_iter().map(count).sum();
        Self {
            orders: total(|s| s.orders),
            accepted: total(|s| s.accepted),
            completed: total(|s| s.completed),
            rated: total(|s| s.rated),
            mean_rating: weighted(|s| s.mean_rating, |s| s.rated),
            mean_secs_to_accept: weighted(|s| s.mean_secs_to_accept, |s| s.accepted),
            mean_secs_to_complete: weighted(|s| s.mean_secs_to_complete, |s| s.completed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jurisdiction_sums_its_sites_and_weighs_their_means_by_what_they_cover() {
        let a = OrderStats {
            orders: 4,
            accepted: 3,
            completed: 2,
            rated: 1,
            mean_rating: Some(5.0),
            mean_secs_to_accept: Some(100.0),
            mean_secs_to_complete: Some(1000.0),
        };
        let b = OrderStats {
            orders: 2,
            accepted: 1,
            completed: 0,
            rated: 3,
            mean_rating: Some(1.0),
            mean_secs_to_accept: Some(500.0),
            mean_secs_to_complete: None,
        };
        let total = OrderStats::combine([&a, &b]);
        assert_eq!(
            (total.orders, total.accepted, total.completed, total.rated),
            (6, 4, 2, 4)
        );
        assert_eq!(total.mean_rating, Some(2.0));
        assert_eq!(total.mean_secs_to_accept, Some(200.0));
        assert_eq!(total.mean_secs_to_complete, Some(1000.0));
        assert_eq!(OrderStats::combine([]), OrderStats::default());
    }
}
