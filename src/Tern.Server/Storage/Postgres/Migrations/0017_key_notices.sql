-- Every change of an API key (a revocation above all) is announced on 'tern_keys', so that each node drops the keys
-- it holds in memory: a key is read from storage once per node, not once per request. The notice carries nothing;
-- keys change rarely, and each node simply forgets them all. The function announces on the channel its trigger names,
-- so that other tables held in memory the same way can use it.
CREATE OR REPLACE FUNCTION tern_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], '');
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION tern_announce_change('tern_keys');
