-- Every click batch adds to rollup cells and to the links' counts: updates of columns no index covers. With room
-- left on each page (fillfactor 90) PostgreSQL keeps such an update on the row's own page (a HOT update, with no new
-- index entries), and autovacuum, started after 2 % of a table changed rather than 20 %, clears the dead row
-- versions before they bloat the tables. The settings apply to pages written from now on.
ALTER TABLE click_rollups SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE links SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.05);
