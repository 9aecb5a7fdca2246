//! Inbox, subscriptions and the outbox.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use time::OffsetDateTime;
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::org::MembershipRole;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{
    AuditEntry, AuditRecord, ChannelKind, Delivery, DeliveryOutcome, DeliveryRecord, NewDelivery,
    NewNotification, NewSubscription, Notification, NotifyStore, Page, PageRequest, Result,
    ShiftId, StoreError, Subscription,
};

use crate::SqliteStore;
use crate::audit::{AUDIT_COLUMNS, audit_row};
use crate::conv::{
    col, expect_one, json, micros, opt_time, region, store_err, time, to_json, write_audit,
};

const SUBSCRIPTION: &str =
    "SELECT id, region_code, channel, destination, secret, events, active, created_at
     FROM subscriptions";

fn subscription_row(row: &Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        id: row.get(0)?,
        sub: NewSubscription {
            region: region(row, 1)?,
            channel: col(row, 2, |s: String| ChannelKind::parse(&s))?,
            destination: row.get(3)?,
            secret: row.get(4)?,
            events: json(row, 5)?,
            created_at: time(row, 7)?,
        },
        active: row.get(6)?,
    })
}

fn accounts(
    c: &rusqlite::Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<AccountId>> {
    c.prepare_cached(sql)?
        .query_map(args, |r| r.get(0).map(AccountId))?
        .collect()
}

#[async_trait]
impl NotifyStore for SqliteStore {
    async fn insert_subscription(
        &self,
        s: &NewSubscription,
        audit: &AuditEntry,
    ) -> Result<Subscription> {
        let (s, audit) = (s.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO subscriptions (region_code, channel, destination, secret, events,
                    active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
                params![
                    s.region.as_i64(),
                    s.channel.as_str(),
                    s.destination,
                    s.secret,
                    to_json(&s.events),
                    micros(s.created_at)
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            Ok(Subscription {
                id,
                sub: s,
                active: true,
            })
        })
        .await
    }

    async fn get_subscription(&self, id: i64) -> Result<Option<Subscription>> {
        self.read(move |c| {
            c.prepare_cached(&format!("{SUBSCRIPTION} WHERE id = ?1"))?
                .query_row([id], subscription_row)
                .optional()
        })
        .await
    }

    async fn list_subscriptions(&self, within: Option<RegionCode>) -> Result<Vec<Subscription>> {
        let (lo, hi) = within.map_or((0, i64::MAX), RegionCode::subtree);
        self.read(move |c| {
            c.prepare_cached(&format!(
                "{SUBSCRIPTION} WHERE region_code >= ?1 AND region_code < ?2 ORDER BY id"
            ))?
            .query_map([lo, hi], subscription_row)?
            .collect()
        })
        .await
    }

    async fn deactivate_subscription(&self, id: i64, audit: &AuditEntry) -> Result<()> {
        let audit = audit.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE subscriptions SET active = 0 WHERE id = ?1 AND active = 1",
                    [id],
                )
                .map_err(store_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            write_audit(tx, &audit, None)
        })
        .await
    }

    async fn pending_events(&self, limit: u32) -> Result<Vec<AuditRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log
                 WHERE id IN (SELECT audit_id FROM event_queue ORDER BY audit_id LIMIT ?1)
                 ORDER BY id"
            ))?
            .query_map([limit], audit_row)?
            .collect()
        })
        .await
    }

    async fn settle_events(
        &self,
        audit_ids: &[i64],
        deliveries: &[NewDelivery],
        notes: &[NewNotification],
    ) -> Result<()> {
        let (ids, deliveries, notes) = (audit_ids.to_vec(), deliveries.to_vec(), notes.to_vec());
        self.write(move |tx| {
            let mut unqueue = tx
                .prepare_cached("DELETE FROM event_queue WHERE audit_id = ?1")
                .map_err(store_err)?;
            for id in &ids {
                unqueue.execute([id]).map_err(store_err)?;
            }
            let mut queue = tx
                .prepare_cached(
                    "INSERT INTO outbox (subscription_id, audit_id, event, payload,
                        next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                     ON CONFLICT DO NOTHING",
                )
                .map_err(store_err)?;
            for d in &deliveries {
                queue
                    .execute(params![
                        d.subscription,
                        d.audit_id,
                        d.event,
                        d.payload.to_string(),
                        micros(d.at)
                    ])
                    .map_err(store_err)?;
            }
            let mut note = tx
                .prepare_cached(
                    "INSERT INTO notifications (account_id, audit_id, event, subject_type,
                        subject_id, text, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT DO NOTHING",
                )
                .map_err(store_err)?;
            for n in &notes {
                note.execute(params![
                    n.account.0,
                    n.audit_id,
                    n.event,
                    n.subject_type,
                    n.subject_id,
                    n.text,
                    micros(n.at)
                ])
                .map_err(store_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        self.write(move |tx| {
            // One writer at a time: the claim cannot race another on SQLite.
            let claimed: Vec<(i64, i64, String, String, i32)> = tx
                .prepare_cached(
                    "UPDATE outbox SET next_attempt_at = ?2, attempts = attempts + 1
                     WHERE id IN (SELECT id FROM outbox
                                  WHERE delivered_at IS NULL AND failed_at IS NULL
                                    AND next_attempt_at <= ?1
                                  ORDER BY next_attempt_at LIMIT ?3)
                     RETURNING id, subscription_id, event, payload, attempts",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(params![micros(now), micros(lease_until), limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?
                    .collect()
                })
                .map_err(store_err)?;
            let mut sub = tx
                .prepare_cached(&format!("{SUBSCRIPTION} WHERE id = ?1"))
                .map_err(store_err)?;
            claimed
                .into_iter()
                .map(|(id, subscription, event, payload, attempts)| {
                    Ok(Delivery {
                        id,
                        subscription: sub
                            .query_row([subscription], subscription_row)
                            .map_err(store_err)?,
                        event,
                        payload: serde_json::from_str(&payload).map_err(StoreError::internal)?,
                        attempts,
                    })
                })
                .collect()
        })
        .await
    }

    async fn finish_delivery(
        &self,
        id: i64,
        outcome: &DeliveryOutcome,
        now: OffsetDateTime,
    ) -> Result<()> {
        let outcome = outcome.clone();
        self.write(move |tx| {
            let n = match &outcome {
                DeliveryOutcome::Delivered => tx.execute(
                    "UPDATE outbox SET delivered_at = ?2, last_error = NULL WHERE id = ?1",
                    params![id, micros(now)],
                ),
                DeliveryOutcome::Retry { at, error } => tx.execute(
                    "UPDATE outbox SET next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
                    params![id, micros(*at), error],
                ),
                DeliveryOutcome::GiveUp { error } => tx.execute(
                    "UPDATE outbox SET failed_at = ?2, last_error = ?3 WHERE id = ?1",
                    params![id, micros(now), error],
                ),
            }
            .map_err(store_err)?;
            expect_one(n)
        })
        .await
    }

    async fn deliveries(&self, subscription: i64, limit: u32) -> Result<Vec<DeliveryRecord>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT id, audit_id, event, attempts, next_attempt_at, delivered_at, failed_at,
                    last_error, created_at
                 FROM outbox WHERE subscription_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?
            .query_map(params![subscription, limit], |r| {
                Ok(DeliveryRecord {
                    id: r.get(0)?,
                    audit_id: r.get(1)?,
                    event: r.get(2)?,
                    attempts: r.get(3)?,
                    next_attempt_at: time(r, 4)?,
                    delivered_at: opt_time(r, 5)?,
                    failed_at: opt_time(r, 6)?,
                    last_error: r.get(7)?,
                    created_at: time(r, 8)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn notifications(
        &self,
        account: AccountId,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>> {
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let limit = page.limit;
        self.read(move |c| {
            let rows = c
                .prepare_cached(
                    "SELECT id, account_id, audit_id, event, subject_type, subject_id, text,
                        created_at, read_at
                     FROM notifications
                     WHERE account_id = ?1 AND id < ?2 AND (?3 = 0 OR read_at IS NULL)
                     ORDER BY id DESC LIMIT ?4",
                )?
                .query_map(params![account.0, before, unread_only, limit + 1], |r| {
                    Ok(Notification {
                        id: r.get(0)?,
                        note: NewNotification {
                            account: AccountId(r.get(1)?),
                            audit_id: r.get(2)?,
                            event: r.get(3)?,
                            subject_type: r.get(4)?,
                            subject_id: r.get(5)?,
                            text: r.get(6)?,
                            at: time(r, 7)?,
                        },
                        read_at: opt_time(r, 8)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |n| vec![n.id]))
        })
        .await
    }

    async fn mark_read(&self, account: AccountId, id: i64, at: OffsetDateTime) -> Result<bool> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE notifications SET read_at = coalesce(read_at, ?3)
                     WHERE id = ?1 AND account_id = ?2",
                    params![id, account.0, micros(at)],
                )
                .map_err(store_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn mark_all_read(
        &self,
        account: AccountId,
        up_to: i64,
        at: OffsetDateTime,
    ) -> Result<u64> {
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE notifications SET read_at = ?3
                     WHERE account_id = ?1 AND id <= ?2 AND read_at IS NULL",
                )
                .and_then(|mut q| q.execute(params![account.0, up_to, micros(at)]))
                .map_err(store_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn unread_count(&self, account: AccountId, cap: i64) -> Result<i64> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM notifications
                 WHERE account_id = ?1 AND read_at IS NULL LIMIT ?2)",
            )?
            .query_row([account.0, cap], |r| r.get(0))
        })
        .await
    }

    async fn holder_accounts(&self, kind: &str, id: i64) -> Result<Vec<AccountId>> {
        let kind = kind.to_owned();
        self.read(move |c| match kind.as_str() {
            "volunteer" => accounts(c, "SELECT id FROM accounts WHERE volunteer_id = ?1", [id]),
            "org" => accounts(
                c,
                "SELECT a.id FROM memberships m JOIN accounts a ON a.volunteer_id = m.volunteer_id
                 WHERE m.org_id = ?1 AND m.role = ?2 AND m.status = 'active' ORDER BY a.id",
                params![id, MembershipRole::Admin.as_str()],
            ),
            "site" => accounts(
                c,
                "SELECT DISTINCT account_id FROM grants WHERE site_id = ?1 ORDER BY account_id",
                [id],
            ),
            _ => Ok(Vec::new()),
        })
        .await
    }

    async fn admin_accounts(&self, region: RegionCode) -> Result<Vec<AccountId>> {
        self.read(move |c| {
            accounts(
                c,
                "SELECT DISTINCT account_id FROM grants
                 WHERE role = 'jurisdiction_admin' AND region_code = ?1",
                [region.as_i64()],
            )
        })
        .await
    }

    async fn call_accounts(&self, call: i64) -> Result<Vec<AccountId>> {
        self.read(move |c| {
            accounts(
                c,
                "SELECT a.id FROM call_members m JOIN accounts a ON a.volunteer_id = m.volunteer_id
                 WHERE m.call_id = ?1",
                [call],
            )
        })
        .await
    }

    async fn volunteer_account(&self, volunteer: VolunteerId) -> Result<Option<AccountId>> {
        self.read(move |c| {
            c.prepare_cached("SELECT id FROM accounts WHERE volunteer_id = ?1")?
                .query_row([volunteer.0], |r| r.get(0).map(AccountId))
                .optional()
        })
        .await
    }

    async fn signup_accounts(&self, shift: ShiftId) -> Result<Vec<AccountId>> {
        self.read(move |c| {
            accounts(
                c,
                "SELECT a.id FROM signups s JOIN accounts a ON a.volunteer_id = s.volunteer_id
                 WHERE s.shift_id = ?1 AND s.status IN ('pending', 'accepted', 'waitlisted')",
                [shift.0],
            )
        })
        .await
    }
}
