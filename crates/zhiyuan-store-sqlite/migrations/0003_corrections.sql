-- Corrections of service records (Art. 13), and training, award and evaluation entries
-- (Art. 8 to 10).

CREATE TABLE corrections (
    id               INTEGER PRIMARY KEY,
    record_id        INTEGER REFERENCES service_records (id),
    volunteer_id     INTEGER NOT NULL REFERENCES volunteers (id),
    org_id           INTEGER NOT NULL REFERENCES organisations (id),
    reason           TEXT    NOT NULL,
    proposed         TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    decided_at       INTEGER,
    decided_by       INTEGER,
    decision_note    TEXT,
    result_record_id INTEGER REFERENCES service_records (id)
) STRICT;
CREATE INDEX corrections_org ON corrections (org_id, status, id);
CREATE INDEX corrections_volunteer ON corrections (volunteer_id, id);

CREATE TABLE volunteer_entries (
    id               INTEGER PRIMARY KEY,
    kind             TEXT    NOT NULL,
    volunteer_id     INTEGER NOT NULL REFERENCES volunteers (id),
    org_id           INTEGER NOT NULL REFERENCES organisations (id),
    name             TEXT    NOT NULL,
    entry_date       TEXT    NOT NULL,
    content          TEXT    NOT NULL,
    duration_minutes INTEGER,
    issuer           TEXT    NOT NULL,
    rating           TEXT,
    created_at       INTEGER NOT NULL,
    created_by       INTEGER
) STRICT;
CREATE INDEX volunteer_entries_volunteer ON volunteer_entries (volunteer_id, id);
