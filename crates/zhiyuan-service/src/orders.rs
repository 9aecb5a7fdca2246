//! Matching the public's needs to volunteers through the civilization-practice network:
//! sites publish menus (服务清单), residents order from them (群众点单), the site covering
//! the place verifies the need and makes it an order (制单), orders go down level by level
//! or are offered for teams to grab (层层派单), a team or volunteer takes and carries it out
//! (接单), and the resident rates it (评单).
//!
//! The state machine is `zhiyuan_domain::order`; this module decides who may act, where
//! an order goes next, and records every move with its reason in the audit trail (each
//! order's history is its audit entries). Moves are optimistic: an order changed by
//! someone else meanwhile is refused, so of two teams grabbing one order exactly one wins.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use zhiyuan_domain::access::Access;
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::{OrgId, SiteId};
use zhiyuan_domain::order::{Holder, OrderAction, OrderStatus};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::site::{GeoPoint, SiteKind};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_domain::{FieldError, Invalid, Reason};
use zhiyuan_store::{
    MenuItem, MenuItemRecord, Need, NewOrder, OrderQuery, OrderRecord, OrderStats, Page,
    PageRequest, SiteOrderStats, SiteRecord, StoreError,
};

use crate::announce::Stale;
use crate::error::{Result, ServiceError};
use crate::text;
use crate::{Actor, Ctx, Zhiyuan};

/// How orders move on their own.
#[derive(Debug, Clone, Copy)]
pub struct OrderSettings {
    /// An assigned or offered order nobody took within this time escalates to the next
    /// site up.
    pub take_within: Duration,
    /// How far from a site a place given only by coordinates may be and still be covered.
    pub site_radius_m: f64,
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self {
            take_within: Duration::hours(4),
            site_radius_m: 5_000.0,
        }
    }
}

/// A menu item as a site's staff describes it.
#[derive(Debug, Clone)]
pub struct MenuItemInput {
    pub code: String,
    pub category: String,
    pub name: String,
    pub description: String,
    pub conditions: String,
    pub skills: Vec<String>,
    pub typical_minutes: i64,
    pub minors_allowed: bool,
    pub offered: bool,
}

/// What a resident submits.
#[derive(Debug, Clone, Default)]
pub struct NeedInput {
    pub service_code: String,
    pub description: String,
    /// The village or community; or give `location` and the nearest site decides.
    pub region: Option<String>,
    pub address: Option<String>,
    pub location: Option<(f64, f64)>,
    pub wanted_at: Option<OffsetDateTime>,
    pub contact_name: String,
    pub contact_phone: String,
}

/// A submitted need: the order, and the secret that lets the requester cancel and rate.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub order: OrderRecord,
    pub secret: String,
}

/// What a handler does to an order.
#[derive(Debug, Clone)]
pub enum OrderCommand {
    Verify,
    Refuse,
    AssignSite(SiteId),
    AssignOrg(OrgId),
    AssignVolunteer(VolunteerNumber),
    /// Offer to an area (default: the site's own region).
    Offer(Option<RegionCode>),
    Accept,
    /// Grab an offered order for a team, or (without one) as the signed-in volunteer.
    Grab(Option<OrgId>),
    Decline,
    /// Up to the site above the one holding it (or, for an order a team or volunteer
    /// holds, above its dispatcher).
    Escalate,
    /// Up to the site above the dispatcher of a waiting order nobody took in time
    /// (housekeeping): the level that dispatched it hands it to the level above.
    EscalateOverdue,
    Recall,
    /// The taker reports it done; a team also records its members' hours.
    Complete(Completion),
    Cancel,
}

/// What a taker reports on completing an order.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub report: String,
    /// A team's members who served, with their minutes: each becomes an ordinary service
    /// record of the team (Art. 7), logged and counted like any other.
    pub attendees: Vec<(VolunteerNumber, i64)>,
    /// The person responsible, required with attendees (Art. 7).
    pub responsible_person: Option<String>,
}

/// The practice network's kinds: where needs are received and orders dispatched.
fn is_network(kind: SiteKind) -> bool {
    matches!(
        kind,
        SiteKind::PracticeStation | SiteKind::PracticeInstitute | SiteKind::PracticeCenter
    )
}

fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A site and the menu it offers (as matching keeps it).
#[derive(Debug)]
pub(crate) struct SiteMenu {
    pub site: SiteRecord,
    pub items: Vec<MenuItemRecord>,
}

const TRACKING_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A tracking number: `D` and 10 Crockford base-32 characters (50 random bits).
fn new_tracking() -> String {
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let tail: String = bytes
        .iter()
        .map(|b| TRACKING_ALPHABET[usize::from(b & 31)] as char)
        .collect();
    format!("D{tail}")
}

/// The network sites (stations, institutes, centers) among `sites`, deepest region first.
fn network_nearest_first(sites: Vec<SiteRecord>) -> Vec<SiteRecord> {
    let mut sites: Vec<SiteRecord> = sites
        .into_iter()
        .filter(|s| is_network(s.site.kind))
        .collect();
    sites.sort_by_key(|s| (std::cmp::Reverse(s.site.region.level() as u8), s.id));
    sites
}

/// The menu the `chain` of covering sites (nearest first) offers, from their `items`:
/// the nearest site's item of each code wins; items marked not offered are left out, as
/// are items of sites not in the chain.
fn merged_menu(chain: &[SiteRecord], items: Vec<MenuItemRecord>) -> Vec<MenuItemRecord> {
    let rank: HashMap<SiteId, usize> = chain.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let mut nearest: HashMap<String, (usize, MenuItemRecord)> = HashMap::new();
    for item in items {
        let Some(&r) = rank.get(&item.item.site) else {
            continue;
        };
        match nearest.get(&item.item.code) {
            Some((have, _)) if *have <= r => {}
            _ => {
                nearest.insert(item.item.code.clone(), (r, item));
            }
        }
    }
    let mut menu: Vec<MenuItemRecord> = nearest
        .into_values()
        .map(|(_, m)| m)
        .filter(|m| m.item.offered)
        .collect();
    menu.sort_by(|a, b| a.item.code.cmp(&b.item.code));
    menu
}

impl Zhiyuan {
    /// A site as the order flow reads it on every move (to route and to authorise):
    /// through a cache of ten seconds, so that a busy network's moves do not each read
    /// the same sites. A site's region and kind almost never change; its staff's grants
    /// are not part of it.
    async fn site_for_orders(&self, id: SiteId) -> Result<SiteRecord> {
        self.0.sites.read(id, self.get_site(id)).await
    }

    /// The network sites covering `region`, nearest first (the village's station, the
    /// town's institute, the county's center).
    pub(crate) async fn covering_sites(&self, region: RegionCode) -> Result<Vec<SiteRecord>> {
        let regions: Vec<RegionCode> = region.and_ancestors().collect();
        let sites = self.0.store.sites_in(&regions).await?;
        Ok(network_nearest_first(sites))
    }

    /// The network sites covering `region`, nearest first, and the menu they offer there:
    /// the sites and their items read at once.
    async fn covering_menu(
        &self,
        region: RegionCode,
    ) -> Result<(Vec<SiteRecord>, Vec<MenuItemRecord>)> {
        let regions: Vec<RegionCode> = region.and_ancestors().collect();
        let (sites, items) = tokio::try_join!(
            self.0.store.sites_in(&regions),
            self.0.store.menu_items_in(&regions)
        )?;
        let chain = network_nearest_first(sites);
        let menu = merged_menu(&chain, items);
        Ok((chain, menu))
    }

    /// The menu offered at a site: its own items and its ancestors', the nearest item of
    /// each code winning, those marked not offered left out.
    pub async fn site_menu(&self, site: SiteId) -> Result<(SiteRecord, Vec<MenuItemRecord>)> {
        let site = self.get_site(site).await?;
        let (_, menu) = self.covering_menu(site.site.region).await?;
        Ok((site, menu))
    }

    /// The menu of an order's receiving site as matching reads it on every proposal:
    /// kept briefly, as `site_for_orders` keeps sites. The site is the one that covers
    /// the need's place most closely, so the sites covering that place hold it and its
    /// menu, and one round trip reads all three; should the network have changed since
    /// the order came in, the site is read first.
    pub(crate) async fn order_site_menu(&self, order: &NewOrder) -> Result<Arc<SiteMenu>> {
        self.0
            .menus
            .read(order.site, async {
                let (chain, items) = self.covering_menu(order.need.region).await?;
                if let Some(site) = chain.into_iter().next().filter(|s| s.id == order.site) {
                    return Ok(Arc::new(SiteMenu { site, items }));
                }
                let site = self.site_for_orders(order.site).await?;
                let (_, items) = self.covering_menu(site.site.region).await?;
                Ok(Arc::new(SiteMenu { site, items }))
            })
            .await
    }

    /// Every service offered somewhere, once per code (in the wording of the first site
    /// that defined it): the catalogue Open311 clients start from.
    pub async fn service_catalogue(&self) -> Result<Vec<MenuItemRecord>> {
        let mut items = self.0.store.offered_menu_items(1000).await?;
        items.dedup_by(|a, b| a.item.code == b.item.code);
        Ok(items)
    }

    /// Recent orders as the public may see them (Open311 `requests.json`).
    pub async fn recent_orders(&self, limit: u32) -> Result<Vec<OrderRecord>> {
        Ok(self
            .0
            .store
            .list_orders(&OrderQuery::default(), &PageRequest::first(limit))
            .await?
            .items)
    }

    /// The site that receives needs at a place, and its menu.
    pub async fn menu_at(&self, region: RegionCode) -> Result<(SiteRecord, Vec<MenuItemRecord>)> {
        let (chain, menu) = self.covering_menu(region).await?;
        let site = chain
            .first()
            .cloned()
            .ok_or_else(|| ServiceError::because("region", Reason::NoSiteHere))?;
        Ok((site, menu))
    }

    /// Site staff or the jurisdiction set an item of the site's menu.
    pub async fn put_menu_item(
        &self,
        ctx: &Ctx,
        site: SiteId,
        input: MenuItemInput,
    ) -> Result<MenuItemRecord> {
        let s = self.get_site(site).await?;
        ctx.require(|p| p.can_access_site(&s.facts(), Access::Write))?;
        if !is_network(s.site.kind) {
            return Err(ServiceError::because("site", Reason::NotAPracticeSite));
        }
        let mut errors = Invalid::default();
        let code = input.code.trim().to_owned();
        if code.is_empty()
            || code.len() > 40
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.push(FieldError::because("code", Reason::CodeShape));
        }
        let category = ServiceCategory::parse(&input.category);
        if category.is_none() {
            errors.push(FieldError::because("category", Reason::UnknownCategory));
        }
        let name = text("name", &input.name, 100, &mut errors);
        let description = text("description", &input.description, 2000, &mut errors);
        let conditions = if input.conditions.trim().is_empty() {
            String::new()
        } else {
            text("conditions", &input.conditions, 500, &mut errors)
        };
        let skills = errors
            .check(
                zhiyuan_domain::category::parse_skills(&input.skills)
                    .map_err(|e| e.under("skills")),
            )
            .unwrap_or_default();
        if !(1..=24 * 60).contains(&input.typical_minutes) {
            errors.push(FieldError::because(
                "typical_minutes",
                Reason::OutOfRange {
                    min: 1,
                    max: 24 * 60,
                },
            ));
        }
        let item = errors.finish(|| MenuItem {
            site,
            code: code.clone(),
            category: category.unwrap_or(ServiceCategory::Community),
            name,
            description,
            conditions,
            skills,
            typical_minutes: input.typical_minutes,
            minors_allowed: input.minors_allowed,
            offered: input.offered,
        })?;
        let mut audit = ctx.audit("menu.put", "menu_item", "", Some(s.site.region));
        audit.details =
            serde_json::json!({ "site": site.0, "code": code, "offered": input.offered });
        let put = self.0.store.put_menu_item(&item, &audit).await?;
        // An item is inherited by every site below this one.
        self.forget(Stale::Menus).await;
        Ok(put)
    }

    /// The place of a need: its region, given or found from the nearest site.
    async fn place_of(&self, input: &NeedInput) -> Result<(RegionCode, Option<GeoPoint>)> {
        let location = input
            .location
            .map(|(lat, lng)| GeoPoint::parse(lat, lng).map_err(|e| e.under("location")))
            .transpose()?;
        if let Some(r) = &input.region {
            let code = RegionCode::parse(r).map_err(|e| e.under("region"))?;
            self.require_region(code, "region").await?;
            return Ok((code, location));
        }
        let Some(point) = location else {
            return Err(ServiceError::because("region", Reason::PlaceNeeded));
        };
        let radius = self.0.config.orders.site_radius_m;
        let nearest = self
            .0
            .store
            .sites_near(point, radius)
            .await?
            .into_iter()
            .filter(|s| is_network(s.site.kind))
            .filter_map(|s| Some((s.site.location?.distance_m(point), s)))
            .filter(|(d, _)| *d <= radius)
            // The nearest; at the same distance, the most local (a station before its
            // town's institute).
            .min_by(|a, b| {
                a.0.total_cmp(&b.0)
                    .then(b.1.site.region.level().cmp(&a.1.site.region.level()))
            });
        match nearest {
            Some((_, s)) => Ok((s.site.region, Some(point))),
            None => Err(ServiceError::because(
                "location",
                Reason::NoSiteNear {
                    within_m: radius.round() as i64,
                },
            )),
        }
    }

    /// A resident submits a need from the menu of the place (public; no account needed).
    pub async fn submit_need(&self, ctx: &Ctx, input: NeedInput) -> Result<Submitted> {
        let (region, location) = self.place_of(&input).await?;
        let (site, menu) = self.menu_at(region).await?;
        let item = menu
            .iter()
            .find(|m| m.item.code == input.service_code.trim())
            .ok_or_else(|| {
                ServiceError::because(
                    "service_code",
                    Reason::NotOnMenu {
                        site: site.site.name.clone(),
                    },
                )
            })?;
        let mut errors = Invalid::default();
        let description = text("description", &input.description, 4000, &mut errors);
        let contact_name = text("contact_name", &input.contact_name, 50, &mut errors);
        let contact_phone = text("contact_phone", &input.contact_phone, 30, &mut errors);
        let address = input
            .address
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .map(|a| text("address", a, 200, &mut errors));
        if input
            .wanted_at
            .is_some_and(|t| t < ctx.now - Duration::days(1))
        {
            errors.push(FieldError::because("wanted_at", Reason::InThePast));
        }
        errors.finish(|| ())?;
        let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>());
        let need = Need {
            service_code: item.item.code.clone(),
            service_name: item.item.name.clone(),
            category: item.item.category,
            description,
            region,
            address,
            location,
            wanted_at: input.wanted_at,
            contact_name,
            contact_phone,
        };
        for _ in 0..5 {
            let tracking = new_tracking();
            let mut audit = ctx.audit("order.submit", "order", "", Some(region));
            audit.details = serde_json::json!({ "tracking": tracking, "site": site.id.0, "service": need.service_code });
            let order = NewOrder {
                tracking,
                requester_hash: hash_secret(&secret),
                need: need.clone(),
                site: site.id,
                created_at: ctx.now,
            };
            match self.0.store.insert_order(&order, &audit).await {
                Err(StoreError::Conflict { field: "tracking" }) => continue,
                other => {
                    return Ok(Submitted {
                        order: other?,
                        secret,
                    });
                }
            }
        }
        Err(ServiceError::Unavailable(
            "could not draw a free tracking number".into(),
        ))
    }

    /// An order by its tracking number, for anyone who has it (the caller shows only
    /// its public part).
    pub async fn track_order(&self, tracking: &str) -> Result<OrderRecord> {
        self.0
            .store
            .order_by_tracking(tracking.trim())
            .await?
            .ok_or(ServiceError::NotFound("order"))
    }

    async fn requester_order(&self, tracking: &str, secret: &str) -> Result<OrderRecord> {
        let o = self.track_order(tracking).await?;
        if o.order.requester_hash != hash_secret(secret) {
            return Err(ServiceError::Forbidden(
                "only the requester, with the secret given at submission, may do this",
            ));
        }
        Ok(o)
    }

    /// The requester cancels their need (before it is completed).
    pub async fn cancel_by_requester(
        &self,
        ctx: &Ctx,
        tracking: &str,
        secret: &str,
        reason: &str,
    ) -> Result<OrderRecord> {
        let o = self.requester_order(tracking, secret).await?;
        self.apply(ctx, o, OrderAction::Cancel, Some(reason.to_owned()), None)
            .await
    }

    /// The requester rates a completed order, once (评单).
    pub async fn rate_order(
        &self,
        ctx: &Ctx,
        tracking: &str,
        secret: &str,
        rating: i16,
        comment: Option<String>,
    ) -> Result<OrderRecord> {
        let mut o = self.requester_order(tracking, secret).await?;
        if o.state.status != OrderStatus::Completed {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::NotCompleted,
            ));
        }
        if o.rating.is_some() {
            return Err(ServiceError::conflict_because(
                "rating",
                Reason::AlreadyRated,
            ));
        }
        if !(1..=5).contains(&rating) {
            return Err(ServiceError::because(
                "rating",
                Reason::OutOfRange { min: 1, max: 5 },
            ));
        }
        let mut errors = Invalid::default();
        o.comment = comment
            .filter(|c| !c.trim().is_empty())
            .map(|c| text("comment", &c, 1000, &mut errors));
        errors.finish(|| ())?;
        o.rating = Some(rating);
        o.rated_at = Some(ctx.now);
        let mut audit = ctx.audit("order.rate", "order", o.id, Some(o.order.need.region));
        audit.details = serde_json::json!({ "rating": rating });
        self.save_order(&o, &audit).await
    }

    async fn save_order(
        &self,
        o: &OrderRecord,
        audit: &zhiyuan_store::AuditEntry,
    ) -> Result<OrderRecord> {
        self.0
            .store
            .update_order(o, audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "version" } => {
                    ServiceError::conflict_because("version", Reason::ChangedMeanwhile)
                }
                other => other.into(),
            })
    }

    async fn load_order(&self, id: i64) -> Result<OrderRecord> {
        self.0
            .store
            .get_order(id)
            .await?
            .ok_or(ServiceError::NotFound("order"))
    }

    /// Whether the caller handles (or may read) a site: its staff or its jurisdiction.
    fn handles_site(ctx: &Ctx, site: &SiteRecord, access: Access) -> bool {
        ctx.allows(|p| p.can_access_site(&site.facts(), access))
    }

    /// Whether the caller acts for `holder`.
    async fn acts_for(&self, ctx: &Ctx, holder: Holder, access: Access) -> Result<bool> {
        Ok(match holder {
            Holder::Site(s) => Self::handles_site(ctx, &self.site_for_orders(s).await?, access),
            Holder::Org(o) => {
                let org = self.load_org_record(o).await?;
                ctx.allows(|p| p.can_run_projects(&org.facts()))
            }
            Holder::Volunteer(v) => match &ctx.actor {
                Actor::User(p) => p.volunteer == Some(v),
                Actor::System => true,
                Actor::Anonymous => false,
            },
            Holder::Area(area) => ctx.allows(|p| p.covers(area, access)),
        })
    }

    /// An order, for those who handle it: its receiving site, its holder, its dispatcher,
    /// and the jurisdiction of its place. They see the requester's contact.
    pub async fn get_order(&self, ctx: &Ctx, id: i64) -> Result<OrderRecord> {
        let o = self.load_order(id).await?;
        self.require_handler(ctx, &o).await?;
        Ok(o)
    }

    async fn require_handler(&self, ctx: &Ctx, o: &OrderRecord) -> Result<()> {
        if ctx.allows(|p| p.covers(o.order.need.region, Access::Read))
            || self
                .acts_for(ctx, Holder::Site(o.order.site), Access::Read)
                .await?
            || self.acts_for(ctx, o.state.holder, Access::Read).await?
        {
            return Ok(());
        }
        if let Some(d) = o.state.dispatcher
            && self.acts_for(ctx, Holder::Site(d), Access::Read).await?
        {
            return Ok(());
        }
        ctx.require(|_| false)
    }

    /// The next network site above `site`.
    async fn site_above(&self, site: SiteId) -> Result<SiteRecord> {
        let s = self.get_site(site).await?;
        let Some(parent) = s.site.region.parent() else {
            return Err(no_site_above());
        };
        self.covering_sites(parent)
            .await?
            .into_iter()
            .next()
            .ok_or_else(no_site_above)
    }

    /// A handler acts on an order. The reason is required where the action needs one
    /// (refuse, decline, escalate, cancel); the requester sees it.
    pub async fn act_on_order(
        &self,
        ctx: &Ctx,
        id: i64,
        command: OrderCommand,
        reason: Option<String>,
        version: Option<i64>,
    ) -> Result<OrderRecord> {
        let o = self.load_order(id).await?;
        crate::check_version(version, o.version)?;
        let holder = o.state.holder;
        let dispatcher = o.state.dispatcher.map(Holder::Site);
        // Where the holding site may send the order: below it, or to teams and volunteers
        // of its own area or its parent's (a village station may call on its town's team).
        let holder_site = match holder {
            Holder::Site(s) => Some(self.site_for_orders(s).await?),
            _ => None,
        };
        let reach = holder_site.as_ref().map(|s| {
            let r = s.site.region;
            (r, r.parent().unwrap_or(r))
        });
        let within = |region: RegionCode, below_only: bool| match reach {
            Some((own, parent))
                if own.contains(region) || (!below_only && parent.contains(region)) =>
            {
                Ok(())
            }
            Some(_) => Err(ServiceError::because("to", Reason::OutsideArea)),
            None => Ok(()), // the state machine refuses: only a site dispatches
        };
        // Who must act: the holder for most moves, the dispatcher to take back, either to
        // escalate; the taker is checked against the area for a grab.
        let (action, actor_for) = match command {
            OrderCommand::Verify => (OrderAction::Verify, vec![holder]),
            OrderCommand::Refuse => (OrderAction::Refuse, vec![holder]),
            OrderCommand::AssignSite(s) => {
                let target = self.get_site(s).await?;
                if !is_network(target.site.kind) {
                    return Err(ServiceError::because("to", Reason::NotAPracticeSite));
                }
                within(target.site.region, true)?;
                (OrderAction::Assign(Holder::Site(s)), vec![holder])
            }
            OrderCommand::AssignOrg(org) => {
                within(self.load_org_record(org).await?.org.region, false)?;
                (OrderAction::Assign(Holder::Org(org)), vec![holder])
            }
            OrderCommand::AssignVolunteer(number) => {
                let v = self
                    .0
                    .store
                    .get_volunteer_by_number(number)
                    .await?
                    .ok_or(ServiceError::NotFound("volunteer"))?;
                within(v.profile.residence_region, false)?;
                (OrderAction::Assign(Holder::Volunteer(v.id)), vec![holder])
            }
            OrderCommand::Offer(area) => {
                let area = area.or(reach.map(|r| r.0)).unwrap_or(o.order.need.region);
                within(area, true)
                    .map_err(|_| ServiceError::because("area", Reason::OutsideArea))?;
                (OrderAction::Offer(area), vec![holder])
            }
            OrderCommand::Accept => (OrderAction::Accept, vec![holder]),
            OrderCommand::Grab(org) => {
                let Holder::Area(area) = holder else {
                    // Taken already, by whoever was quicker, or never offered.
                    let why = match o.state.status {
                        OrderStatus::Accepted | OrderStatus::Completed => Reason::TakenFirst,
                        _ => Reason::NotOffered,
                    };
                    return Err(ServiceError::conflict_because("status", why));
                };
                let taker = match org {
                    Some(org) => {
                        let r = self.load_org_record(org).await?;
                        if !area.contains(r.org.region) {
                            return Err(ServiceError::Forbidden(
                                "the order is not offered to teams of this area",
                            ));
                        }
                        Holder::Org(org)
                    }
                    None => {
                        let v = ctx.volunteer()?;
                        let record = self
                            .0
                            .store
                            .get_volunteer(v)
                            .await?
                            .ok_or(ServiceError::NotFound("volunteer"))?;
                        if !area.contains(record.profile.residence_region) {
                            return Err(ServiceError::Forbidden(
                                "the order is not offered to volunteers of this area",
                            ));
                        }
                        Holder::Volunteer(v)
                    }
                };
                (OrderAction::Grab(taker), vec![taker])
            }
            OrderCommand::Decline => (OrderAction::Decline, vec![holder]),
            OrderCommand::Escalate | OrderCommand::EscalateOverdue => {
                let overdue = matches!(command, OrderCommand::EscalateOverdue);
                let from = match (holder, o.state.dispatcher) {
                    (_, Some(d)) if overdue => d,
                    (Holder::Site(s), _) => s,
                    (_, Some(d)) => d,
                    _ => return Err(no_site_above()),
                };
                let above = self.site_above(from).await?;
                let mut who = vec![holder];
                who.extend(dispatcher);
                (OrderAction::Escalate(above.id), who)
            }
            OrderCommand::Recall => (OrderAction::Recall, dispatcher.into_iter().collect()),
            OrderCommand::Complete(c) => {
                let mut errors = Invalid::default();
                let report = text("report", &c.report, 2000, &mut errors);
                errors.finish(|| ())?;
                if !self.acts_for(ctx, holder, Access::Write).await? {
                    ctx.require(|_| false)?;
                }
                if o.state.status != OrderStatus::Accepted {
                    // The state machine's own refusal, before any record is written.
                    o.state
                        .apply(OrderAction::Complete)
                        .map_err(|why| ServiceError::conflict_because("status", why))?;
                }
                self.record_order_hours(ctx, &o, &c, &report).await?;
                let mut o = o;
                o.report = Some(report);
                return self
                    .apply(ctx, o, OrderAction::Complete, reason, None)
                    .await;
            }
            OrderCommand::Cancel => (
                OrderAction::Cancel,
                vec![Holder::Site(o.order.site), holder],
            ),
        };
        self.authorised_apply(ctx, o, action, actor_for, holder_site.as_ref(), reason)
            .await
    }

    /// A team's hours for an order, as service records of the team: one per attendee,
    /// each with a key that makes entering it again a no-op (so a completion retried after
    /// a failure records nothing twice).
    async fn record_order_hours(
        &self,
        ctx: &Ctx,
        o: &OrderRecord,
        c: &Completion,
        report: &str,
    ) -> Result<()> {
        if c.attendees.is_empty() {
            return Ok(());
        }
        if self.0.store.order_activity(o.id).await?.is_some() {
            return Err(ServiceError::because(
                "attendees",
                Reason::HoursByAttendance,
            ));
        }
        let Holder::Org(org) = o.state.holder else {
            return Err(ServiceError::because("attendees", Reason::HoursByTeam));
        };
        let responsible = c
            .responsible_person
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| ServiceError::because("responsible_person", Reason::Required))?;
        let n = &o.order.need;
        let place = n.address.clone().unwrap_or_else(|| n.region.to_string());
        for (i, (number, minutes)) in c.attendees.iter().enumerate() {
            let entry = crate::Entry {
                volunteer: *number,
                activity_name: format!("{}（{}）", n.service_name, o.order.tracking),
                service_date: zhiyuan_domain::clock::china_date(ctx.now),
                place: place.clone(),
                content: report.to_owned(),
                minutes: *minutes,
                responsible_person: responsible.to_owned(),
                dedupe_key: Some(format!("order:{}:{number}", o.id)),
            };
            match self.enter_record(ctx, org, entry).await {
                Ok(_)
                | Err(ServiceError::Conflict {
                    field: "dedupe_key",
                    ..
                }) => {}
                Err(ServiceError::Invalid(e)) => {
                    let under = format!("attendees[{i}]");
                    return Err(ServiceError::Invalid(zhiyuan_domain::Invalid(
                        e.0.into_iter().map(|f| f.under(&under)).collect(),
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Applies `action` if the caller acts for one of `actors`; `known` is a site among
    /// them already loaded.
    async fn authorised_apply(
        &self,
        ctx: &Ctx,
        o: OrderRecord,
        action: OrderAction,
        actors: Vec<Holder>,
        known: Option<&SiteRecord>,
        reason: Option<String>,
    ) -> Result<OrderRecord> {
        let mut allowed = false;
        for a in actors {
            allowed = match (a, known) {
                (Holder::Site(id), Some(site)) if site.id == id => {
                    Self::handles_site(ctx, site, Access::Write)
                }
                _ => self.acts_for(ctx, a, Access::Write).await?,
            };
            if allowed {
                break;
            }
        }
        if !allowed {
            ctx.require(|_| false)?;
        }
        self.apply(ctx, o, action, reason, None).await
    }

    /// Applies an action already authorised: the state machine, the clocks, the audit.
    async fn apply(
        &self,
        ctx: &Ctx,
        mut o: OrderRecord,
        action: OrderAction,
        reason: Option<String>,
        details: Option<serde_json::Value>,
    ) -> Result<OrderRecord> {
        let reason = crate::stated(reason);
        if action.needs_reason() && reason.is_none() {
            return Err(FieldError::because("reason", Reason::Required).into());
        }
        let from = o.state;
        o.state = from
            .apply(action)
            .map_err(|why| ServiceError::conflict_because("status", why))?;
        o.due_at = o
            .state
            .status
            .is_waiting()
            .then(|| ctx.now + self.0.config.orders.take_within);
        if o.state.status == OrderStatus::Accepted {
            o.accepted_at = Some(ctx.now);
        }
        if o.state.status == OrderStatus::Completed {
            o.completed_at = Some(ctx.now);
        }
        if reason.is_some() {
            o.note.clone_from(&reason);
        }
        let audit_action = match action {
            OrderAction::Verify => "order.verify",
            OrderAction::Refuse => "order.refuse",
            OrderAction::Assign(_) => "order.assign",
            OrderAction::Offer(_) => "order.offer",
            OrderAction::Accept => "order.accept",
            OrderAction::Grab(_) => "order.grab",
            OrderAction::Decline => "order.decline",
            OrderAction::Escalate(_) => "order.escalate",
            OrderAction::Recall => "order.recall",
            OrderAction::Complete => "order.complete",
            OrderAction::Cancel => "order.cancel",
        };
        let mut audit = ctx.audit(audit_action, "order", o.id, Some(o.order.need.region));
        audit.reason = reason;
        audit.details = details.unwrap_or_else(|| {
            serde_json::json!({
                "from": from.status.as_str(), "to": o.state.status.as_str(),
                "holder": {"kind": o.state.holder.kind(), "id": o.state.holder.id()},
            })
        });
        self.save_order(&o, &audit)
            .await
            .map_err(|e| match (action, e) {
                (
                    OrderAction::Grab(_),
                    ServiceError::Conflict {
                        field: "version", ..
                    },
                ) => ServiceError::conflict_because("status", Reason::TakenFirst),
                (_, e) => e,
            })
    }

    /// Orders, for those who handle them: a site's (received, held, or both), a team's or
    /// a volunteer's (held), or a jurisdiction's (by place). Staff of one site who name
    /// nothing get everything at their site.
    pub async fn list_orders(
        &self,
        ctx: &Ctx,
        q: &OrderQuery,
        page: &PageRequest,
    ) -> Result<Page<OrderRecord>> {
        // The results lie within the first filter named, so that one decides.
        let mut q = q.clone();
        let allowed = if let Some(s) = q.site.or(q.at_site) {
            self.acts_for(ctx, Holder::Site(s), Access::Read).await?
        } else if let Some(h) = q.holder {
            self.acts_for(ctx, h, Access::Read).await?
        } else if let Some(r) = q.within {
            ctx.allows(|p| p.covers(r, Access::Read))
        } else {
            let site = match &ctx.actor {
                Actor::User(p) => p.only_site(),
                _ => None,
            }
            // Only staff of one site have a default.
            .ok_or_else(|| ServiceError::because("at_site", Reason::Required))?;
            q.at_site = Some(site);
            self.acts_for(ctx, Holder::Site(site), Access::Read).await?
        };
        if !allowed {
            ctx.require(|_| false)?;
        }
        Ok(self.0.store.list_orders(&q, page).await?)
    }

    /// How each site of a jurisdiction answered the public: orders, completions,
    /// satisfaction, time to accept and to complete.
    pub async fn order_stats(
        &self,
        ctx: &Ctx,
        region: RegionCode,
    ) -> Result<(OrderStats, Vec<SiteOrderStats>)> {
        ctx.require(|p| p.covers(region, Access::Read))?;
        let sites = self.0.store.order_stats(region).await?;
        Ok((OrderStats::combine(sites.iter().map(|s| &s.stats)), sites))
    }

    /// Escalates every waiting order nobody took in time to the site above its dispatcher
    /// (housekeeping); returns how many moved.
    pub async fn escalate_due_orders(&self, now: OffsetDateTime) -> Result<u64> {
        let ctx = Ctx {
            now,
            ..Ctx::system("orders.escalate")
        };
        let minutes = self.0.config.orders.take_within.whole_minutes();
        let mut moved = 0;
        for o in self.0.store.due_orders(now, 500).await? {
            let id = o.id;
            let reason = format!("not taken within {minutes} minutes");
            match self
                .act_on_order(
                    &ctx,
                    id,
                    OrderCommand::EscalateOverdue,
                    Some(reason),
                    Some(o.version),
                )
                .await
            {
                Ok(_) => moved += 1,
                // Nowhere higher to go: the deadline is dropped (so it is not tried again
                // every round) and the order waits for a person, noted in its history.
                Err(ServiceError::Conflict {
                    field: "escalation",
                    ..
                }) => {
                    let mut waiting = o;
                    waiting.due_at = None;
                    let mut audit = ctx.audit(
                        "order.overdue",
                        "order",
                        id,
                        Some(waiting.order.need.region),
                    );
                    audit.reason = Some(format!(
                        "not taken within {minutes} minutes, and no site above to escalate to"
                    ));
                    match self.save_order(&waiting, &audit).await {
                        Ok(_) | Err(ServiceError::Conflict { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                // Moved meanwhile: its new state has its own deadline, if any.
                Err(ServiceError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(moved)
    }
}

fn no_site_above() -> ServiceError {
    ServiceError::conflict_because("escalation", Reason::NoSiteAbove)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_are_random_and_unambiguous() {
        let a = new_tracking();
        assert_eq!(a.len(), 11);
        assert!(a.starts_with('D'));
        assert!(a[1..].bytes().all(|b| TRACKING_ALPHABET.contains(&b)));
        assert_ne!(a, new_tracking());
    }
}
