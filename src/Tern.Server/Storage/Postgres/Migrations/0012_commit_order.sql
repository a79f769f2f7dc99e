-- Reading events and clicks in the order they committed (GET /events?after=, GET /clicks?after=, the event stream).
-- Ids follow creation time, not commit order: with several writers a row with a smaller id can commit after a
-- reader has passed it. Each row now records the transaction that wrote it (tx); readers order by (tx, id) and take
-- only rows whose transaction is older than every one still running (pg_snapshot_xmin), so no row can later appear
-- before one already read. Rows written before this version read tx 0: all committed, before every later row.
-- A constant default first, so adding the column rewrites nothing; the transaction id is the default from now on.
ALTER TABLE events ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE events ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
ALTER TABLE events ADD COLUMN is_bot BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX events_workspace_tx ON events (workspace_id, tx, id);

ALTER TABLE clicks ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE clicks ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
CREATE INDEX clicks_workspace_tx ON clicks (workspace_id, tx, id);

-- Every statement that appends events announces it on commit, so event streams on every node read at once.
-- The payload is empty: identical notifications of one transaction fold into one.
CREATE FUNCTION tern_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tern_events', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION tern_events_notify();
