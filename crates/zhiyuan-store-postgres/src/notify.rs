//! Inbox, subscriptions and the outbox.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::org::MembershipRole;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{
    AuditEntry, AuditRecord, ChannelKind, Delivery, DeliveryOutcome, DeliveryRecord, NewDelivery,
    NewNotification, NewSubscription, Notification, NotifyStore, Page, PageRequest, Result,
    ShiftId, StoreError, Subscription,
};

use crate::PgStore;
use crate::audit::{AUDIT_COLUMNS, audit_row};
use crate::conv::{conv, expect_one, get, json, pg_err, range, region, to_json, write_audit};

const SUBSCRIPTION: &str =
    "SELECT id, region_code, channel, destination, secret, events, active, created_at
     FROM subscriptions";

fn subscription_row(row: &Row) -> Result<Subscription> {
    subscription_at(row, 0)
}

/// A subscription whose `SUBSCRIPTION` columns start at `at`.
fn subscription_at(row: &Row, at: usize) -> Result<Subscription> {
    Ok(Subscription {
        id: get(row, at)?,
        sub: NewSubscription {
            region: region(row, at + 1)?,
            channel: conv(row, at + 2, |s: &str| ChannelKind::parse(s))?,
            destination: get(row, at + 3)?,
            secret: get(row, at + 4)?,
            events: json(row, at + 5)?,
            created_at: get(row, at + 7)?,
        },
        active: get(row, at + 6)?,
    })
}

async fn accounts(
    c: &impl GenericClient,
    sql: &str,
    args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<AccountId>> {
    let stmt = c.prepare_cached(sql).await.map_err(pg_err)?;
    let rows = c.query(&stmt, args).await.map_err(pg_err)?;
    rows.iter().map(|r| get(r, 0).map(AccountId)).collect()
}

#[async_trait]
impl NotifyStore for PgStore {
    async fn insert_subscription(
        &self,
        s: &NewSubscription,
        audit: &AuditEntry,
    ) -> Result<Subscription> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO subscriptions (region_code, channel, destination, secret, events,
                    active, created_at) VALUES ($1, $2, $3, $4, $5, true, $6) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &s.region.as_i64(),
                    &s.channel.as_str(),
                    &s.destination,
                    &s.secret,
                    &to_json(&s.events),
                    &s.created_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(Subscription {
            id,
            sub: s.clone(),
            active: true,
        })
    }

    async fn get_subscription(&self, id: i64) -> Result<Option<Subscription>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached(&format!("{SUBSCRIPTION} WHERE id = $1"))
                    .await
                    .map_err(pg_err)?,
                &[&id],
            )
            .await
            .map_err(pg_err)?;
        row.as_ref().map(subscription_row).transpose()
    }

    async fn list_subscriptions(&self, within: Option<RegionCode>) -> Result<Vec<Subscription>> {
        let (lo, hi) = range(within);
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "{SUBSCRIPTION} WHERE region_code >= $1 AND region_code < $2 ORDER BY id"
                    ))
                    .await
                    .map_err(pg_err)?,
                &[&lo, &hi],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(subscription_row).collect()
    }

    async fn deactivate_subscription(&self, id: i64, audit: &AuditEntry) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let n = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE subscriptions SET active = false WHERE id = $1 AND active",
                )
                .await
                .map_err(pg_err)?,
                &[&id],
            )
            .await
            .map_err(pg_err)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn pending_events(&self, limit: u32) -> Result<Vec<AuditRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                // The queued ids as an array the audit log is probed with, so every plan
                // reaches the entries by key: as `id IN (subquery)`, the generic plan
                // PostgreSQL switches to after five calls hashed the queue and scanned the
                // whole audit log (38 ms a round at 170,000 entries, growing with the log).
                "SELECT {AUDIT_COLUMNS} FROM audit_log
                 WHERE id = ANY(ARRAY(SELECT audit_id FROM event_queue ORDER BY audit_id
                     LIMIT $1))
                 ORDER BY id"
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(&stmt, &[&i64::from(limit)])
            .await
            .map_err(pg_err)?;
        rows.iter().map(audit_row).collect()
    }

    async fn settle_events(
        &self,
        audit_ids: &[i64],
        deliveries: &[NewDelivery],
        notes: &[NewNotification],
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute(
            &tx.prepare_cached("DELETE FROM event_queue WHERE audit_id = ANY($1)")
                .await
                .map_err(pg_err)?,
            &[&audit_ids],
        )
        .await
        .map_err(pg_err)?;
        let subs: Vec<i64> = deliveries.iter().map(|d| d.subscription).collect();
        let ids: Vec<i64> = deliveries.iter().map(|d| d.audit_id).collect();
        let events: Vec<&str> = deliveries.iter().map(|d| d.event.as_str()).collect();
        let payloads: Vec<&serde_json::Value> = deliveries.iter().map(|d| &d.payload).collect();
        let ats: Vec<OffsetDateTime> = deliveries.iter().map(|d| d.at).collect();
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO outbox (subscription_id, audit_id, event, payload, next_attempt_at,
                created_at)
             SELECT s, a, e, p, t, t FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[],
                $4::JSONB[], $5::TIMESTAMPTZ[]) AS u(s, a, e, p, t)
             ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(pg_err)?,
            &[&subs, &ids, &events, &payloads, &ats],
        )
        .await
        .map_err(pg_err)?;
        let accounts: Vec<i64> = notes.iter().map(|n| n.account.0).collect();
        let ids: Vec<i64> = notes.iter().map(|n| n.audit_id).collect();
        let events: Vec<&str> = notes.iter().map(|n| n.event.as_str()).collect();
        let types: Vec<&str> = notes.iter().map(|n| n.subject_type.as_str()).collect();
        let subjects: Vec<&str> = notes.iter().map(|n| n.subject_id.as_str()).collect();
        let texts: Vec<&str> = notes.iter().map(|n| n.text.as_str()).collect();
        let ats: Vec<OffsetDateTime> = notes.iter().map(|n| n.at).collect();
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO notifications (account_id, audit_id, event, subject_type, subject_id,
                text, created_at)
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[],
                $5::TEXT[], $6::TEXT[], $7::TIMESTAMPTZ[])
             ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(pg_err)?,
            &[&accounts, &ids, &events, &types, &subjects, &texts, &ats],
        )
        .await
        .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let client = self.client().await?;
        // SKIP LOCKED: app servers claiming at once take different rows. The claimed ids
        // probe the outbox as an array, by key in every plan (see `pending_events`).
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "WITH claimed AS (
                        UPDATE outbox SET next_attempt_at = $2, attempts = attempts + 1
                        WHERE id = ANY(ARRAY(SELECT id FROM outbox
                                     WHERE delivered_at IS NULL AND failed_at IS NULL
                                       AND next_attempt_at <= $1
                                     ORDER BY next_attempt_at LIMIT $3
                                     FOR UPDATE SKIP LOCKED))
                        RETURNING id, subscription_id, event, payload, attempts)
                     SELECT c.id, c.event, c.payload, c.attempts, s.*
                     FROM claimed c JOIN ({SUBSCRIPTION}) s ON s.id = c.subscription_id"
                    ))
                    .await
                    .map_err(pg_err)?,
                &[&now, &lease_until, &i64::from(limit)],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    id: get(r, 0)?,
                    event: get(r, 1)?,
                    payload: get(r, 2)?,
                    attempts: get(r, 3)?,
                    subscription: subscription_at(r, 4)?,
                })
            })
            .collect()
    }

    async fn finish_delivery(
        &self,
        id: i64,
        outcome: &DeliveryOutcome,
        now: OffsetDateTime,
    ) -> Result<()> {
        let client = self.client().await?;
        let n = match outcome {
            DeliveryOutcome::Delivered => client
                .execute(
                    &client
                        .prepare_cached(
                            "UPDATE outbox SET delivered_at = $2, last_error = NULL WHERE id = $1",
                        )
                        .await
                        .map_err(pg_err)?,
                    &[&id, &now],
                )
                .await,
            DeliveryOutcome::Retry { at, error } => client
                .execute(
                    &client
                        .prepare_cached(
                            "UPDATE outbox SET next_attempt_at = $2, last_error = $3 WHERE id = $1",
                        )
                        .await
                        .map_err(pg_err)?,
                    &[&id, at, error],
                )
                .await,
            DeliveryOutcome::GiveUp { error } => {
                client
                    .execute(
                        &client
                            .prepare_cached(
                                "UPDATE outbox SET failed_at = $2, last_error = $3 WHERE id = $1",
                            )
                            .await
                            .map_err(pg_err)?,
                        &[&id, &now, error],
                    )
                    .await
            }
        }
        .map_err(pg_err)?;
        expect_one(n)
    }

    async fn deliveries(&self, subscription: i64, limit: u32) -> Result<Vec<DeliveryRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client.prepare_cached("SELECT id, audit_id, event, attempts, next_attempt_at, delivered_at, failed_at,
                    last_error, created_at
                 FROM outbox WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2").await.map_err(pg_err)?,
                &[&subscription, &i64::from(limit)],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRecord {
                    id: get(r, 0)?,
                    audit_id: get(r, 1)?,
                    event: get(r, 2)?,
                    attempts: get(r, 3)?,
                    next_attempt_at: get(r, 4)?,
                    delivered_at: get(r, 5)?,
                    failed_at: get(r, 6)?,
                    last_error: get(r, 7)?,
                    created_at: get(r, 8)?,
                })
            })
            .collect()
    }

    async fn notifications(
        &self,
        account: AccountId,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>> {
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id, account_id, audit_id, event, subject_type, subject_id, text,
                    created_at, read_at
                 FROM notifications
                 WHERE account_id = $1 AND id < $2 AND (NOT $3 OR read_at IS NULL)
                 ORDER BY id DESC LIMIT $4",
            )
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &account.0,
                    &before,
                    &unread_only,
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(Notification {
                    id: get(r, 0)?,
                    note: NewNotification {
                        account: AccountId(get(r, 1)?),
                        audit_id: get(r, 2)?,
                        event: get(r, 3)?,
                        subject_type: get(r, 4)?,
                        subject_id: get(r, 5)?,
                        text: get(r, 6)?,
                        at: get(r, 7)?,
                    },
                    read_at: get(r, 8)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |n| vec![n.id]))
    }

    async fn mark_read(&self, account: AccountId, id: i64, at: OffsetDateTime) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                &client
                    .prepare_cached(
                        "UPDATE notifications SET read_at = coalesce(read_at, $3)
                 WHERE id = $1 AND account_id = $2",
                    )
                    .await
                    .map_err(pg_err)?,
                &[&id, &account.0, &at],
            )
            .await
            .map_err(pg_err)?;
        Ok(n == 1)
    }

    async fn mark_all_read(
        &self,
        account: AccountId,
        up_to: i64,
        at: OffsetDateTime,
    ) -> Result<u64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE notifications SET read_at = $3
                 WHERE account_id = $1 AND id <= $2 AND read_at IS NULL",
            )
            .await
            .map_err(pg_err)?;
        client
            .execute(&stmt, &[&account.0, &up_to, &at])
            .await
            .map_err(pg_err)
    }

    async fn unread_count(&self, account: AccountId, cap: i64) -> Result<i64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM notifications
                 WHERE account_id = $1 AND read_at IS NULL LIMIT $2) unread",
            )
            .await
            .map_err(pg_err)?;
        let row = client
            .query_one(&stmt, &[&account.0, &cap])
            .await
            .map_err(pg_err)?;
        get(&row, 0)
    }

    async fn holder_accounts(&self, kind: &str, id: i64) -> Result<Vec<AccountId>> {
        let client = self.client().await?;
        match kind {
            "volunteer" => {
                accounts(
                    &client,
                    "SELECT id FROM accounts WHERE volunteer_id = $1",
                    &[&id],
                )
                .await
            }
            "org" => accounts(
                &client,
                "SELECT a.id FROM memberships m JOIN accounts a ON a.volunteer_id = m.volunteer_id
                     WHERE m.org_id = $1 AND m.role = $2 AND m.status = 'active' ORDER BY a.id",
                &[&id, &MembershipRole::Admin.as_str()],
            )
            .await,
            "site" => {
                accounts(
                    &client,
                    "SELECT DISTINCT account_id FROM grants WHERE site_id = $1 ORDER BY account_id",
                    &[&id],
                )
                .await
            }
            _ => Ok(Vec::new()),
        }
    }

    async fn admin_accounts(&self, region: RegionCode) -> Result<Vec<AccountId>> {
        let client = self.client().await?;
        accounts(
            &client,
            "SELECT DISTINCT account_id FROM grants
             WHERE role = 'jurisdiction_admin' AND region_code = $1",
            &[&region.as_i64()],
        )
        .await
    }

    async fn call_accounts(&self, call: i64) -> Result<Vec<AccountId>> {
        let client = self.client().await?;
        accounts(
            &client,
            "SELECT a.id FROM call_members m JOIN accounts a ON a.volunteer_id = m.volunteer_id
             WHERE m.call_id = $1",
            &[&call],
        )
        .await
    }

    async fn volunteer_account(&self, volunteer: VolunteerId) -> Result<Option<AccountId>> {
        let client = self.client().await?;
        Ok(accounts(
            &client,
            "SELECT id FROM accounts WHERE volunteer_id = $1",
            &[&volunteer.0],
        )
        .await?
        .into_iter()
        .next())
    }

    async fn signup_accounts(&self, shift: ShiftId) -> Result<Vec<AccountId>> {
        let client = self.client().await?;
        accounts(
            &client,
            "SELECT a.id FROM signups s JOIN accounts a ON a.volunteer_id = s.volunteer_id
             WHERE s.shift_id = $1 AND s.status IN ('pending', 'accepted', 'waitlisted')",
            &[&shift.0],
        )
        .await
    }
}
