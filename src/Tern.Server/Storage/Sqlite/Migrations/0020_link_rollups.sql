-- A link's own stats cells (its totals, breakdowns and destinations in click_rollups) are kept only once it has more
-- than Tern:Clicks:LinkRollupsAbove clicks; until then its stats are read from its raw clicks, so that a click on one
-- of the many links clicked once or twice adds to its workspace's cells alone. A row here says that the link keeps
-- cells of its own: they hold its clicks up to counted_through (the fold mark, a rowid of the journal, when they were
-- counted) and the fold adds each later one. Links clicked before this version have their cells already, up to the rollup mark.
CREATE TABLE link_rollups (
    link_id          TEXT PRIMARY KEY,
    counted_through  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO link_rollups (link_id, counted_through)
SELECT id, (SELECT rolled_up_through FROM click_rollup_state) FROM links WHERE clicks > 0;
