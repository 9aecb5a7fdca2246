//! The talent pool: professional qualifications.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::Date;
use tokio_postgres::Row;
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::talent::MemberStatus;
use zhiyuan_domain::talent::{QualificationKind, QualificationStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, CallMember, CallRecord, NewCall, NewQualification, Page, PageRequest, PoolQuery,
    QualificationRecord, Result, RollCall, StoreError, TalentStore,
};

use crate::PgStore;
use crate::conv::{conv, expect_one, get, json, pg_err, region, to_json, write_audit};

const SELECT: &str = "SELECT q.id, q.volunteer_id, q.kind, q.title, q.certificate_number,
    q.issuer, q.valid_until, q.status, q.decided_by, q.decided_at, q.reason, q.created_at,
    q.version, v.number, v.name
    FROM qualifications q JOIN volunteers v ON v.id = q.volunteer_id";

fn from_row(row: &Row) -> Result<QualificationRecord> {
    Ok(QualificationRecord {
        id: get(row, 0)?,
        qualification: NewQualification {
            volunteer: VolunteerId(get(row, 1)?),
            kind: conv(row, 2, |s: &str| QualificationKind::parse(s))?,
            title: get(row, 3)?,
            certificate_number: get(row, 4)?,
            issuer: get(row, 5)?,
            valid_until: get(row, 6)?,
            created_at: get(row, 11)?,
        },
        status: conv(row, 7, |s: &str| QualificationStatus::parse(s))?,
        decided_by: get::<Option<i64>>(row, 8)?.map(AccountId),
        decided_at: get(row, 9)?,
        reason: get(row, 10)?,
        volunteer_number: conv(row, 13, VolunteerNumber::from_i64)?,
        volunteer_name: get(row, 14)?,
        version: get(row, 12)?,
    })
}

async fn fetch(c: &impl GenericClient, id: i64) -> Result<Option<QualificationRecord>> {
    let stmt = c
        .prepare_cached(&format!("{SELECT} WHERE q.id = $1"))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

const CALL: &str = "SELECT id, region_code, kinds, needed, assembly_point, lat, lng,
    assemble_at, note, created_by, created_at, selected FROM calls";

fn call_row(row: &Row) -> Result<CallRecord> {
    let lat: Option<f64> = get(row, 5)?;
    let lng: Option<f64> = get(row, 6)?;
    Ok(CallRecord {
        id: get(row, 0)?,
        call: NewCall {
            region: region(row, 1)?,
            kinds: json(row, 2)?,
            needed: get(row, 3)?,
            assembly_point: get(row, 4)?,
            location: GeoPoint::from_columns(lat, lng),
            assemble_at: get(row, 7)?,
            note: get(row, 8)?,
            created_by: get::<Option<i64>>(row, 9)?.map(AccountId),
            created_at: get(row, 10)?,
        },
        selected: get(row, 11)?,
    })
}

const MEMBER: &str = "SELECT m.call_id, m.volunteer_id, v.number, v.name, m.kind, m.status,
    m.updated_at FROM call_members m JOIN volunteers v ON v.id = m.volunteer_id";

fn member_row(row: &Row) -> Result<CallMember> {
    Ok(CallMember {
        call: get(row, 0)?,
        volunteer: VolunteerId(get(row, 1)?),
        volunteer_number: conv(row, 2, VolunteerNumber::from_i64)?,
        volunteer_name: get(row, 3)?,
        kind: conv(row, 4, |s: &str| QualificationKind::parse(s))?,
        status: conv(row, 5, |s: &str| MemberStatus::parse(s))?,
        updated_at: get(row, 6)?,
    })
}

async fn member(c: &impl GenericClient, call: i64, volunteer: i64) -> Result<Option<CallMember>> {
    let stmt = c
        .prepare_cached(&format!(
            "{MEMBER} WHERE m.call_id = $1 AND m.volunteer_id = $2"
        ))
        .await
        .map_err(pg_err)?;
    let row = c
        .query_opt(&stmt, &[&call, &volunteer])
        .await
        .map_err(pg_err)?;
    row.as_ref().map(member_row).transpose()
}

async fn call(c: &impl GenericClient, id: i64) -> Result<Option<CallRecord>> {
    let stmt = c
        .prepare_cached(&format!("{CALL} WHERE id = $1"))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(call_row).transpose()
}

#[async_trait]
impl TalentStore for PgStore {
    async fn insert_call(
        &self,
        c: &NewCall,
        limit: i64,
        valid_on: Date,
        adult_born_by: Date,
        audit: &AuditEntry,
    ) -> Result<CallRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO calls (region_code, kinds, needed, assembly_point, lat, lng,
                    assemble_at, note, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &c.region.as_i64(),
                    &to_json(&c.kinds),
                    &c.needed,
                    &c.assembly_point,
                    &c.location.map(|p| p.lat),
                    &c.location.map(|p| p.lng),
                    &c.assemble_at,
                    &c.note,
                    &c.created_by.map(|a| a.0),
                    &c.created_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        let (lo, hi) = c.region.subtree();
        let kinds: Vec<&str> = c.kinds.iter().map(|k| k.as_str()).collect();
        let selected = tx
            .execute(
                &tx.prepare_cached(
                    "INSERT INTO call_members (call_id, volunteer_id, kind, status, updated_at)
                 SELECT $1, q.volunteer_id, MIN(q.kind), 'notified', $2
                 FROM qualifications q JOIN volunteers v ON v.id = q.volunteer_id
                 WHERE q.kind = ANY($3) AND q.status = 'verified'
                   AND (q.valid_until IS NULL OR q.valid_until >= $4)
                   AND v.residence_region >= $5 AND v.residence_region < $6
                   AND v.birth_date <= $7
                 GROUP BY q.volunteer_id ORDER BY q.volunteer_id LIMIT $8",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &id,
                    &c.created_at,
                    &kinds,
                    &valid_on,
                    &lo,
                    &hi,
                    &adult_born_by,
                    &limit,
                ],
            )
            .await
            .map_err(pg_err)?;
        tx.execute(
            &tx.prepare_cached("UPDATE calls SET selected = $2 WHERE id = $1")
                .await
                .map_err(pg_err)?,
            &[&id, &i64::try_from(selected).unwrap_or(i64::MAX)],
        )
        .await
        .map_err(pg_err)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let out = call(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn get_call(&self, id: i64) -> Result<Option<CallRecord>> {
        call(&self.client().await?, id).await
    }

    async fn call_member(&self, call: i64, volunteer: VolunteerId) -> Result<Option<CallMember>> {
        member(&self.client().await?, call, volunteer.0).await
    }

    async fn update_call_member(
        &self,
        m: &CallMember,
        from: MemberStatus,
        audit: &AuditEntry,
    ) -> Result<CallMember> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE call_members SET status = $3, updated_at = $4
                 WHERE call_id = $1 AND volunteer_id = $2 AND status = $5",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &m.call,
                    &m.volunteer.0,
                    &m.status.as_str(),
                    &m.updated_at,
                    &from.as_str(),
                ],
            )
            .await
            .map_err(pg_err)?;
        if changed != 1 {
            return Err(StoreError::Conflict { field: "status" });
        }
        write_audit(&tx, audit, None).await?;
        let out = member(&tx, m.call, m.volunteer.0)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn roll_call(&self, call: i64) -> Result<RollCall> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client.prepare_cached("SELECT status, COUNT(*) FROM call_members WHERE call_id = $1 GROUP BY status").await.map_err(pg_err)?,
                &[&call],
            )
            .await
            .map_err(pg_err)?;
        let mut r = RollCall::default();
        for row in &rows {
            let n: i64 = get(row, 1)?;
            match MemberStatus::parse(&get::<String>(row, 0)?) {
                Some(MemberStatus::Notified) => r.notified = n,
                Some(MemberStatus::Acknowledged) => r.acknowledged = n,
                Some(MemberStatus::Declined) => r.declined = n,
                Some(MemberStatus::CheckedIn) => r.checked_in = n,
                None => {}
            }
        }
        Ok(r)
    }

    async fn call_members(
        &self,
        call: i64,
        status: Option<MemberStatus>,
        page: &PageRequest,
    ) -> Result<Page<CallMember>> {
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "{MEMBER} WHERE m.call_id = $1 AND ($2::TEXT IS NULL OR m.status = $2)
                       AND m.volunteer_id > $3 ORDER BY m.volunteer_id LIMIT $4"
                    ))
                    .await
                    .map_err(pg_err)?,
                &[
                    &call,
                    &status.map(MemberStatus::as_str),
                    &after,
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(member_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |m| vec![m.volunteer.0]))
    }

    async fn calls_of(&self, volunteer: VolunteerId) -> Result<Vec<(CallRecord, CallMember)>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT call_id FROM call_members WHERE volunteer_id = $1
                 ORDER BY call_id DESC LIMIT 50",
                    )
                    .await
                    .map_err(pg_err)?,
                &[&volunteer.0],
            )
            .await
            .map_err(pg_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = get(row, 0)?;
            if let (Some(c), Some(m)) = (
                call(&client, id).await?,
                member(&client, id, volunteer.0).await?,
            ) {
                out.push((c, m));
            }
        }
        Ok(out)
    }

    async fn insert_qualification(
        &self,
        q: &NewQualification,
        audit: &AuditEntry,
    ) -> Result<QualificationRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO qualifications (volunteer_id, kind, title, certificate_number,
                    issuer, valid_until, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &q.volunteer.0,
                    &q.kind.as_str(),
                    &q.title,
                    &q.certificate_number,
                    &q.issuer,
                    &q.valid_until,
                    &q.created_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let out = fetch(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn get_qualification(&self, id: i64) -> Result<Option<QualificationRecord>> {
        fetch(&self.client().await?, id).await
    }

    async fn update_qualification(
        &self,
        q: &QualificationRecord,
        audit: &AuditEntry,
    ) -> Result<QualificationRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE qualifications SET status = $3, decided_by = $4, decided_at = $5,
                    reason = $6, version = version + 1
                 WHERE id = $1 AND version = $2",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &q.id,
                    &q.version,
                    &q.status.as_str(),
                    &q.decided_by.map(|a| a.0),
                    &q.decided_at,
                    &q.reason,
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        write_audit(&tx, audit, None).await?;
        let out = fetch(&tx, q.id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn list_qualifications(
        &self,
        volunteer: VolunteerId,
    ) -> Result<Vec<QualificationRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!("{SELECT} WHERE q.volunteer_id = $1 ORDER BY q.id"))
                    .await
                    .map_err(pg_err)?,
                &[&volunteer.0],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(from_row).collect()
    }

    async fn talent_pool(
        &self,
        q: &PoolQuery,
        page: &PageRequest,
    ) -> Result<Page<QualificationRecord>> {
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let (lo, hi) = q.within.subtree();
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "{SELECT}
                     WHERE q.kind = $1 AND q.status = 'verified' AND q.id > $2
                       AND (q.valid_until IS NULL OR q.valid_until >= $3)
                       AND v.residence_region >= $4 AND v.residence_region < $5
                     ORDER BY q.id LIMIT $6"
                    ))
                    .await
                    .map_err(pg_err)?,
                &[
                    &q.kind.as_str(),
                    &after,
                    &q.valid_on,
                    &lo,
                    &hi,
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |q| vec![q.id]))
    }
}
