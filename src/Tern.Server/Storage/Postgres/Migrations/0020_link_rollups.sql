-- A link's own stats cells (its totals, breakdowns and destinations in click_rollups) are kept only once it has more
-- than Tern:Clicks:LinkRollupsAbove clicks; until then its stats are read from its raw clicks, so that a click on one
-- of the many links clicked once or twice adds to its workspace's cells alone. A row here says that the link keeps
-- cells of its own: a fold that lists it counts its clicks below the fold's end from the clicks table, and every later
-- fold adds its clicks. Links clicked before this version have their cells already.
CREATE TABLE link_rollups (
    link_id  TEXT PRIMARY KEY
);
INSERT INTO link_rollups (link_id) SELECT id FROM links WHERE clicks > 0;
