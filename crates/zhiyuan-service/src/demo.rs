//! The demo province behind `serve --demo`: a small synthetic province, one login per
//! role, and something for every role to look at: a team with a pending application, a
//! published project with upcoming shifts (the demo volunteer signed up for the first),
//! weekly service records (the team admin's past the first star's hours), a service menu,
//! and a resident's need waiting at the village station where the site staff login works.

use std::sync::Arc;

use time::{Duration, PrimitiveDateTime};
use zhiyuan_domain::access::{GrantedRole, Principal};
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::clock::{CHINA, china_date};
use zhiyuan_domain::document::{DocumentKind, IdDocument, resident_check_char};
use zhiyuan_domain::org::OrgKind;
use zhiyuan_domain::person::Gender;
use zhiyuan_domain::project::{Conditions, ProjectStatus, SignupMode};
use zhiyuan_domain::region::{RegionCode, RegionLevel};
use zhiyuan_domain::registration::{Registration, parse_date};
use zhiyuan_store::{
    NewOrg, NewProject, NewShift, OrgRecord, PageRequest, RegionQuery, SiteQuery, SiteRecord,
    VolunteerRecord,
};

use crate::error::{Result, ServiceError};
use crate::{Actor, Ctx, Entry, NewStaff, Zhiyuan};

/// The password of every demo login.
pub const DEMO_PASSWORD: &str = "zhiyuan-demo";

/// Demo logins by role.
#[derive(Debug, Clone)]
pub struct DemoLogins {
    pub password: &'static str,
    pub accounts: Vec<(&'static str, String)>,
}

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap_or_else(|_| unreachable!("demo code {s}"))
}

impl Zhiyuan {
    async fn demo_volunteer(
        &self,
        ctx: &Ctx,
        name: &str,
        birth: &str,
        seq: &str,
        residence: RegionCode,
    ) -> Result<VolunteerRecord> {
        let mut digits = format!("440106{}{seq}", birth.replace('-', "")).into_bytes();
        digits.push(resident_check_char(&digits));
        let number = String::from_utf8(digits).unwrap_or_default();
        let document = IdDocument::parse(DocumentKind::MainlandId, &number, None)?;
        let facts = document
            .embedded_facts()
            .ok_or_else(|| ServiceError::Internal("demo document has no facts".into()))?;
        let registration = Registration {
            name: name.to_owned(),
            gender: facts.gender,
            birth_date: parse_date(birth)?,
            document,
            residence_region: residence,
            phone: "13800138000".to_owned(),
            skills: vec!["急救".to_owned()],
            service_categories: vec![ServiceCategory::Community],
            password: DEMO_PASSWORD.to_owned(),
            privacy_consent_version: self.0.config.privacy_policy_version.clone(),
            guardian: None,
        };
        debug_assert!(matches!(registration.gender, Gender::Male | Gender::Female));
        self.register_volunteer(ctx, registration).await
    }

    /// Seeds the demo province into an empty database (409 otherwise).
    pub async fn seed_demo(&self) -> Result<DemoLogins> {
        self.seed_province(300, 3_000, 2026, |_, _| {}).await?;
        let ctx = Ctx::system("demo");
        let staff = |login: &str, name: &str, role, region: Option<&str>, site| NewStaff {
            login: login.to_owned(),
            display_name: name.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
            role,
            region: region.map(code),
            site,
        };
        let gz = code("440100");
        let first = PageRequest::first(1);
        let gz_site = self
            .0
            .store
            .list_sites(
                &SiteQuery {
                    within: Some(gz),
                    kind: None,
                },
                &first,
            )
            .await?
            .items
            .pop()
            .ok_or(ServiceError::NotFound("demo site"))?;
        let gz_village = self
            .0
            .store
            .list_regions(
                &RegionQuery {
                    within: Some(gz),
                    parent: None,
                    level: Some(RegionLevel::Village),
                },
                &first,
            )
            .await?
            .items
            .pop()
            .ok_or(ServiceError::NotFound("demo village"))?;
        // The village's own station, which receives its residents' needs.
        let station = self
            .covering_sites(gz_village.code)
            .await?
            .into_iter()
            .next()
            .ok_or(ServiceError::NotFound("demo station"))?;
        let accounts = [
            (
                "province admin",
                staff(
                    "demo-province",
                    "省级管理员",
                    GrantedRole::JurisdictionAdmin,
                    Some("440000"),
                    None,
                ),
            ),
            (
                "Guangzhou admin",
                staff(
                    "demo-guangzhou",
                    "广州市管理员",
                    GrantedRole::JurisdictionAdmin,
                    Some("440100"),
                    None,
                ),
            ),
            (
                "Shenzhen admin",
                staff(
                    "demo-shenzhen",
                    "深圳市管理员",
                    GrantedRole::JurisdictionAdmin,
                    Some("440300"),
                    None,
                ),
            ),
            (
                "auditor",
                staff(
                    "demo-auditor",
                    "审计员",
                    GrantedRole::Auditor,
                    Some("440000"),
                    None,
                ),
            ),
            (
                "site staff (village station)",
                staff(
                    "demo-site",
                    "站点工作人员",
                    GrantedRole::SiteStaff,
                    None,
                    Some(station.id),
                ),
            ),
        ];
        let mut logins = Vec::new();
        for (role, s) in accounts {
            let login = s.login.clone();
            self.create_staff(&ctx, s).await?;
            logins.push((role, login));
        }
        let leader = self
            .demo_volunteer(&ctx, "陈志愿", "1990-05-05", "123", gz_village.code)
            .await?;
        let member = self
            .demo_volunteer(&ctx, "李晓华", "1998-08-08", "246", gz_village.code)
            .await?;
        let team = self
            .create_org(
                &ctx,
                NewOrg {
                    kind: OrgKind::GrassrootsTeam,
                    name: "广州市示范志愿服务队".to_owned(),
                    credit_code: None,
                    parent: None,
                    region: gz_site.site.region,
                    site: Some(gz_site.id),
                    description: "演示用志愿服务队".to_owned(),
                    contact_name: Some("陈志愿".to_owned()),
                    contact_phone: Some("13800138000".to_owned()),
                    service_categories: vec![ServiceCategory::Community],
                },
                Some(leader.number),
            )
            .await?;
        let member_account = self
            .0
            .store
            .find_account(&member.number.to_string())
            .await?
            .ok_or(ServiceError::NotFound("demo account"))?;
        let as_member = Ctx::new(
            Actor::User(Arc::new(Principal {
                account: member_account.id,
                volunteer: Some(member.id),
                grants: Vec::new(),
            })),
            "system:demo",
        );
        self.apply_for_membership(&as_member, team.id).await?;
        self.seed_demo_activity(&ctx, &as_member, &team, &gz_site, &leader, &member)
            .await?;
        // A menu at the county's practice center, offered by its towns and villages, and
        // a need from a resident of the demo village waiting at its station.
        for (code, category, name, description) in [
            (
                "elderly-visit",
                "elderly",
                "独居老人探访",
                "志愿者上门陪伴、代购、安全检查",
            ),
            ("tutoring", "education", "课业辅导", "为社区儿童辅导功课"),
        ] {
            self.put_menu_item(
                &ctx,
                gz_site.id,
                crate::MenuItemInput {
                    code: code.to_owned(),
                    category: category.to_owned(),
                    name: name.to_owned(),
                    description: description.to_owned(),
                    conditions: String::new(),
                    skills: Vec::new(),
                    typical_minutes: 90,
                    // Secondary-school volunteers tutor children; visits at home are for adults.
                    minors_allowed: code == "tutoring",
                    offered: true,
                },
            )
            .await?;
        }
        self.submit_need(
            &Ctx::new(Actor::Anonymous, "system:demo"),
            crate::NeedInput {
                service_code: "elderly-visit".to_owned(),
                description: "母亲独居，希望每周有人探访".to_owned(),
                region: Some(gz_village.code.to_string()),
                address: Some("示范社区3栋".to_owned()),
                contact_name: "王女士".to_owned(),
                contact_phone: "13700137000".to_owned(),
                ..crate::NeedInput::default()
            },
        )
        .await?;
        logins.push(("team admin (volunteer)", leader.number.to_string()));
        logins.push(("volunteer", member.number.to_string()));
        Ok(DemoLogins {
            password: DEMO_PASSWORD,
            accounts: logins,
        })
    }

    /// The team's project "社区环境清洁行动", published, with a morning shift on each of
    /// the next two Saturdays (the demo volunteer signed up for the first), and weekly
    /// records entered by the team: four hours a week for the past 26 weeks for the team
    /// admin (104 hours, past the first star's 100 under the default rules), three hours a
    /// week for the past three weeks for the volunteer.
    async fn seed_demo_activity(
        &self,
        ctx: &Ctx,
        as_member: &Ctx,
        team: &OrgRecord,
        site: &SiteRecord,
        leader: &VolunteerRecord,
        member: &VolunteerRecord,
    ) -> Result<()> {
        const NAME: &str = "社区环境清洁行动";
        let today = china_date(ctx.now);
        let project = self
            .create_project(
                ctx,
                NewProject {
                    org: team.id,
                    name: NAME.to_owned(),
                    category: ServiceCategory::Community,
                    description: "每周六上午清理社区公共区域、分类回收垃圾，工具由服务队提供。"
                        .to_owned(),
                    region: site.site.region,
                    site: Some(site.id),
                    address: "示范社区文化广场".to_owned(),
                    location: site.site.location,
                    geofence_m: None,
                    starts_on: today,
                    ends_on: today + Duration::days(60),
                    // Teenagers of 16 and 17 may join, with their guardian's consent.
                    conditions: Conditions {
                        min_age: Some(16),
                        minors_allowed: true,
                        ..Conditions::default()
                    },
                    risky: false,
                    risk_disclosure: String::new(),
                    insurance: None,
                    signup_mode: SignupMode::Automatic,
                    review_required: false,
                    responsible_person: "陈志愿".to_owned(),
                    status: ProjectStatus::Draft,
                },
            )
            .await?;
        self.change_project_status(ctx, project.id, ProjectStatus::Published, None)
            .await?;
        // The first Saturday after today (a week on when today is a Saturday).
        let saturday = today
            + Duration::days(i64::from(
                7 - (today.weekday().number_days_from_monday() + 2) % 7,
            ));
        let mut shifts = Vec::new();
        for week in 0..2 {
            let day = saturday + Duration::weeks(week);
            let starts_at =
                PrimitiveDateTime::new(day, time::macros::time!(9:00)).assume_offset(CHINA);
            shifts.push(
                self.create_shift(
                    ctx,
                    NewShift {
                        project: project.id,
                        position: "清洁员".to_owned(),
                        starts_at,
                        ends_at: starts_at + Duration::hours(3),
                        capacity: 10,
                    },
                )
                .await?,
            );
        }
        self.sign_up(as_member, shifts[0].id).await?;
        for (volunteer, weeks, minutes) in [(leader, 26, 240), (member, 3, 180)] {
            for week in 1..=weeks {
                self.enter_record(
                    ctx,
                    team.id,
                    Entry {
                        volunteer: volunteer.number,
                        activity_name: NAME.to_owned(),
                        service_date: today - Duration::weeks(week),
                        place: "示范社区".to_owned(),
                        content: "清理公共区域，分类回收垃圾".to_owned(),
                        minutes,
                        responsible_person: "陈志愿".to_owned(),
                        dedupe_key: Some(format!("demo-{}-{week}", volunteer.number)),
                    },
                )
                .await?;
            }
        }
        Ok(())
    }
}
