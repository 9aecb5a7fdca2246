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
