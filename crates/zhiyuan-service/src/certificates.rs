//! Record certificates (Art. 14, 15, 17): a volunteer issues their own free certificate of
//! their effective records, in total or listed one by one. The certified facts are kept as
//! issued; the PDF, printed in Simplified Chinese, Hong Kong's Traditional Chinese or
//! English, carries a QR code to a public verification page that confirms validity and
//! those facts, and nothing more. Numbers carry 80 random bits and cannot be guessed; a
//! certificate can be revoked.

use rand::RngCore;
use time::Date;
use zhiyuan_domain::Reason;
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::hours::hours;
use zhiyuan_domain::lang::Lang;
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

/// A certificate number as someone types it from paper, in its printed form: any case,
/// with or without `ZY`, its dashes or spaces, and the letters Crockford's base 32 reads
/// as digits (`O` as 0, `I` and `L` as 1). `None` when it cannot be a number at all.
pub fn typed_number(typed: &str) -> Option<String> {
    let mut body: Vec<u8> = typed
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'-')
        .map(|b| match b.to_ascii_uppercase() {
            b'O' => b'0',
            b'I' | b'L' => b'1',
            b => b,
        })
        .collect();
    if body.len() == 18 && body.starts_with(b"ZY") {
        body.drain(..2);
    }
    if body.len() != 16 || !body.iter().all(|b| ALPHABET.contains(b)) {
        return None;
    }
    let groups: Vec<&str> = body
        .chunks(4)
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    Some(format!("ZY-{}", groups.join("-")))
}

/// The public verification address of certificate `number`.
pub fn verification_url(public_url: &str, number: &str) -> String {
    format!("{}/verify/{number}", public_url.trim_end_matches('/'))
}

/// A certificate's own words, in one language, for the PDF and for the page that verifies
/// it. What people wrote (the name, units, activities, the issuer) is shown as recorded,
/// in whatever script it was written.
#[derive(Debug, Clone, Copy)]
pub struct CertificateWords {
    pub title: &'static str,
    /// What follows a field's label.
    pub colon: &'static str,
    pub revoked: &'static str,
    pub name: &'static str,
    pub document_kind: &'static str,
    pub document_number: &'static str,
    pub volunteer_number: &'static str,
    pub period: &'static str,
    pub all_records: &'static str,
    pub since: fn(Date) -> String,
    pub until: fn(Date) -> String,
    pub between: fn(Date, Date) -> String,
    pub total: &'static str,
    pub hours_in_records: fn(f64, i64) -> String,
    pub units: &'static str,
    pub unit: &'static str,
    pub unit_hours: &'static str,
    pub records: &'static str,
    pub listed: &'static str,
    pub date: &'static str,
    pub activity: &'static str,
    pub content: &'static str,
    pub hours: &'static str,
    pub issuer: &'static str,
    pub number: &'static str,
    pub issued_on: &'static str,
    pub statement: fn(&str) -> String,
    pub scan: &'static str,
    pub page_numbers: &'static str,
}

/// The words of a certificate in `lang`.
pub fn certificate_words(lang: Lang) -> CertificateWords {
    match lang {
        Lang::ZhHans => CertificateWords {
            title: "志愿服务记录证明",
            colon: "：",
            revoked: "本证明已被撤销，不再有效。",
            name: "姓名",
            document_kind: "证件类型",
            document_number: "证件号码",
            volunteer_number: "志愿者编号",
            period: "服务期间",
            all_records: "全部记录",
            since: |a| format!("{a} 起"),
            until: |b| format!("截至 {b}"),
            between: |a, b| format!("{a} 至 {b}"),
            total: "累计服务时长",
            hours_in_records: |h, n| format!("{h} 小时（{n} 条记录）"),
            units: "记录单位",
            unit: "记录单位",
            unit_hours: "服务时长（小时）",
            records: "记录数",
            listed: "服务记录",
            date: "日期",
            activity: "活动名称",
            content: "服务内容",
            hours: "时长",
            issuer: "出具单位",
            number: "证明编号",
            issued_on: "出具日期",
            statement: |url| {
                format!(
                    "本证明依据《志愿服务记录与证明出具办法（试行）》免费出具，所载服务时长为实际服务时间。\
                     扫描二维码或访问 {url} 可核验本证明的真实性与有效性。"
                )
            },
            scan: "扫码核验",
            page_numbers: "第 {page} 页 / 共 {pages} 页",
        },
        Lang::ZhHk => CertificateWords {
            title: "志願服務記錄證明",
            colon: "：",
            revoked: "本證明已被撤銷，不再有效。",
            name: "姓名",
            document_kind: "證件類型",
            document_number: "證件號碼",
            volunteer_number: "志願者編號",
            period: "服務期間",
            all_records: "全部記錄",
            since: |a| format!("{a} 起"),
            until: |b| format!("截至 {b}"),
            between: |a, b| format!("{a} 至 {b}"),
            total: "累計服務時數",
            hours_in_records: |h, n| format!("{h} 小時（{n} 條記錄）"),
            units: "記錄單位",
            unit: "記錄單位",
            unit_hours: "服務時數（小時）",
            records: "記錄數",
            listed: "服務記錄",
            date: "日期",
            activity: "活動名稱",
            content: "服務內容",
            hours: "時數",
            issuer: "出具單位",
            number: "證明編號",
            issued_on: "出具日期",
            statement: |url| {
                format!(
                    "本證明依據《志願服務記錄與證明出具辦法（試行）》免費出具，所載服務時數為實際服務時間。\
                     掃描二維碼或瀏覽 {url} 可核驗本證明的真實性與有效性。"
                )
            },
            scan: "掃碼核驗",
            page_numbers: "第 {page} 頁 / 共 {pages} 頁",
        },
        Lang::En => CertificateWords {
            title: "Volunteer Service Record Certificate",
            colon: ": ",
            revoked: "This certificate has been revoked and is no longer valid.",
            name: "Name",
            document_kind: "Identity document",
            document_number: "Document number",
            volunteer_number: "Volunteer number",
            period: "Period",
            all_records: "All records",
            since: |a| format!("From {a}"),
            until: |b| format!("Until {b}"),
            between: |a, b| format!("{a} to {b}"),
            total: "Total service hours",
            hours_in_records: |h, n| {
                format!("{h} hours ({n} record{})", if n == 1 { "" } else { "s" })
            },
            units: "Recording units",
            unit: "Recording unit",
            unit_hours: "Service hours",
            records: "Records",
            listed: "Service records",
            date: "Date",
            activity: "Activity",
            content: "Service content",
            hours: "Hours",
            issuer: "Issued by",
            number: "Certificate number",
            issued_on: "Issue date",
            statement: |url| {
                format!(
                    "Issued free of charge under the Measures for Recording Volunteer Services \
                     and Issuing Certificates (Trial) of the Ministry of Civil Affairs. The hours \
                     stated are time actually served. Names, recording units and activities \
                     appear as recorded. Scan the QR code or visit {url} to verify that this \
                     certificate is genuine and valid."
                )
            },
            scan: "Scan to verify",
            page_numbers: "Page {page} of {pages}",
        },
    }
}

/// The certificate as a printable document in `lang`. Whatever the language, it certifies
/// the same facts and its QR code leads to the same verification page.
pub fn document(c: &CertificateRecord, public_url: &str, lang: Lang) -> Document {
    let w = certificate_words(lang);
    let f = &c.certificate.facts;
    let number = &c.certificate.number;
    let url = verification_url(public_url, number);
    let period = match (f.from, f.until) {
        (None, None) => w.all_records.to_owned(),
        (Some(a), None) => (w.since)(a),
        (None, Some(b)) => (w.until)(b),
        (Some(a), Some(b)) => (w.between)(a, b),
    };
    let field = |label: &str, value: String| Line::Field(format!("{label}{}", w.colon), value);
    let mut lines = vec![
        Line::Title(w.title.into()),
        field(w.name, f.name.clone()),
        field(w.document_kind, f.document_kind.label(lang).into()),
        field(w.document_number, f.document_masked.clone()),
        field(w.volunteer_number, f.volunteer_number.clone()),
        field(w.period, period),
        field(w.total, (w.hours_in_records)(hours(f.minutes), f.records)),
        Line::Heading(w.units.into()),
        Line::Header(vec![w.unit.into(), w.unit_hours.into(), w.records.into()]),
    ];
    for u in &f.units {
        lines.push(Line::Row(vec![
            u.name.clone(),
            hours(u.minutes).to_string(),
            u.records.to_string(),
        ]));
    }
    if !f.listed.is_empty() {
        lines.push(Line::Heading(w.listed.into()));
        lines.push(Line::Header(vec![
            w.date.into(),
            w.activity.into(),
            w.content.into(),
            w.hours.into(),
            w.unit.into(),
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
        field(w.issuer, f.issuer.clone()),
        field(w.number, number.clone()),
        field(w.issued_on, china_date(c.certificate.issued_at).to_string()),
        Line::Gap,
        Line::Text((w.statement)(&url)),
    ]);
    if c.revoked_at.is_some() {
        lines.insert(1, Line::Text(w.revoked.into()));
    }
    Document {
        title: format!("{} {number}", w.title),
        lines,
        columns: vec![0.14, 0.26, 0.26, 0.1, 0.24],
        qr: url,
        qr_caption: w.scan.into(),
        footer: format!("{} {number}", w.number),
        page_numbers: w.page_numbers.into(),
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
            return Err(ServiceError::because("until", Reason::BeforeStart));
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
            return Err(ServiceError::conflict_because(
                "records",
                Reason::NothingToCertify,
            ));
        }
        let listed = if request.list_records {
            if records > i64::from(MAX_LISTED) {
                return Err(ServiceError::because(
                    "list_records",
                    Reason::TooManyToList {
                        records,
                        max: MAX_LISTED.into(),
                    },
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

    /// The certificate as PDF in `lang`, for its volunteer and the jurisdiction.
    pub async fn certificate_pdf(&self, ctx: &Ctx, number: &str, lang: Lang) -> Result<Vec<u8>> {
        let c = self.load_certificate(number).await?;
        self.certificate_owner(ctx, &c, Access::Read).await?;
        let doc = document(&c, &self.0.config.public_url, lang);
        on_blocking_pool(move || {
            zhiyuan_pdf::render(&doc).map_err(|e| ServiceError::Internal(e.into()))
        })
        .await
    }

    /// Verification for anyone holding the number: status and certified facts only.
    pub async fn verify_certificate(&self, number: &str) -> Result<CertificateRecord> {
        let number = typed_number(number).unwrap_or_else(|| number.trim().to_owned());
        self.load_certificate(&number).await
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
            return Err(ServiceError::because("reason", Reason::Required));
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
                StoreError::Conflict { field: "status" } => {
                    ServiceError::conflict_because("status", Reason::AlreadyRevoked)
                }
                other => other.into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_typed_from_paper_reads_as_printed() {
        let printed = new_number();
        assert_eq!(typed_number(&printed).as_deref(), Some(printed.as_str()));
        let bare = printed[3..].replace('-', "").to_lowercase();
        assert_eq!(typed_number(&bare).as_deref(), Some(printed.as_str()));
        assert_eq!(
            typed_number(" zy-0o1i-L234 5678-9ABC ").as_deref(),
            Some("ZY-0011-1234-5678-9ABC")
        );
        // U is not in the alphabet; too short or too long is not a number.
        assert_eq!(typed_number("ZY-UUUU-0000-0000-0000"), None);
        assert_eq!(typed_number("ZY-0000-0000-0000"), None);
        assert_eq!(typed_number("ZY-0000-0000-0000-0000-0"), None);
    }

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
