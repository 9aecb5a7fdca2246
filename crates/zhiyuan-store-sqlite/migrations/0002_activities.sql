-- Projects, shifts, sign-ups, attendance, service records and running totals.

CREATE TABLE projects (
    id                 INTEGER PRIMARY KEY,
    org_id             INTEGER NOT NULL REFERENCES organisations (id),
    name               TEXT    NOT NULL,
    category           TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    region_code        INTEGER NOT NULL REFERENCES regions (code),
    site_id            INTEGER REFERENCES sites (id),
    address            TEXT    NOT NULL,
    lat                REAL,
    lng                REAL,
    geofence_m         INTEGER,
    starts_on          TEXT    NOT NULL,
    ends_on            TEXT    NOT NULL,
    conditions         TEXT    NOT NULL,
    risky              INTEGER NOT NULL,
    risk_disclosure    TEXT    NOT NULL,
    insurance          TEXT,
    signup_mode        TEXT    NOT NULL,
    review_required    INTEGER NOT NULL,
    responsible_person TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX projects_region ON projects (region_code, id);
CREATE INDEX projects_org ON projects (org_id, id);

CREATE TABLE shifts (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    position   TEXT    NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    capacity   INTEGER NOT NULL,
    accepted   INTEGER NOT NULL DEFAULT 0,
    cancelled  INTEGER NOT NULL DEFAULT 0,
    version    INTEGER NOT NULL DEFAULT 1,
    CHECK (accepted >= 0 AND accepted <= capacity)
) STRICT;
CREATE INDEX shifts_project ON shifts (project_id, starts_at);

CREATE TABLE signups (
    id           INTEGER PRIMARY KEY,
    shift_id     INTEGER NOT NULL REFERENCES shifts (id),
    volunteer_id INTEGER NOT NULL REFERENCES volunteers (id),
    status       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    decided_at   INTEGER,
    UNIQUE (shift_id, volunteer_id)
) STRICT;
CREATE INDEX signups_volunteer ON signups (volunteer_id, id);
CREATE INDEX signups_queue ON signups (shift_id, status, id);

CREATE TABLE service_records (
    id                 INTEGER PRIMARY KEY,
    origin_id          INTEGER REFERENCES service_records (id),
    revision           INTEGER NOT NULL DEFAULT 1,
    is_current         INTEGER NOT NULL DEFAULT 1,
    volunteer_id       INTEGER NOT NULL REFERENCES volunteers (id),
    org_id             INTEGER NOT NULL REFERENCES organisations (id),
    project_id         INTEGER REFERENCES projects (id),
    shift_id           INTEGER REFERENCES shifts (id),
    activity_name      TEXT    NOT NULL,
    service_date       TEXT    NOT NULL,
    place              TEXT    NOT NULL,
    content            TEXT    NOT NULL,
    minutes            INTEGER NOT NULL,
    responsible_person TEXT    NOT NULL,
    source             TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    flags              TEXT    NOT NULL,
    dedupe_key         TEXT UNIQUE,
    created_at         INTEGER NOT NULL,
    created_by         INTEGER,
    decided_at         INTEGER,
    decided_by         INTEGER
) STRICT;
CREATE INDEX records_volunteer ON service_records (volunteer_id, id);
CREATE INDEX records_volunteer_day ON service_records (volunteer_id, service_date);
CREATE INDEX records_org ON service_records (org_id, id);
CREATE INDEX records_origin ON service_records (origin_id) WHERE origin_id IS NOT NULL;

CREATE TABLE attendance (
    id               INTEGER PRIMARY KEY,
    shift_id         INTEGER NOT NULL REFERENCES shifts (id),
    volunteer_id     INTEGER NOT NULL REFERENCES volunteers (id),
    checked_in_at    INTEGER NOT NULL,
    check_in_method  TEXT    NOT NULL,
    distance_m       INTEGER,
    checked_out_at   INTEGER,
    check_out_method TEXT,
    auto_closed      INTEGER NOT NULL DEFAULT 0,
    record_id        INTEGER REFERENCES service_records (id),
    version          INTEGER NOT NULL DEFAULT 1,
    UNIQUE (shift_id, volunteer_id)
) STRICT;
CREATE INDEX attendance_open ON attendance (shift_id) WHERE checked_out_at IS NULL;

CREATE TABLE volunteer_totals (
    volunteer_id INTEGER PRIMARY KEY REFERENCES volunteers (id),
    minutes      INTEGER NOT NULL,
    records      INTEGER NOT NULL
) STRICT;

CREATE TABLE volunteer_year_totals (
    volunteer_id INTEGER NOT NULL REFERENCES volunteers (id),
    year         INTEGER NOT NULL,
    minutes      INTEGER NOT NULL,
    records      INTEGER NOT NULL,
    PRIMARY KEY (volunteer_id, year)
) STRICT, WITHOUT ROWID;
