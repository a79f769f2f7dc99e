-- What nodes sharing this database coordinate through.

-- The last time each periodic job (expiry sweep, maintenance) claimed its period, on the database's clock, so that
-- the cluster runs it once per period rather than once per node.
CREATE TABLE cluster_jobs (
    name         TEXT PRIMARY KEY,
    last_run_at  BIGINT NOT NULL
);

-- Every change to what a redirect serves sends NOTIFY tern_links, '<domain>/<slug>' (old and new place), from any
-- statement that makes it, so every node's link cache hears of it. A notification is delivered only when the
-- changing transaction commits. Updates of the click count alone are not announced (the column list leaves it out),
-- while reaching a click limit is (it sets expired_event_at).
CREATE FUNCTION tern_link_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('tern_links', NEW.domain || '/' || NEW.slug);
        RETURN NULL;
    END IF;

    PERFORM pg_notify('tern_links', OLD.domain || '/' || OLD.slug);
    IF TG_OP = 'UPDATE' THEN
        IF NEW.domain <> OLD.domain OR NEW.slug <> OLD.slug THEN
            PERFORM pg_notify('tern_links', NEW.domain || '/' || NEW.slug);
        END IF;
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER links_changed
    AFTER INSERT OR DELETE OR UPDATE OF domain, slug, url, expires_at, expired_url, max_clicks, redirect_type, forward_query,
        archived, updated_at, expired_event_at
    ON links FOR EACH ROW EXECUTE FUNCTION tern_link_changed();
