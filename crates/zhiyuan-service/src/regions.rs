//! Regions: the public tree, extended by administrators below their jurisdiction.

use zhiyuan_domain::access::Access;
use zhiyuan_domain::region::{Region, RegionCode};
use zhiyuan_store::{AuditQuery, AuditRecord, Page, PageRequest, RegionQuery};

use crate::error::{Result, ServiceError};
use crate::{Changes, Ctx, Zhiyuan};
use zhiyuan_domain::Reason;

impl Zhiyuan {
    /// Adds a region beneath an existing parent, inside the caller's jurisdiction.
    pub async fn create_region(&self, ctx: &Ctx, region: Region) -> Result<Region> {
        let parent = region
            .parent()
            .ok_or_else(|| ServiceError::because("code", Reason::ProvinceFixed))?;
        if self.0.store.get_region(parent).await?.is_none() {
            return Err(ServiceError::because("code", Reason::UnknownRegion(parent)));
        }
        ctx.require(|p| p.can_create_in(parent))?;
        let mut audit = ctx.audit("region.create", "region", region.code, Some(region.code));
        audit.details = serde_json::json!({ "name": region.name });
        self.0.store.insert_region(&region, &audit).await?;
        Ok(region)
    }

    pub async fn get_region(&self, code: RegionCode) -> Result<Region> {
        self.0
            .store
            .get_region(code)
            .await?
            .ok_or(ServiceError::NotFound("region"))
    }

    pub async fn list_regions(&self, q: &RegionQuery, page: &PageRequest) -> Result<Page<Region>> {
        Ok(self.0.store.list_regions(q, page).await?)
    }

    /// Renames a region; only from above it.
    pub async fn rename_region(&self, ctx: &Ctx, code: RegionCode, name: String) -> Result<Region> {
        let mut region = self.get_region(code).await?;
        ctx.require(|p| p.can_update_region(code))?;
        let mut changes = Changes::default();
        changes.note("name", &region.name, &name);
        if changes.is_empty() {
            return Ok(region);
        }
        region.name = name;
        let mut audit = ctx.audit("region.rename", "region", code, Some(code));
        audit.details = changes.into_json();
        self.0.store.rename_region(&region, &audit).await?;
        Ok(region)
    }

    /// The audit trail of a region subtree, newest first.
    pub async fn list_audit(
        &self,
        ctx: &Ctx,
        within: Option<RegionCode>,
        subject: Option<(String, String)>,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>> {
        let within = self.scope_of_listing(ctx, within)?;
        ctx.require(|p| p.covers(within, Access::Read))?;
        Ok(self
            .0
            .store
            .list_audit(
                &AuditQuery {
                    within: Some(within),
                    subject,
                },
                page,
            )
            .await?)
    }
}
