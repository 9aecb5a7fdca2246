-- On SQLite this migration makes one index of a volunteer's two on their records, which
-- made an upload of 100,000 rows a fifth to a quarter faster there. PostgreSQL keeps
-- both: measured on 20,000,000 records, its uploads took as long with one index as with
-- two (7.8–9.4 s against 8.1–8.8 s), and a volunteer's list, which then had to read its
-- page's ids from the one index and the rows by their keys, served a fifth fewer
-- requests (PERFORMANCE.md, thirty-second round). Kept so that the two backends'
-- migrations keep the same names.
SELECT 1;
