-- How each site answered the public, kept as running tallies per (place, receiving site)
-- so that a jurisdiction's report reads a row per village and site instead of every
-- order placed there (issue 5, item 6). A trigger keeps them in the transaction of each
-- write: an order adds its contribution when written and, when its acceptance,
-- completion or rating changes, the difference between its new and old contributions.
-- Orders never change place or receiving site, and are never deleted.
CREATE TABLE order_tallies (
    region_code    BIGINT           NOT NULL,
    site_id        BIGINT           NOT NULL,
    orders         BIGINT           NOT NULL,
    accepted       BIGINT           NOT NULL,
    accept_secs    DOUBLE PRECISION NOT NULL,
    completed      BIGINT           NOT NULL,
    complete_timed BIGINT           NOT NULL,
    complete_secs  DOUBLE PRECISION NOT NULL,
    rated          BIGINT           NOT NULL,
    rating_sum     BIGINT           NOT NULL,
    PRIMARY KEY (region_code, site_id)
);

INSERT INTO order_tallies
SELECT region_code, site_id, COUNT(*), COUNT(accepted_at),
    COALESCE(SUM(EXTRACT(EPOCH FROM accepted_at - created_at)::FLOAT8), 0),
    COUNT(*) FILTER (WHERE status = 'completed'), COUNT(completed_at),
    COALESCE(SUM(EXTRACT(EPOCH FROM completed_at - created_at)::FLOAT8), 0),
    COUNT(rating), COALESCE(SUM(rating), 0)
FROM orders GROUP BY region_code, site_id;

CREATE FUNCTION tally_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- The order's contribution before this write (none before its insert).
    was_accepted  INT := 0;
    old_accept    FLOAT8 := 0;
    was_completed INT := 0;
    was_timed     INT := 0;
    old_complete  FLOAT8 := 0;
    was_rated     INT := 0;
    old_rating    BIGINT := 0;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        was_accepted := (OLD.accepted_at IS NOT NULL)::INT;
        old_accept := COALESCE(EXTRACT(EPOCH FROM OLD.accepted_at - OLD.created_at)::FLOAT8, 0);
        was_completed := (OLD.status = 'completed')::INT;
        was_timed := (OLD.completed_at IS NOT NULL)::INT;
        old_complete := COALESCE(EXTRACT(EPOCH FROM OLD.completed_at - OLD.created_at)::FLOAT8, 0);
        was_rated := (OLD.rating IS NOT NULL)::INT;
        old_rating := COALESCE(OLD.rating, 0);
    END IF;
    INSERT INTO order_tallies AS t VALUES (
        NEW.region_code, NEW.site_id, CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE 0 END,
        (NEW.accepted_at IS NOT NULL)::INT - was_accepted,
        COALESCE(EXTRACT(EPOCH FROM NEW.accepted_at - NEW.created_at)::FLOAT8, 0) - old_accept,
        (NEW.status = 'completed')::INT - was_completed,
        (NEW.completed_at IS NOT NULL)::INT - was_timed,
        COALESCE(EXTRACT(EPOCH FROM NEW.completed_at - NEW.created_at)::FLOAT8, 0) - old_complete,
        (NEW.rating IS NOT NULL)::INT - was_rated,
        COALESCE(NEW.rating, 0) - old_rating)
    ON CONFLICT (region_code, site_id) DO UPDATE SET
        orders = t.orders + excluded.orders,
        accepted = t.accepted + excluded.accepted,
        accept_secs = t.accept_secs + excluded.accept_secs,
        completed = t.completed + excluded.completed,
        complete_timed = t.complete_timed + excluded.complete_timed,
        complete_secs = t.complete_secs + excluded.complete_secs,
        rated = t.rated + excluded.rated,
        rating_sum = t.rating_sum + excluded.rating_sum;
    RETURN NULL;
END;
$$;
CREATE TRIGGER orders_tally_insert AFTER INSERT ON orders FOR EACH ROW
EXECUTE FUNCTION tally_order();
CREATE TRIGGER orders_tally_update AFTER UPDATE ON orders FOR EACH ROW
WHEN (OLD.accepted_at IS DISTINCT FROM NEW.accepted_at
    OR OLD.completed_at IS DISTINCT FROM NEW.completed_at
    OR (OLD.status = 'completed') IS DISTINCT FROM (NEW.status = 'completed')
    OR OLD.rating IS DISTINCT FROM NEW.rating)
EXECUTE FUNCTION tally_order();
