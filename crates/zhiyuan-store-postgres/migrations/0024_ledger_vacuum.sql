-- Every ledger entry is written pending (seq NULL) and then integrated (seq set), which
-- leaves the old version's entry in the partial index of pending entries until a VACUUM
-- cleans the index. The sequencer asks for the first pending entry five times a second
-- on every app server, and integration reads pending entries in id order, so both walk
-- those dead entries: 150–220 ms a question once 20,000,000 entries had been integrated,
-- a core of PostgreSQL's time. Autovacuum's default threshold grows with the table (a
-- fifth of its rows), so this table is vacuumed and analyzed after a fixed number of
-- changed rows instead, its indexes cleaned each time (PostgreSQL otherwise skips index
-- cleanup when few heap pages hold dead rows, as integration leaves them).
ALTER TABLE ledger_entries SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 200000,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 200000,
    vacuum_index_cleanup = on
);
