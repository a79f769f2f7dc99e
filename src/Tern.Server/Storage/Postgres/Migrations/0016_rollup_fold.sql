-- The click rollups are added up from the stored clicks behind the click writer, in set-based statements
-- (RangeRollups), instead of in each batch's transaction. Every click row records its transaction (tx, 0012); the
-- mark says that the clicks of every transaction before it are in the rollups. Clicks stored before this version
-- were added up with their batch, so the mark starts at this transaction: an older one still running belongs to a
-- node of the previous version, which adds up its own batch. Run one version at a time: a node of the previous
-- version started after this script would have its clicks counted twice.
CREATE TABLE click_rollup_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    rolled_up_tx  xid8 NOT NULL
);
INSERT INTO click_rollup_state (id, rolled_up_tx) VALUES (1, pg_current_xact_id());

-- A fold reads the clicks of a range of transactions.
CREATE INDEX clicks_tx ON clicks (tx);
