-- Nothing to do on SQLite: its click journal already folds rollups behind the writer, by rowid
-- (click_rollup_state.rolled_up_through, 0004); the transaction ranges of PostgreSQL 0016 do not apply.
SELECT 1;
