-- Record certificates (Art. 14, 15, 17): a snapshot of the certified facts, verifiable
-- by an unguessable number, revocable.
CREATE TABLE certificates (
    id             INTEGER PRIMARY KEY,
    number         TEXT    NOT NULL UNIQUE,
    volunteer_id   INTEGER NOT NULL REFERENCES volunteers (id),
    facts          TEXT    NOT NULL,
    issued_at      INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_by     INTEGER,
    revoked_reason TEXT
) STRICT;
CREATE INDEX certificates_volunteer ON certificates (volunteer_id, id);
