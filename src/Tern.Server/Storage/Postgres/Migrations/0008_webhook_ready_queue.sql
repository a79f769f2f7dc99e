-- Webhook delivery at campaign volume. Claiming reads an endpoint's due deliveries through an index that holds only
-- pending ones, ordered by endpoint and due time, so a claim reads as many index entries as it takes, however long
-- the backlog or the history of finished deliveries. A claim moves the delivery's due time to the claim's end
-- (claimed rows leave the due range, and come due by themselves if their node dies), so the claim column goes. The
-- old index over (status, next_attempt_at) made a claim walk every due row of every endpoint to find its own.
-- Numbered 0008 on both providers: from here on a number means the same change on SQLite and PostgreSQL.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_ready ON webhook_deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
ALTER TABLE webhook_deliveries DROP COLUMN claimed_until;

-- Purging keeps an event while a delivery still refers to it: that check is an index probe per event.
-- Deliveries and events are purged in id order (ids begin with their creation time), so created_at needs no index.
DROP INDEX webhook_deliveries_created_at;
CREATE INDEX webhook_deliveries_event_id ON webhook_deliveries (event_id);

-- An endpoint's recent attempts, for its delivery rate.
CREATE INDEX webhook_attempts_webhook_id ON webhook_attempts (webhook_id, attempted_at);

-- A delivery's last outcome is read from its attempts, so recording a batch updates each delivery with what all the
-- batch shares (succeeded, failed, or due again at its own time) instead of a statement per delivery.
ALTER TABLE webhook_deliveries DROP COLUMN last_attempt_at;
ALTER TABLE webhook_deliveries DROP COLUMN last_status_code;
ALTER TABLE webhook_deliveries DROP COLUMN last_error;

-- A delivery row is written three times (queued, claimed, finished): autovacuum starts early, as for the other
-- update-heavy tables.
ALTER TABLE webhook_deliveries SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
