//! Record certificates (Art. 14, 15, 17): a volunteer issues their own free certificate of
//! their effective records, in total or listed one by one. The certified facts are kept as
//! issued; the PDF carries a QR code to a public verification page that confirms validity
//! and those facts, and nothing more. Numbers carry 80 random bits and cannot be guessed;
//! a certificate can be revoked.

use rand::RngCore;
use time::Date;
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::hours::hours;
use zhiyuan_pdf::{Document, Line};
use zhiyuan_store::{
    CertificateFacts, CertificateRecord, NewCertificate, Page, PageRequest, StoreError,
    VolunteerRecord,
};

use crate::error::{Result, ServiceError, on_blocking_pool};
use crate::{Actor, Ctx, Zhiyuan};

/// Most records listed on one certificate.
pub const MAX_LISTED: u32 = 500;

/// What a volunteer asks to be certified.
#[derive(Debug, Clone, Copy, Default)]
pub struct CertificateRequest {
    /// List each record (otherwise totals per recording unit only).
    pub list_records: bool,
    pub from: Option<Date>,
    pub until: Option<Date>,
}

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh certificate number: `ZY-` and 16 Crockford base-32 characters (80 bits).
fn new_number() -> String {
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    let chars: Vec<char> = (0..16)
        .map(|i| ALPHABET[((bits >> (5 * (15 - i))) & 31) as usize] as char)
        .collect();
    let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    format!("ZY-{}", groups.join("-"))
}

/// The public verification address of certificate `number`.
pub fn verification_url(public_url: &str, number: &str) -> String {
    format!("{}/verify/{number}", public_url.trim_end_matches('/'))
}

fn period(f: &CertificateFacts) -> String {
    match (f.from, f.until) {
        (None, None) => "全部记录".to_owned(),
        (Some(a), None) => format!("{a} 起"),
        (None, Some(b)) => format!("截至 {b}"),
        (Some(a), Some(b)) => format!("{a} 至 {b}"),
    }
}

/// The certificate as a printable document.
pub fn document(c: &CertificateRecord, public_url: &str) -> Document {
    let f = &c.certificate.facts;
    let number = &c.certificate.number;
    let url = verification_url(public_url, number);
    let mut lines = vec![
        Line::Title("志愿服务记录证明".into()),
        Line::Field("姓名".into(), f.name.clone()),
        Line::Field("证件类型".into(), f.document_kind.label_zh().into()),
        Line::Field("证件号码".into(), f.document_masked.clone()),
        Line::Field("志愿者编号".into(), f.volunteer_number.clone()),
        Line::Field("服务期间".into(), period(f)),
        Line::Field(
            "累计服务时长".into(),
            format!("{} 小时（{} 条记录）", hours(f.minutes), f.records),
        ),
        Line::Heading("记录单位".into()),
        Line::Header(vec![
            "记录单位".into(),
            "服务时长（小时）".into(),
            "记录数".into(),
        ]),
    ];
    for u in &f.units {
        lines.push(Line::Row(vec![
            u.name.clone(),
            hours(u.minutes).to_string(),
            u.records.to_string(),
        ]));
    }
    if !f.listed.is_empty() {
        lines.push(Line::Heading("服务记录".into()));
        lines.push(Line::Header(vec![
            "日期".into(),
            "活动名称".into(),
            "服务内容".into(),
            "时长".into(),
            "记录单位".into(),
        ]));
        for r in &f.listed {
            lines.push(Line::Row(vec![
                r.date.to_string(),
                r.activity.clone(),
                r.content.clone(),
                hours(r.minutes).to_string(),
                r.unit.clone(),
            ]));
        }
    }
    lines.extend([
        Line::Gap,
        Line::Field("出具单位".into(), f.issuer.clone()),
        Line::Field("证明编号".into(), number.clone()),
        Line::Field(
            "出具日期".into(),
            china_date(c.certificate.issued_at).to_string(),
        ),
        Line::Gap,
        Line::Text(format!(
            "本证明依据《志愿服务记录与证明出具办法（试行）》免费出具，所载服务时长为实际服务时间。\
             扫描二维码或访问 {url} 可核验本证明的真实性与有效性。"
        )),
    ]);
    if c.revoked_at.is_some() {
        lines.insert(1, Line::Text("本证明已被撤销，不再有效。".into()));
    }
    Document {
        title: format!("志愿服务记录证明 {number}"),
        lines,
        columns: vec![0.14, 0.26, 0.26, 0.1, 0.24],
        qr: url,
        qr_caption: "扫码核验".into(),
        footer: format!("证明编号 {number}"),
    }
}

impl Zhiyuan {
    /// The signed-in volunteer issues a certificate of their effective records.
    pub async fn issue_certificate(
        &self,
        ctx: &Ctx,
        request: CertificateRequest,
    ) -> Result<CertificateRecord> {
        let id = ctx.volunteer()?;
        if let (Some(a), Some(b)) = (request.from, request.until)
            && a > b
        {
            return Err(ServiceError::invalid("until", "is before from"));
        }
        let v = self
            .0
            .store
            .get_volunteer(id)
            .await?
            .ok_or(ServiceError::NotFound("volunteer"))?;
        let units = self
            .0
            .store
            .record_units(id, request.from, request.until)
            .await?;
        let records: i64 = units.iter().map(|u| u.records).sum();
        if records == 0 {
            return Err(ServiceError::Conflict {
                field: "records",
                message: "no effective records in this period to certify".into(),
            });
        }
        let listed = if request.list_records {
            if records > i64::from(MAX_LISTED) {
                return Err(ServiceError::invalid(
                    "list_records",
                    format!(
                        "{records} records: list at most {MAX_LISTED}, or choose a shorter period"
                    ),
                ));
            }
            self.0
                .store
                .certified_records(id, request.from, request.until, MAX_LISTED)
                .await?
        } else {
            Vec::new()
        };
        let facts = CertificateFacts {
            name: v.profile.name.clone(),
            document_kind: v.document_kind,
            document_masked: v.document_masked.clone(),
            volunteer_number: v.number.to_string(),
            minutes: units.iter().map(|u| u.minutes).sum(),
            records,
            from: request.from,
            until: request.until,
            units,
            listed,
            issuer: self.0.config.certificate_issuer.clone(),
        };
        for _ in 0..5 {
            let number = new_number();
            let mut audit = ctx.audit(
                "certificate.issue",
                "certificate",
                &number,
                Some(v.profile.residence_region),
            );
            audit.details = serde_json::json!({ "minutes": facts.minutes, "records": records });
            match self
                .0
                .store
                .insert_certificate(
                    &NewCertificate {
                        number,
                        volunteer: id,
                        facts: facts.clone(),
                        issued_at: ctx.now,
                    },
                    &audit,
                )
                .await
            {
                Err(StoreError::Conflict { field: "number" }) => continue,
                other => return Ok(other?),
            }
        }
        Err(ServiceError::Unavailable(
            "could not draw a free certificate number".into(),
        ))
    }

    async fn load_certificate(&self, number: &str) -> Result<CertificateRecord> {
        self.0
            .store
            .get_certificate(number)
            .await?
            .ok_or(ServiceError::NotFound("certificate"))
    }

    /// Whether the caller may handle a volunteer's certificates: the volunteer, or the
    /// jurisdiction of their residence (auditors read).
    async fn certificate_owner(
        &self,
        ctx: &Ctx,
        c: &CertificateRecord,
        access: Access,
    ) -> Result<VolunteerRecord> {
        let v = self
            .0
            .store
            .get_volunteer(c.certificate.volunteer)
            .await?
            .ok_or(ServiceError::NotFound("volunteer"))?;
        ctx.require(|p| p.volunteer == Some(v.id) || p.covers(v.profile.residence_region, access))?;
        Ok(v)
    }

    /// The certificate as PDF, for its volunteer and the jurisdiction.
    pub async fn certificate_pdf(&self, ctx: &Ctx, number: &str) -> Result<Vec<u8>> {
        let c = self.load_certificate(number).await?;
        self.certificate_owner(ctx, &c, Access::Read).await?;
        let doc = document(&c, &self.0.config.public_url);
        on_blocking_pool(move || {
            zhiyuan_pdf::render(&doc).map_err(|e| ServiceError::Internal(e.into()))
        })
        .await
    }

    /// Verification for anyone holding the number: status and certified facts only.
    pub async fn verify_certificate(&self, number: &str) -> Result<CertificateRecord> {
        self.load_certificate(number.trim()).await
    }

    /// The signed-in volunteer's certificates, newest first.
    pub async fn my_certificates(
        &self,
        ctx: &Ctx,
        page: &PageRequest,
    ) -> Result<Page<CertificateRecord>> {
        let v = ctx.volunteer()?;
        Ok(self.0.store.list_certificates(v, page).await?)
    }

    /// The volunteer or the jurisdiction revokes a certificate.
    pub async fn revoke_certificate(
        &self,
        ctx: &Ctx,
        number: &str,
        reason: &str,
    ) -> Result<CertificateRecord> {
        let c = self.load_certificate(number).await?;
        let v = self.certificate_owner(ctx, &c, Access::Write).await?;
        if reason.trim().is_empty() {
            return Err(ServiceError::invalid(
                "reason",
                "a revocation needs a reason",
            ));
        }
        let mut audit = ctx.audit(
            "certificate.revoke",
            "certificate",
            number,
            Some(v.profile.residence_region),
        );
        audit.reason = Some(reason.to_owned());
        let by = match &ctx.actor {
            Actor::User(p) => Some(p.account),
            _ => None,
        };
        self.0
            .store
            .revoke_certificate(number, by, ctx.now, reason, &audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "status" } => ServiceError::Conflict {
                    field: "status",
                    message: "the certificate is already revoked".into(),
                },
                other => other.into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_numbers_are_random_and_well_formed() {
        let a = new_number();
        let b = new_number();
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 16 + 3);
        assert!(a.starts_with("ZY-"));
        assert!(
            a[3..]
                .chars()
                .all(|c| c == '-' || ALPHABET.contains(&(c as u8)))
        );
    }
}
