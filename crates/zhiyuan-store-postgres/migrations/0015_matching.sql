-- Matching orders to volunteers (issue 5, item 7). A volunteer who sets a service area
-- (a point and the parts of the week they are free) can be proposed for orders; each is
-- indexed by grid cell (zhiyuan_domain::matching), one row per skill and one under ''
-- for all, so candidates near a need with given skills are read from a few cells.
ALTER TABLE volunteers ADD COLUMN service_lat DOUBLE PRECISION;
ALTER TABLE volunteers ADD COLUMN service_lng DOUBLE PRECISION;
ALTER TABLE volunteers ADD COLUMN availability INTEGER NOT NULL DEFAULT 0;

CREATE TABLE match_cells (
    skill        TEXT             NOT NULL,
    cell         BIGINT           NOT NULL,
    volunteer_id BIGINT           NOT NULL REFERENCES volunteers (id),
    number       BIGINT           NOT NULL,
    name         TEXT             NOT NULL,
    birth_date   DATE             NOT NULL,
    lat          DOUBLE PRECISION NOT NULL,
    lng          DOUBLE PRECISION NOT NULL,
    categories   BIGINT           NOT NULL,
    availability INTEGER          NOT NULL,
    -- Everything the match reads is in the index: an index-only scan, not one random
    -- heap page per candidate (the heap is in registration order, not by place).
    PRIMARY KEY (skill, cell, volunteer_id)
        INCLUDE (number, name, birth_date, lat, lng, categories, availability)
);
CREATE INDEX match_cells_volunteer ON match_cells (volunteer_id);

-- Whether minors may be proposed for a service (never, unless the site says so).
ALTER TABLE menu_items ADD COLUMN minors_allowed BOOLEAN NOT NULL DEFAULT false;
