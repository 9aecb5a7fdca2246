-- Matching orders to volunteers (issue 5, item 7). A volunteer who sets a service area
-- (a point and the parts of the week they are free) can be proposed for orders; each is
-- indexed by grid cell (zhiyuan_domain::matching), one row per skill and one under ''
-- for all, so candidates near a need with given skills are read from a few cells.
ALTER TABLE volunteers ADD COLUMN service_lat REAL;
ALTER TABLE volunteers ADD COLUMN service_lng REAL;
ALTER TABLE volunteers ADD COLUMN availability INTEGER NOT NULL DEFAULT 0;

CREATE TABLE match_cells (
    skill        TEXT    NOT NULL,
    cell         INTEGER NOT NULL,
    volunteer_id INTEGER NOT NULL REFERENCES volunteers (id),
    number       INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    birth_date   TEXT    NOT NULL,
    lat          REAL    NOT NULL,
    lng          REAL    NOT NULL,
    categories   INTEGER NOT NULL,
    availability INTEGER NOT NULL,
    PRIMARY KEY (skill, cell, volunteer_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX match_cells_volunteer ON match_cells (volunteer_id);

-- Whether minors may be proposed for a service (never, unless the site says so).
ALTER TABLE menu_items ADD COLUMN minors_allowed INTEGER NOT NULL DEFAULT 0;
