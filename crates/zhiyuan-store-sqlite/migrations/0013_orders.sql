-- Service menus and orders (issue 5). A site's menu items override its ancestors' items
-- of the same code; an order moves between holders (a site, a team, a volunteer, or an
-- area it is offered to) by the state machine of zhiyuan_domain::order, each move audited.
CREATE TABLE menu_items (
    id              INTEGER PRIMARY KEY,
    site_id         INTEGER NOT NULL REFERENCES sites (id),
    code            TEXT    NOT NULL,
    category        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    conditions      TEXT    NOT NULL,
    skills          TEXT    NOT NULL,
    typical_minutes INTEGER NOT NULL,
    offered         INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    UNIQUE (site_id, code)
) STRICT;

CREATE TABLE orders (
    id             INTEGER PRIMARY KEY,
    tracking       TEXT    NOT NULL UNIQUE,
    requester_hash BLOB    NOT NULL,
    service_code   TEXT    NOT NULL,
    service_name   TEXT    NOT NULL,
    category       TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    region_code    INTEGER NOT NULL,
    address        TEXT,
    lat            REAL,
    lng            REAL,
    wanted_at      INTEGER,
    contact_name   TEXT    NOT NULL,
    contact_phone  TEXT    NOT NULL,
    site_id        INTEGER NOT NULL REFERENCES sites (id),
    status         TEXT    NOT NULL,
    holder_kind    TEXT    NOT NULL,
    holder_id      INTEGER NOT NULL,
    dispatcher_id  INTEGER,
    due_at         INTEGER,
    note           TEXT,
    report         TEXT,
    rating         INTEGER,
    comment        TEXT,
    created_at     INTEGER NOT NULL,
    accepted_at    INTEGER,
    completed_at   INTEGER,
    rated_at       INTEGER,
    updated_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX orders_holder ON orders (holder_kind, holder_id, id);
CREATE INDEX orders_site ON orders (site_id, id);
CREATE INDEX orders_region ON orders (region_code, id);
CREATE INDEX orders_due ON orders (due_at) WHERE due_at IS NOT NULL;

-- Finding the sites around a place (a request with coordinates only).
CREATE INDEX sites_location ON sites (lat, lng) WHERE lat IS NOT NULL;
