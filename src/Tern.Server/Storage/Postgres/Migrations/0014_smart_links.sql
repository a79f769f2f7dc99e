-- Smart links: go-live, targeting rules, A/B variants, the preview card (rules, variants and preview as JSON) and
-- the visitors' password hash; each click records the destination served, the rule or variant that chose it, and
-- whether it came from a QR scan. Columns added to the partitioned clicks reach every partition, and those made later.
ALTER TABLE links
    ADD COLUMN starts_at BIGINT,
    ADD COLUMN prelaunch_url TEXT,
    ADD COLUMN rules TEXT,
    ADD COLUMN variants TEXT,
    ADD COLUMN preview TEXT,
    ADD COLUMN password_hash TEXT;

ALTER TABLE clicks
    ADD COLUMN destination TEXT,
    ADD COLUMN rule_index INTEGER,
    ADD COLUMN variant INTEGER,
    ADD COLUMN source TEXT;

-- What a redirect serves now includes the smart fields: a change to any of them is announced to every node's cache.
DROP TRIGGER links_changed ON links;
CREATE TRIGGER links_changed
    AFTER INSERT OR DELETE OR UPDATE OF domain, slug, url, expires_at, expired_url, max_clicks, redirect_type, forward_query,
        archived, updated_at, expired_event_at, starts_at, prelaunch_url, rules, variants, preview, password_hash
    ON links FOR EACH ROW EXECUTE FUNCTION tern_link_changed();
