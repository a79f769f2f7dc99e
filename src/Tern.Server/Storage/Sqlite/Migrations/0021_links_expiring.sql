-- The expiry sweep looks for links past their expiry and not yet announced, every Tern:Maintenance:ExpirySweepSeconds.
-- Without an index it read every link each time (on SQLite inside a write transaction, holding the one writer); this
-- partial index holds only the links with an expiry still to announce, in expiry order.
CREATE INDEX links_expiring ON links (expires_at, id) WHERE expires_at IS NOT NULL AND expired_event_at IS NULL;
