-- Foundation: regions, sites, organisations, volunteers, accounts, memberships, audit.
-- Times are INTEGER microseconds since the Unix epoch (UTC); dates are TEXT YYYY-MM-DD;
-- region codes are their 12-digit INTEGER form, so a subtree is one range.

CREATE TABLE regions (
    code        INTEGER PRIMARY KEY,
    parent_code INTEGER REFERENCES regions (code),
    level       INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX regions_parent ON regions (parent_code, code);

CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    region_code INTEGER NOT NULL REFERENCES regions (code),
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    lat         REAL,
    lng         REAL,
    phone       TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX sites_region ON sites (region_code, id);

CREATE TABLE organisations (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    credit_code        TEXT UNIQUE,
    parent_id          INTEGER REFERENCES organisations (id),
    region_code        INTEGER NOT NULL REFERENCES regions (code),
    site_id            INTEGER REFERENCES sites (id),
    description        TEXT    NOT NULL,
    contact_name       TEXT,
    contact_phone      TEXT,
    service_categories TEXT    NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX organisations_region ON organisations (region_code, id);
CREATE INDEX organisations_parent ON organisations (parent_id);
CREATE INDEX organisations_site ON organisations (site_id);

CREATE TABLE volunteers (
    id                      INTEGER PRIMARY KEY,
    number                  INTEGER NOT NULL UNIQUE,
    name                    TEXT    NOT NULL,
    gender                  TEXT    NOT NULL,
    birth_date              TEXT    NOT NULL,
    document_kind           TEXT    NOT NULL,
    document_country        TEXT,
    document_ciphertext     BLOB    NOT NULL,
    document_hmac           BLOB    NOT NULL UNIQUE,
    document_masked         TEXT    NOT NULL,
    residence_region        INTEGER NOT NULL REFERENCES regions (code),
    phone                   TEXT    NOT NULL,
    skills                  TEXT    NOT NULL,
    service_categories      TEXT    NOT NULL,
    guardian_name           TEXT,
    guardian_phone          TEXT,
    guardian_consented_at   INTEGER,
    privacy_consent_version TEXT    NOT NULL,
    privacy_consented_at    INTEGER NOT NULL,
    version                 INTEGER NOT NULL DEFAULT 1,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX volunteers_region ON volunteers (residence_region, id);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    login         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT,
    volunteer_id  INTEGER UNIQUE REFERENCES volunteers (id),
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE grants (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    role        TEXT    NOT NULL,
    region_code INTEGER NOT NULL REFERENCES regions (code),
    site_id     INTEGER REFERENCES sites (id),
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX grants_account ON grants (account_id);

CREATE TABLE memberships (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations (id),
    volunteer_id INTEGER NOT NULL REFERENCES volunteers (id),
    role         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    applied_at   INTEGER NOT NULL,
    decided_at   INTEGER,
    decided_by   INTEGER REFERENCES accounts (id),
    version      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (org_id, volunteer_id)
) STRICT;
CREATE INDEX memberships_volunteer ON memberships (volunteer_id);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE login_failures (
    login        TEXT    PRIMARY KEY,
    count        INTEGER NOT NULL,
    first_at     INTEGER NOT NULL,
    locked_until INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY,
    at               INTEGER NOT NULL,
    actor_account_id INTEGER,
    request_id       TEXT    NOT NULL,
    action           TEXT    NOT NULL,
    subject_type     TEXT    NOT NULL,
    subject_id       TEXT    NOT NULL,
    region_code      INTEGER,
    reason           TEXT,
    details          TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_region ON audit_log (region_code, id);
CREATE INDEX audit_subject ON audit_log (subject_type, subject_id, id);
