-- Raw clicks partitioned by UTC month of ts, so that retention drops whole months and every month's table and
-- indexes stay the size of one month. The primary key must hold the partition key: (id, ts), id first, so the
-- lookups and ranges by id (listing pages, retention's id bound) keep using it. A DEFAULT partition takes any
-- click outside the months that exist, so a batch never fails on an unexpected timestamp; Tern's maintenance job
-- keeps the current month and the next two created ahead. Existing rows are copied in this one transaction.
ALTER TABLE clicks RENAME TO clicks_unpartitioned;
ALTER INDEX clicks_pkey RENAME TO clicks_unpartitioned_pkey;
DROP INDEX clicks_workspace_id;
DROP INDEX clicks_link_id;

CREATE TABLE clicks (
    id             TEXT NOT NULL,
    workspace_id   TEXT NOT NULL,
    link_id        TEXT NOT NULL,
    slug           TEXT NOT NULL,
    domain         TEXT NOT NULL,
    ts             BIGINT NOT NULL,
    device         TEXT NOT NULL,
    browser        TEXT NOT NULL,
    os             TEXT NOT NULL,
    country        TEXT,
    referrer       TEXT,
    referrer_host  TEXT,
    language       TEXT,
    is_bot         BOOLEAN NOT NULL,
    visitor        TEXT,
    PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);

CREATE TABLE clicks_default PARTITION OF clicks DEFAULT;

-- Creates clicks_YYYY_MM, the partition of the UTC month holding at_ms, unless it exists, and returns its name.
-- Rows the DEFAULT partition already holds for that month are moved into it, as attaching requires.
CREATE FUNCTION tern_click_partition(at_ms BIGINT) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    month_start TIMESTAMP := date_trunc('month', to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC');
    from_ms BIGINT := (EXTRACT(EPOCH FROM month_start AT TIME ZONE 'UTC') * 1000)::BIGINT;
    to_ms BIGINT := (EXTRACT(EPOCH FROM (month_start + INTERVAL '1 month') AT TIME ZONE 'UTC') * 1000)::BIGINT;
    part TEXT := 'clicks_' || to_char(month_start, 'YYYY_MM');
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN part;
    END IF;

    IF EXISTS (SELECT 1 FROM clicks_default WHERE ts >= from_ms AND ts < to_ms) THEN
        EXECUTE format('CREATE TABLE %I (LIKE clicks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        EXECUTE format('WITH moved AS (DELETE FROM clicks_default WHERE ts >= %s AND ts < %s RETURNING *) INSERT INTO %I SELECT * FROM moved',
            from_ms, to_ms, part);
        EXECUTE format('ALTER TABLE clicks ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', part, from_ms, to_ms);
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF clicks FOR VALUES FROM (%s) TO (%s)', part, from_ms, to_ms);
    END IF;

    RETURN part;
END
$$;

-- A partition for every month that has clicks, and for this month and the next two.
SELECT tern_click_partition(month_ms) FROM (
    SELECT DISTINCT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(ts / 1000.0) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') * 1000)::BIGINT AS month_ms
    FROM clicks_unpartitioned
    UNION
    SELECT (EXTRACT(EPOCH FROM ((clock_timestamp() AT TIME ZONE 'UTC') + make_interval(months => ahead)) AT TIME ZONE 'UTC') * 1000)::BIGINT
    FROM generate_series(0, 2) AS ahead
) AS months
ORDER BY month_ms;

INSERT INTO clicks (id, workspace_id, link_id, slug, domain, ts, device, browser, os, country, referrer, referrer_host, language, is_bot, visitor)
SELECT id, workspace_id, link_id, slug, domain, ts, device, browser, os, country, referrer, referrer_host, language, is_bot, visitor
FROM clicks_unpartitioned;

DROP TABLE clicks_unpartitioned;

-- Declared on the parent, created on every partition (and on those made later).
CREATE INDEX clicks_workspace_id ON clicks (workspace_id, id);
CREATE INDEX clicks_link_id ON clicks (link_id, id);
