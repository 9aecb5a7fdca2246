-- On SQLite the partial index of pending ledger entries is dropped: it was never read
-- there (see that migration). PostgreSQL reads its own: the unique index on seq keeps
-- NULL keys in no order of id, and the partial index holds only the few pending entries
-- once vacuumed (0024). Nothing changes here.
SELECT 1;
