-- Star levels: rules per jurisdiction, applications with public notice and objections,
-- and each volunteer's certified star.

CREATE TABLE star_rules (
    region_code INTEGER PRIMARY KEY REFERENCES regions (code),
    rules       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE star_applications (
    id               INTEGER PRIMARY KEY,
    volunteer_id     INTEGER NOT NULL REFERENCES volunteers (id),
    star             INTEGER NOT NULL,
    label            TEXT    NOT NULL,
    certifier_region INTEGER NOT NULL REFERENCES regions (code),
    minutes          INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    applied_at       INTEGER NOT NULL,
    notice_from      TEXT,
    notice_until     TEXT,
    decided_at       INTEGER,
    decided_by       INTEGER,
    reason           TEXT,
    version          INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE UNIQUE INDEX star_applications_open ON star_applications (volunteer_id)
    WHERE status IN ('applied', 'in_notice');
CREATE INDEX star_applications_region ON star_applications (certifier_region, id);
CREATE INDEX star_applications_volunteer ON star_applications (volunteer_id, id);

CREATE TABLE star_objections (
    id             INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES star_applications (id),
    text           TEXT    NOT NULL,
    contact        TEXT,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX star_objections_application ON star_objections (application_id, id);

CREATE TABLE volunteer_stars (
    volunteer_id   INTEGER PRIMARY KEY REFERENCES volunteers (id),
    star           INTEGER NOT NULL,
    label          TEXT,
    application_id INTEGER REFERENCES star_applications (id),
    certified_at   INTEGER,
    barred_until   TEXT
) STRICT;
