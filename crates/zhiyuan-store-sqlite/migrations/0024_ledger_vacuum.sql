-- On PostgreSQL the ledger's entries are vacuumed after a fixed number of changes (see
-- that migration: integrated entries stay in the index of pending ones until then).
-- SQLite removes an updated row's old index entry at once: nothing changes here.
SELECT 1;
