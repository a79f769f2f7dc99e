-- Reading events and clicks in the order they committed (GET /events?after=, GET /clicks?after=, the event stream).
-- SQLite has one writer and gives each new row the largest rowid plus one, so rowid order is commit order and
-- nothing is needed for it. Events now record whether a bot made the click behind them, for includeBots=false.
ALTER TABLE events ADD COLUMN is_bot INTEGER NOT NULL DEFAULT 0;
