-- A change of what a webhook subscribes to is announced on 'tern_webhooks', so that each node forgets which event types
-- each workspace's webhooks take (it skips reading the subscriptions for events none of them wants). Health updates
-- (last_success_at, failing_since) are not announced: they change no subscription.
CREATE TRIGGER webhooks_changed AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF workspace_id, events, enabled ON webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION tern_announce_change('tern_webhooks');
