-- Raw clicks are a journal that redirects append to; what is derived from them (the links' click counts, first
-- sightings, link.clicked events, click-limit expiries) is folded in afterwards, in transactions of its own. This is
-- the rowid of the last click folded; the clicks after it are folded again after a crash. Rollups keep their own mark
-- (rolled_up_through), never above this one.
ALTER TABLE click_rollup_state ADD COLUMN folded_through INTEGER NOT NULL DEFAULT 0;

-- Clicks stored before this version were folded with their batch.
UPDATE click_rollup_state SET folded_through = (SELECT COALESCE(MAX(rowid), 0) FROM clicks);
