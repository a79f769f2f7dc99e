-- Every change of an API key (a revocation above all) is announced on 'tern_keys', so that each node drops the keys
-- it holds in memory: a key is read from storage once per node, not once per request. The notice carries nothing;
-- keys change rarely, and each node simply forgets them all.
CREATE OR REPLACE FUNCTION tern_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tern_keys', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION tern_keys_changed();
