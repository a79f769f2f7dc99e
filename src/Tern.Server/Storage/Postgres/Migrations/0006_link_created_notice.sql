-- A created link is announced as '+<domain>/<slug>': a node then forgets only that the slug was unknown. Before
-- this, the announcement of a creation could arrive after a node had already read and cached the new link, and
-- dropped it for nothing.
CREATE OR REPLACE FUNCTION tern_link_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('tern_links', '+' || NEW.domain || '/' || NEW.slug);
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
