//! Service sites: a public directory, maintained by the jurisdiction and the site's staff.

use zhiyuan_domain::access::Access;
use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::site::{GeoPoint, SiteKind};
use zhiyuan_store::{NewSite, Page, PageRequest, SiteQuery, SiteRecord};

use crate::announce::Stale;
use crate::error::{Result, ServiceError};
use crate::{Changes, Ctx, Zhiyuan};

/// A change to a site; `None` leaves a field as it is. The region never changes.
#[derive(Debug, Clone, Default)]
pub struct SitePatch {
    pub kind: Option<SiteKind>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub location: Option<Option<GeoPoint>>,
    pub phone: Option<Option<String>>,
    /// The version the change is based on; a stale one is refused.
    pub version: Option<i64>,
}

impl Zhiyuan {
    pub async fn create_site(&self, ctx: &Ctx, site: NewSite) -> Result<SiteRecord> {
        self.require_region(site.region, "region").await?;
        site.kind.check_region(site.region)?;
        ctx.require(|p| p.can_create_in(site.region))?;
        let mut audit = ctx.audit("site.create", "site", "", Some(site.region));
        audit.details = serde_json::json!({ "name": site.name, "kind": site.kind });
        Ok(self.0.store.insert_site(&site, &audit).await?)
    }

    pub async fn get_site(&self, id: SiteId) -> Result<SiteRecord> {
        self.0
            .store
            .get_site(id)
            .await?
            .ok_or(ServiceError::NotFound("site"))
    }

    pub async fn list_sites(&self, q: &SiteQuery, page: &PageRequest) -> Result<Page<SiteRecord>> {
        Ok(self.0.store.list_sites(q, page).await?)
    }

    pub async fn update_site(&self, ctx: &Ctx, id: SiteId, patch: SitePatch) -> Result<SiteRecord> {
        let mut record = self.get_site(id).await?;
        ctx.require(|p| p.can_access_site(&record.facts(), Access::Write))?;
        crate::check_version(patch.version, record.version)?;
        let before = record.site.clone();
        let s = &mut record.site;
        if let Some(kind) = patch.kind {
            kind.check_region(s.region)?;
            s.kind = kind;
        }
        if let Some(name) = patch.name {
            s.name = name;
        }
        if let Some(address) = patch.address {
            s.address = address;
        }
        if let Some(location) = patch.location {
            s.location = location;
        }
        if let Some(phone) = patch.phone {
            s.phone = phone;
        }
        let mut changes = Changes::default();
        changes.note("kind", &before.kind, &s.kind);
        changes.note("name", &before.name, &s.name);
        changes.note("address", &before.address, &s.address);
        changes.note("location", &before.location, &s.location);
        changes.note("phone", &before.phone, &s.phone);
        if changes.is_empty() {
            return Ok(record);
        }
        let mut audit = ctx.audit("site.update", "site", id, Some(s.region));
        audit.details = changes.into_json();
        let updated = self.0.store.update_site(&record, &audit).await?;
        // The order flow's caches, here and on the other app servers.
        self.forget(Stale::Site(id)).await;
        Ok(updated)
    }
}
