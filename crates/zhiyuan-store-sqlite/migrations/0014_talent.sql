-- The professional talent pool (issue 5): volunteers' qualifications, counted once an
-- authorised staff member verified them (Art. 16).
CREATE TABLE qualifications (
    id                 INTEGER PRIMARY KEY,
    volunteer_id       INTEGER NOT NULL REFERENCES volunteers (id),
    kind               TEXT    NOT NULL,
    title              TEXT    NOT NULL,
    certificate_number TEXT    NOT NULL,
    issuer             TEXT    NOT NULL,
    valid_until        TEXT,
    status             TEXT    NOT NULL,
    decided_by         INTEGER,
    decided_at         INTEGER,
    reason             TEXT,
    created_at         INTEGER NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX qualifications_volunteer ON qualifications (volunteer_id, id);
CREATE INDEX qualifications_pool ON qualifications (kind, status, volunteer_id);

-- Mobilisation calls (急难险重) and the volunteers each one called.
CREATE TABLE calls (
    id             INTEGER PRIMARY KEY,
    region_code    INTEGER NOT NULL,
    kinds          TEXT    NOT NULL,
    needed         INTEGER NOT NULL,
    assembly_point TEXT    NOT NULL,
    lat            REAL,
    lng            REAL,
    assemble_at    INTEGER NOT NULL,
    note           TEXT    NOT NULL,
    created_by     INTEGER,
    created_at     INTEGER NOT NULL,
    selected       INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE call_members (
    call_id      INTEGER NOT NULL REFERENCES calls (id),
    volunteer_id INTEGER NOT NULL REFERENCES volunteers (id),
    kind         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (call_id, volunteer_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX call_members_volunteer ON call_members (volunteer_id, call_id);
