-- How each site answered the public, kept as running tallies per (place, receiving site)
-- so that a jurisdiction's report reads a row per village and site instead of every
-- order placed there (issue 5, item 6). Triggers keep them in the transaction of each
-- write: an order adds its contribution when written and, when its acceptance,
-- completion or rating changes, the difference between its new and old contributions.
-- Orders never change place or receiving site, and are never deleted.
CREATE TABLE order_tallies (
    region_code    INTEGER NOT NULL,
    site_id        INTEGER NOT NULL,
    orders         INTEGER NOT NULL,
    accepted       INTEGER NOT NULL,
    accept_secs    REAL    NOT NULL,
    completed      INTEGER NOT NULL,
    complete_timed INTEGER NOT NULL,
    complete_secs  REAL    NOT NULL,
    rated          INTEGER NOT NULL,
    rating_sum     INTEGER NOT NULL,
    PRIMARY KEY (region_code, site_id)
) STRICT, WITHOUT ROWID;

INSERT INTO order_tallies
SELECT region_code, site_id, COUNT(*), COUNT(accepted_at),
    COALESCE(SUM((accepted_at - created_at) / 1e6), 0.0), SUM(status = 'completed'),
    COUNT(completed_at), COALESCE(SUM((completed_at - created_at) / 1e6), 0.0),
    COUNT(rating), COALESCE(SUM(rating), 0)
FROM orders GROUP BY region_code, site_id;

CREATE TRIGGER orders_tally_insert AFTER INSERT ON orders BEGIN
    INSERT INTO order_tallies VALUES (
        NEW.region_code, NEW.site_id, 1,
        NEW.accepted_at IS NOT NULL, COALESCE((NEW.accepted_at - NEW.created_at) / 1e6, 0.0),
        NEW.status = 'completed',
        NEW.completed_at IS NOT NULL, COALESCE((NEW.completed_at - NEW.created_at) / 1e6, 0.0),
        NEW.rating IS NOT NULL, COALESCE(NEW.rating, 0))
    ON CONFLICT (region_code, site_id) DO UPDATE SET
        orders = orders + excluded.orders,
        accepted = accepted + excluded.accepted,
        accept_secs = accept_secs + excluded.accept_secs,
        completed = completed + excluded.completed,
        complete_timed = complete_timed + excluded.complete_timed,
        complete_secs = complete_secs + excluded.complete_secs,
        rated = rated + excluded.rated,
        rating_sum = rating_sum + excluded.rating_sum;
END;

CREATE TRIGGER orders_tally_update AFTER UPDATE OF status, accepted_at, completed_at, rating
ON orders
WHEN OLD.accepted_at IS NOT NEW.accepted_at OR OLD.completed_at IS NOT NEW.completed_at
    OR (OLD.status = 'completed') <> (NEW.status = 'completed') OR OLD.rating IS NOT NEW.rating
BEGIN
    UPDATE order_tallies SET
        accepted = accepted + (NEW.accepted_at IS NOT NULL) - (OLD.accepted_at IS NOT NULL),
        accept_secs = accept_secs + COALESCE((NEW.accepted_at - NEW.created_at) / 1e6, 0.0)
            - COALESCE((OLD.accepted_at - OLD.created_at) / 1e6, 0.0),
        completed = completed + (NEW.status = 'completed') - (OLD.status = 'completed'),
        complete_timed = complete_timed + (NEW.completed_at IS NOT NULL)
            - (OLD.completed_at IS NOT NULL),
        complete_secs = complete_secs + COALESCE((NEW.completed_at - NEW.created_at) / 1e6, 0.0)
            - COALESCE((OLD.completed_at - OLD.created_at) / 1e6, 0.0),
        rated = rated + (NEW.rating IS NOT NULL) - (OLD.rating IS NOT NULL),
        rating_sum = rating_sum + COALESCE(NEW.rating, 0) - COALESCE(OLD.rating, 0)
    WHERE region_code = NEW.region_code AND site_id = NEW.site_id;
END;
