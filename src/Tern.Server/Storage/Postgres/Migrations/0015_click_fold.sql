-- Nothing to do on PostgreSQL: a click batch is folded into counts, rollups and events in the transaction that stores
-- it (many nodes write at once, each batch complete), so there is no fold mark to keep.
SELECT 1;
