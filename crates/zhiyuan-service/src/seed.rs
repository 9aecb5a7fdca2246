//! Synthetic provinces, deterministic from a seed, in Guangdong's proportions: per million
//! volunteers about 1,260 sites (a practice center per county, an institute per town, a
//! station per village) and 6,300 teams across the 21 cities weighted by population.
//! Identity numbers are valid and distinct by construction (a per-county counter spread
//! over birth dates and sequence numbers); volunteer numbers come from a keyed permutation.
//!
//! [`plan`] is pure; [`Seeder`] writes a plan, streaming volunteers in batches so memory
//! stays flat at any size.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::{Date, Duration, OffsetDateTime};
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::document::{DocumentKind, IdDocument, resident_check_char};
use zhiyuan_domain::ids::OrgId;
use zhiyuan_domain::matching::{Availability, ServiceArea};
use zhiyuan_domain::org::OrgKind;
use zhiyuan_domain::person::Gender;
use zhiyuan_domain::region::{GUANGDONG_CITIES, Region, RegionCode};
use zhiyuan_domain::registration::Guardian;
use zhiyuan_domain::site::{GeoPoint, SiteKind};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{NewOrg, NewSite, NewVolunteer, VolunteerProfile};

use crate::Vault;

/// Relative population of the 21 cities (2020 census, millions), in `GUANGDONG_CITIES` order.
const CITY_WEIGHTS: [f64; 21] = [
    18.7, 2.9, 17.6, 2.4, 5.5, 9.5, 4.8, 7.0, 6.2, 4.1, 6.0, 3.9, 2.7, 2.8, 2.6, 4.0, 10.5, 4.4,
    2.6, 5.6, 2.4,
];

/// Approximate city centres (WGS-84), in `GUANGDONG_CITIES` order.
const CITY_CENTRES: [(f64, f64); 21] = [
    (23.13, 113.26),
    (24.81, 113.60),
    (22.54, 114.06),
    (22.27, 113.58),
    (23.35, 116.68),
    (23.02, 113.12),
    (22.58, 113.08),
    (21.27, 110.36),
    (21.66, 110.92),
    (23.05, 112.47),
    (23.11, 114.42),
    (24.29, 116.12),
    (22.79, 115.38),
    (23.74, 114.70),
    (21.86, 111.98),
    (23.68, 113.06),
    (23.02, 113.75),
    (22.52, 113.39),
    (23.66, 116.62),
    (23.55, 116.37),
    (22.92, 112.04),
];

const SURNAMES: &[&str] = &[
    "陈", "李", "黄", "张", "梁", "林", "刘", "吴", "罗", "何", "郑", "杨", "谢", "郭", "许", "曾",
    "邓", "冯", "蔡", "周", "叶", "苏", "卢", "钟",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超",
    "秀", "霞", "平", "刚", "嘉", "颖", "俊", "婷", "浩", "欣", "梓", "晴", "子", "轩",
];
const SKILLS: &[&str] = &[
    "急救",
    "心理咨询",
    "法律咨询",
    "外语翻译",
    "摄影",
    "驾驶",
    "教学辅导",
    "电脑维修",
    "护理",
    "手语",
    "烹饪",
    "文艺表演",
    "电工",
    "水上救生",
    "中医推拿",
];

/// Birth dates span 60 years from 1950; the youngest are 16 in 2026, so every seeded
/// volunteer is at least 14 whatever the day the seed runs.
const BIRTH_BASE: Date = time::macros::date!(1950 - 01 - 01);
const BIRTH_DAYS: i64 = 21_900;
/// A stride coprime to `BIRTH_DAYS`, spreading consecutive counters over the span.
const BIRTH_STRIDE: i64 = 7_919;

/// A county (or a city without counties) where volunteers live.
#[derive(Debug, Clone)]
pub struct County {
    /// The 6-digit code printed in identity numbers.
    pub code: RegionCode,
    /// Villages, where volunteers reside.
    pub villages: Vec<RegionCode>,
    /// Around which its volunteers' service areas lie.
    pub centre: (f64, f64),
}

/// A team to create; `parent` and `site` index into the plan's teams and sites (the
/// ids are known only once those are written).
#[derive(Debug, Clone)]
pub struct TeamPlan {
    pub org: NewOrg,
    pub parent: Option<usize>,
    pub site: Option<usize>,
}

/// Everything but the volunteers.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub volunteers: u64,
    pub regions: Vec<Region>,
    pub sites: Vec<NewSite>,
    pub teams: Vec<TeamPlan>,
    /// Per city: its counties, and the teams (indexes) volunteers there join.
    pub cities: Vec<(Vec<County>, Vec<usize>)>,
}

fn jitter(rng: &mut impl Rng, (lat, lng): (f64, f64), spread: f64) -> GeoPoint {
    GeoPoint {
        lat: lat + rng.gen_range(-spread..spread),
        lng: lng + rng.gen_range(-spread..spread),
    }
}

fn code(value: i64) -> RegionCode {
    RegionCode::from_i64(value).unwrap_or_else(|| unreachable!("synthetic code {value}"))
}

/// A valid unified social credit code for synthetic organisation `i`.
fn credit_code(i: usize) -> String {
    const CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let body = format!("5344{:06}{:07}", 440000 + i / 10_000_000, i % 10_000_000);
    let sum: usize = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| CHARS.iter().position(|&c| c == b).unwrap_or(0) * w)
        .sum();
    let check = CHARS[(31 - sum % 31) % 31] as char;
    format!("{body}{check}")
}

/// Plans a province for `volunteers` volunteers.
pub fn plan(volunteers: u64, seed: u64) -> Plan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let scale = volunteers as f64 / 1_000_000.0;
    let total_weight: f64 = CITY_WEIGHTS.iter().sum();
    let mut p = Plan {
        seed,
        volunteers,
        regions: Vec::new(),
        sites: Vec::new(),
        teams: Vec::new(),
        cities: Vec::new(),
    };
    for (ci, (city_code, city_name, has_counties)) in GUANGDONG_CITIES.iter().enumerate() {
        let city = RegionCode::parse(city_code).unwrap_or_else(|_| unreachable!());
        let share = CITY_WEIGHTS[ci] / total_weight;
        let centre = CITY_CENTRES[ci];
        let site_target = (1_260.0 * scale * share).round().max(6.0) as usize;
        let team_target = (6_300.0 * scale * share).round().max(3.0) as usize;
        // Counties of about 60 sites each; towns and villages fill the rest.
        let counties = if *has_counties {
            site_target.div_ceil(60).clamp(1, 60)
        } else {
            1
        };
        let per_county = site_target / counties;
        let towns = ((per_county as f64).sqrt() / 1.5).round().clamp(1.0, 99.0) as usize;
        let villages = ((per_county.saturating_sub(1 + towns)) / towns).clamp(1, 99);
        let mut city_counties = Vec::new();
        let mut city_sites = Vec::new();
        for k in 1..=counties {
            let county = if *has_counties {
                let county = code(city.as_i64() + k as i64 * 1_000_000);
                p.regions.push(Region {
                    code: county,
                    name: format!("{city_name}第{k}区"),
                });
                county
            } else {
                city
            };
            city_sites.push(p.sites.len());
            p.sites.push(NewSite {
                region: county,
                kind: SiteKind::PracticeCenter,
                name: format!("{}新时代文明实践中心", region_name(&p, county, city_name)),
                address: format!("{city_name}第{k}区文明路{k}号"),
                location: Some(jitter(&mut rng, centre, 0.3)),
                phone: None,
            });
            let mut county_villages = Vec::new();
            for t in 1..=towns {
                let town = code(county.as_i64() + t as i64 * 1_000);
                let town_name = format!("{}第{t}街道", region_name(&p, county, city_name));
                p.regions.push(Region {
                    code: town,
                    name: town_name.clone(),
                });
                city_sites.push(p.sites.len());
                p.sites.push(NewSite {
                    region: town,
                    kind: SiteKind::PracticeInstitute,
                    name: format!("{town_name}新时代文明实践所"),
                    address: format!("{town_name}中心路{t}号"),
                    location: Some(jitter(&mut rng, centre, 0.3)),
                    phone: None,
                });
                for v in 1..=villages {
                    let village = code(town.as_i64() + v as i64);
                    let village_name = format!("{town_name}第{v}社区");
                    p.regions.push(Region {
                        code: village,
                        name: village_name.clone(),
                    });
                    city_sites.push(p.sites.len());
                    p.sites.push(NewSite {
                        region: village,
                        kind: SiteKind::PracticeStation,
                        name: format!("{village_name}新时代文明实践站"),
                        address: format!("{village_name}{v}号"),
                        location: Some(jitter(&mut rng, centre, 0.3)),
                        phone: None,
                    });
                    county_villages.push(village);
                }
            }
            city_counties.push(County {
                code: county,
                villages: county_villages,
                centre,
            });
        }
        let mut city_teams = Vec::new();
        for t in 0..team_target {
            let site = city_sites[rng.gen_range(0..city_sites.len())];
            let region = p.sites[site].region;
            let registered = t % 7 == 0;
            let parent = (!registered && t >= 7 && rng.gen_bool(0.3)).then(|| {
                // A branch of the city's registered organisation nearest before it.
                city_teams[(t / 7) * 7]
            });
            let index = p.teams.len();
            let categories: Vec<ServiceCategory> = (0..rng.gen_range(1..=3))
                .map(|_| ServiceCategory::ALL[rng.gen_range(0..ServiceCategory::ALL.len())])
                .collect();
            p.teams.push(TeamPlan {
                org: NewOrg {
                    kind: if registered {
                        OrgKind::RegisteredOrganisation
                    } else {
                        OrgKind::GrassrootsTeam
                    },
                    name: format!(
                        "{city_name}{}志愿服务{}{}",
                        categories[0].label_zh(),
                        if registered { "协会" } else { "队" },
                        t + 1
                    ),
                    credit_code: registered.then(|| credit_code(index)),
                    parent: None,
                    region: if registered { city } else { region },
                    site: None,
                    description: "合成数据".to_owned(),
                    contact_name: None,
                    contact_phone: None,
                    service_categories: categories,
                },
                parent,
                site: (!registered).then_some(site),
            });
            city_teams.push(index);
        }
        p.cities.push((city_counties, city_teams));
    }
    p
}

fn region_name(p: &Plan, code: RegionCode, city_name: &str) -> String {
    p.regions
        .iter()
        .rev()
        .find(|r| r.code == code)
        .map_or_else(|| city_name.to_owned(), |r| r.name.clone())
}

/// Generates the plan's volunteers in order, deterministically.
#[derive(Debug)]
pub struct VolunteerGen<'p> {
    plan: &'p Plan,
    rng: ChaCha8Rng,
    /// Per city, per county: how many identity numbers were issued.
    counters: Vec<Vec<i64>>,
    city_cumulative: Vec<f64>,
    next: u64,
}

impl<'p> VolunteerGen<'p> {
    pub fn new(plan: &'p Plan) -> Self {
        let total: f64 = CITY_WEIGHTS.iter().sum();
        let mut acc = 0.0;
        let city_cumulative = CITY_WEIGHTS
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Self {
            plan,
            rng: ChaCha8Rng::seed_from_u64(plan.seed ^ 0x766f_6c75_6e74),
            counters: plan
                .cities
                .iter()
                .map(|(counties, _)| vec![0; counties.len()])
                .collect(),
            city_cumulative,
            next: 0,
        }
    }

    /// The next volunteer, the team they join (index into the plan), if any.
    pub fn next(
        &mut self,
        vault: &Vault,
        registered_at: OffsetDateTime,
    ) -> (NewVolunteer, Option<usize>) {
        let rng = &mut self.rng;
        let pick: f64 = rng.r#gen();
        let ci = self
            .city_cumulative
            .iter()
            .position(|c| pick < *c)
            .unwrap_or(20);
        let (counties, teams) = &self.plan.cities[ci];
        let k = rng.gen_range(0..counties.len());
        let county = &counties[k];
        let n = self.counters[ci][k];
        self.counters[ci][k] += 1;
        // Counter -> (birth day, sequence): distinct counters give distinct numbers.
        let seq = n % 1_000;
        let day = (n / 1_000 * BIRTH_STRIDE) % BIRTH_DAYS;
        let birth_date = BIRTH_BASE + Duration::days(day);
        let gender = if seq % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        };
        let mut digits = format!(
            "{}{:04}{:02}{:02}{:03}",
            county.code,
            birth_date.year(),
            birth_date.month() as u8,
            birth_date.day(),
            seq
        )
        .into_bytes();
        digits.push(resident_check_char(&digits));
        let number_text = String::from_utf8(digits).unwrap_or_default();
        let document = IdDocument::parse(DocumentKind::MainlandId, &number_text, None)
            .unwrap_or_else(|e| unreachable!("synthetic document {e}"));
        let name = format!(
            "{}{}{}",
            SURNAMES[rng.gen_range(0..SURNAMES.len())],
            GIVEN[rng.gen_range(0..GIVEN.len())],
            if rng.gen_bool(0.6) {
                GIVEN[rng.gen_range(0..GIVEN.len())]
            } else {
                ""
            }
        );
        let skills = (0..rng.gen_range(0..=2))
            .map(|_| SKILLS[rng.gen_range(0..SKILLS.len())].to_owned())
            .fold(Vec::new(), |mut acc: Vec<String>, s| {
                if !acc.contains(&s) {
                    acc.push(s);
                }
                acc
            });
        let mut categories =
            vec![ServiceCategory::ALL[rng.gen_range(0..ServiceCategory::ALL.len())]];
        if rng.gen_bool(0.4) {
            let c = ServiceCategory::ALL[rng.gen_range(0..ServiceCategory::ALL.len())];
            if !categories.contains(&c) {
                categories.push(c);
            }
        }
        let is_minor = zhiyuan_domain::clock::age_on(
            birth_date,
            zhiyuan_domain::clock::china_date(registered_at),
        ) < zhiyuan_domain::registration::ADULT_AGE;
        let index = self.next;
        self.next += 1;
        let phone = format!("13{:09}", index % 1_000_000_000);
        let volunteer = NewVolunteer {
            number: VolunteerNumber::from_index(index, self.plan.seed),
            gender,
            birth_date,
            document: vault.seal(&document, rng),
            profile: VolunteerProfile {
                name,
                residence_region: county.villages[rng.gen_range(0..county.villages.len())],
                phone: phone.clone(),
                skills,
                service_categories: categories,
                // Nine in ten offer to be proposed for orders, free at about a quarter of
                // the week's slots.
                service: rng.gen_bool(0.9).then(|| ServiceArea {
                    location: jitter(rng, county.centre, 0.3),
                    availability: Availability::from_bits(rng.next_u32() & rng.next_u32()),
                }),
            },
            guardian: is_minor.then(|| Guardian {
                name: format!(
                    "{}监护人",
                    SURNAMES[(index % SURNAMES.len() as u64) as usize]
                ),
                phone: format!("139{:08}", index % 100_000_000),
                consented_at: registered_at,
            }),
            privacy_consent_version: "seed".to_owned(),
            registered_at,
            password_hash: None,
        };
        let team = rng
            .gen_bool(0.8)
            .then(|| teams[(rng.next_u32() as usize) % teams.len()]);
        (volunteer, team)
    }
}

/// What a seeding run wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub regions: usize,
    pub sites: usize,
    pub teams: usize,
    pub volunteers: u64,
    pub records: u64,
}

/// Which part of a province is being written, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedPhase {
    Volunteers,
    Records,
}

/// Generates service records for volunteers `first..first + count` (ids as written by the
/// seeder, which are consecutive), `per` each on average: effective entries of the
/// province's teams, one per volunteer and day so the daily cap always holds.
#[derive(Debug)]
pub struct RecordGen {
    rng: ChaCha8Rng,
    teams: Vec<(OrgId, String)>,
    first: i64,
    count: i64,
    total: u64,
    next: u64,
}

impl RecordGen {
    pub fn new(seed: u64, teams: Vec<(OrgId, String)>, first: i64, count: i64, total: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x7265_636f_7264),
            teams,
            first,
            count,
            total,
            next: 0,
        }
    }

    /// The next record (`None` when all are written).
    pub fn next(&mut self, at: OffsetDateTime) -> Option<zhiyuan_store::NewRecord> {
        if self.next >= self.total || self.teams.is_empty() || self.count <= 0 {
            return None;
        }
        let i = self.next as i64;
        self.next += 1;
        // A volunteer's records are written together: the per-volunteer indexes and the
        // totals then grow at their ends instead of everywhere at once.
        let per = (self.total as i64).div_euclid(self.count).max(1)
            + i64::from(self.total as i64 % self.count != 0);
        let volunteer = zhiyuan_domain::ids::VolunteerId(self.first + (i / per) % self.count);
        // The k-th record of a volunteer falls on its own day within three years.
        let k = i % per;
        let day = time::macros::date!(2023 - 12 - 01) + Duration::days((k * 37 + i % 29) % 1_090);
        let rng = &mut self.rng;
        let (org, team_name) = self.teams[rng.gen_range(0..self.teams.len())].clone();
        let category = ServiceCategory::ALL[rng.gen_range(0..ServiceCategory::ALL.len())];
        Some(zhiyuan_store::NewRecord {
            volunteer,
            org,
            project: None,
            shift: None,
            activity_name: format!("{}活动", category.label_zh()),
            service_date: day,
            place: team_name,
            content: category.label_zh().to_owned(),
            minutes: 60 + 30 * rng.gen_range(0..7),
            responsible_person: format!(
                "{}{}",
                SURNAMES[rng.gen_range(0..SURNAMES.len())],
                GIVEN[rng.gen_range(0..GIVEN.len())]
            ),
            source: zhiyuan_store::RecordSource::Entry,
            status: zhiyuan_store::RecordStatus::Effective,
            flags: vec![],
            dedupe_key: None,
            created_at: at,
            created_by: None,
        })
    }
}

/// Volunteers written per transaction. Four indexes take random keys (document
/// fingerprint, number, region, team), so every commit rewrites the leaf pages it touched;
/// large batches share those pages among many rows (5,000 per batch ran at half the speed
/// at a million volunteers, see docs/PERFORMANCE.md).
const BATCH: usize = 50_000;

impl crate::Zhiyuan {
    /// Writes a synthetic province into an empty database. `progress` is called with the
    /// number of volunteers written so far after each batch.
    pub async fn seed_province(
        &self,
        volunteers: u64,
        records: u64,
        seed: u64,
        progress: impl Fn(SeedPhase, u64) + Send,
    ) -> crate::Result<SeedReport> {
        use crate::{Ctx, ServiceError};
        let store = &self.0.store;
        if store.count_volunteers().await? > 0 {
            return Err(ServiceError::conflict(
                "database",
                "the database already holds volunteers; seed into an empty one",
            ));
        }
        let ctx = Ctx::system("seed");
        self.ensure_reference_data().await?;
        let plan = std::sync::Arc::new(plan(volunteers, seed));
        let regions = store.ensure_regions(&plan.regions).await?;
        let mut site_ids = Vec::with_capacity(plan.sites.len());
        for site in &plan.sites {
            let audit = ctx.audit("site.create", "site", "", Some(site.region));
            site_ids.push(store.insert_site(site, &audit).await?.id);
        }
        let mut team_ids: Vec<OrgId> = Vec::with_capacity(plan.teams.len());
        for team in &plan.teams {
            let mut org = team.org.clone();
            org.parent = team.parent.map(|i| team_ids[i]);
            org.site = team.site.map(|i| site_ids[i]);
            let audit = ctx.audit("organisation.create", "organisation", "", Some(org.region));
            team_ids.push(store.insert_org(&org, None, &audit).await?.id);
        }

        // Generation (CPU: sealing) runs on its own thread, one batch ahead of the writer.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(NewVolunteer, Option<OrgId>)>>(2);
        let producer = {
            let plan = plan.clone();
            let vault = self.0.vault.clone();
            let team_ids = team_ids.clone();
            let now = ctx.now;
            std::thread::spawn(move || {
                let mut generator = VolunteerGen::new(&plan);
                let mut left = plan.volunteers;
                while left > 0 {
                    let n = left.min(BATCH as u64);
                    let batch = (0..n)
                        .map(|_| {
                            let (v, team) = generator.next(&vault, now);
                            (v, team.map(|i| team_ids[i]))
                        })
                        .collect();
                    if tx.blocking_send(batch).is_err() {
                        return;
                    }
                    left -= n;
                }
            })
        };
        let mut written = 0u64;
        while let Some(batch) = rx.recv().await {
            let mut audit = ctx.audit("volunteer.seed", "volunteer", "batch", None);
            audit.details = serde_json::json!({ "count": batch.len() });
            store.insert_volunteers_bulk(&batch, &audit).await?;
            written += batch.len() as u64;
            progress(SeedPhase::Volunteers, written);
        }
        producer
            .join()
            .map_err(|_| ServiceError::Internal("seed generator panicked".into()))?;

        // Records, for the volunteers just written (consecutive ids ending at the last).
        let mut records_written = 0;
        if records > 0
            && let Some(ids) = store.volunteer_id_bounds().await?
        {
            let teams: Vec<(OrgId, String)> = team_ids
                .iter()
                .zip(&plan.teams)
                .map(|(id, t)| (*id, t.org.name.clone()))
                .collect();
            let mut generator = RecordGen::new(seed, teams, ids.0, ids.1 - ids.0 + 1, records);
            loop {
                let batch: Vec<zhiyuan_store::NewRecord> =
                    (0..BATCH).map_while(|_| generator.next(ctx.now)).collect();
                if batch.is_empty() {
                    break;
                }
                let mut audit = ctx.audit("record.seed", "record", "batch", None);
                audit.details = serde_json::json!({ "count": batch.len() });
                records_written += batch.len() as u64;
                // Each volunteer's records fall on days of their own in an empty
                // database: there is no cap to check.
                store.insert_records(batch, None, &audit).await?;
                progress(SeedPhase::Records, records_written);
            }
        }
        store.refresh_statistics().await?;
        Ok(SeedReport {
            regions,
            sites: site_ids.len(),
            teams: team_ids.len(),
            volunteers: written,
            records: records_written,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_million_volunteers_plan_matches_guangdong_proportions() {
        let p = plan(1_000_000, 1);
        assert!(
            (1_150..=1_400).contains(&p.sites.len()),
            "{} sites",
            p.sites.len()
        );
        assert!(
            (6_200..=6_400).contains(&p.teams.len()),
            "{} teams",
            p.teams.len()
        );
        // Every site sits where its kind belongs, and every team inside its site.
        for s in &p.sites {
            s.kind.check_region(s.region).unwrap();
        }
        for t in &p.teams {
            if let Some(i) = t.site {
                assert!(p.sites[i].region.contains(t.org.region));
            }
            if let Some(i) = t.parent {
                assert!(p.teams[i].org.region.contains(t.org.region));
            }
            if let Some(code) = &t.org.credit_code {
                zhiyuan_domain::org::parse_credit_code(code).unwrap();
            }
        }
    }

    #[test]
    fn generated_volunteers_are_valid_distinct_and_reproducible() {
        let p = plan(20_000, 7);
        let vault = Vault::new(&[3; 32]);
        let now = OffsetDateTime::now_utc();
        let mut first = VolunteerGen::new(&p);
        let mut again = VolunteerGen::new(&p);
        let mut numbers = HashSet::new();
        let mut documents = HashSet::new();
        for _ in 0..20_000 {
            let (v, _) = first.next(&vault, now);
            let (w, _) = again.next(&vault, now);
            assert_eq!(v.number, w.number);
            assert_eq!(v.document.identity_hmac, w.document.identity_hmac);
            assert!(numbers.insert(v.number));
            assert!(documents.insert(v.document.identity_hmac.clone()));
            let opened = vault.open(&v.document.ciphertext, "mainland_id").unwrap();
            let doc = IdDocument::parse(DocumentKind::MainlandId, &opened, None).unwrap();
            let facts = doc.embedded_facts().unwrap();
            assert_eq!((facts.birth_date, facts.gender), (v.birth_date, v.gender));
            let age = zhiyuan_domain::clock::age_on(v.birth_date, now.date());
            assert!(age >= 14);
            assert_eq!(v.guardian.is_some(), age < 18);
        }
    }
}
