-- Notifications (issue 5, item 9). Every audit entry of a notifiable event (the prefixes
-- of zhiyuan_store::EVENT_PREFIXES) is queued by a trigger in the transaction that writes
-- it, so no change is ever missed and none is seen before it commits. The relay turns
-- queued events into inbox notifications and outbox deliveries in one transaction; the
-- deliverer sends the outbox with retries, a lease making a crash mid-send harmless.
CREATE TABLE event_queue (
    audit_id INTEGER PRIMARY KEY
) STRICT;
CREATE TRIGGER audit_log_events AFTER INSERT ON audit_log
WHEN NEW.action LIKE 'order.%' OR NEW.action LIKE 'call.%' OR NEW.action LIKE 'qualification.%'
BEGIN
    INSERT INTO event_queue (audit_id) VALUES (NEW.id);
END;

-- Outbound channels a jurisdiction registers: signed webhooks and e-mail.
CREATE TABLE subscriptions (
    id          INTEGER PRIMARY KEY,
    region_code INTEGER NOT NULL REFERENCES regions (code),
    channel     TEXT    NOT NULL,
    destination TEXT    NOT NULL,
    secret      TEXT,
    events      TEXT    NOT NULL,
    active      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id),
    audit_id        INTEGER NOT NULL,
    event           TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    failed_at       INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (subscription_id, audit_id)
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_subscription ON outbox (subscription_id, id);

-- Everyone's in-app inbox.
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    audit_id     INTEGER NOT NULL,
    event        TEXT    NOT NULL,
    subject_type TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    read_at      INTEGER,
    UNIQUE (account_id, audit_id)
) STRICT;
CREATE INDEX notifications_account ON notifications (account_id, id);
CREATE INDEX grants_site ON grants (site_id) WHERE site_id IS NOT NULL;
