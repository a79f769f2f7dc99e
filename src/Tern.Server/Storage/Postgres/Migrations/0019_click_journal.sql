-- Nothing to do on PostgreSQL: each node stores its clicks into the partitioned clicks table with a binary COPY and
-- folds them with the batch; the journal of SQLite 0019 does not apply.
SELECT 1;
