-- The rowid of the last click whose sums are in click_rollups. The click writer may hold a few batches' sums in
-- memory (Tern:Clicks:RollupIntervalMilliseconds); after a crash it adds up the clicks after this mark again.
CREATE TABLE click_rollup_state (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    rolled_up_through  INTEGER NOT NULL
);

-- Clicks stored before this version were rolled up with their batch.
INSERT INTO click_rollup_state (id, rolled_up_through) SELECT 1, COALESCE(MAX(rowid), 0) FROM clicks;
