-- Mutual recognition (issue 4): the partner platforms whose credentials are trusted, the
-- one-time challenges that bind an import to the volunteer who asked for it, and what was
-- recognised from partners' bundles (one per volunteer and partner; a partner account is
-- linked to one volunteer).
CREATE TABLE partners (
    id                       INTEGER PRIMARY KEY,
    name                     TEXT    NOT NULL,
    jurisdiction             TEXT    NOT NULL,
    url                      TEXT    NOT NULL,
    did                      TEXT    NOT NULL UNIQUE,
    issuer_key               TEXT    NOT NULL,
    log_origin               TEXT    NOT NULL,
    log_keys                 TEXT    NOT NULL,
    counts_toward_stars      INTEGER NOT NULL,
    counts_toward_incentives INTEGER NOT NULL,
    active                   INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    version                  INTEGER NOT NULL DEFAULT 1
) STRICT;

CREATE TABLE recognition_challenges (
    challenge    TEXT    PRIMARY KEY,
    volunteer_id INTEGER NOT NULL REFERENCES volunteers (id),
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE recognitions (
    id              INTEGER PRIMARY KEY,
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers (id),
    partner_id      INTEGER NOT NULL REFERENCES partners (id),
    partner_subject TEXT    NOT NULL,
    partner_name    TEXT    NOT NULL,
    credential_id   TEXT    NOT NULL,
    minutes         INTEGER NOT NULL,
    records         INTEGER NOT NULL,
    star            INTEGER,
    bundle          TEXT    NOT NULL,
    imported_at     INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX recognitions_volunteer ON recognitions (volunteer_id, partner_id);
CREATE UNIQUE INDEX recognitions_subject ON recognitions (partner_id, partner_subject);
