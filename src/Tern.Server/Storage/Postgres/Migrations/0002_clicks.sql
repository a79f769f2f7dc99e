-- Raw clicks (kept for Tern:Clicks:RetentionDays) and the rollups that stats read (kept for ever).
CREATE TABLE clicks (
    id             TEXT PRIMARY KEY,
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
    visitor        TEXT
);

CREATE INDEX clicks_workspace_id ON clicks (workspace_id, id);
CREATE INDEX clicks_link_id ON clicks (link_id, id);

-- scope_id is a link id or a workspace id; granularity 'h' (bucket = hour start) or 'd' (day start), in Unix ms.
-- dimension 'total' has key ''; 'link' (workspace scope only) has the link id as key.
CREATE TABLE click_rollups (
    scope_id     TEXT NOT NULL,
    granularity  TEXT NOT NULL,
    bucket       BIGINT NOT NULL,
    dimension    TEXT NOT NULL,
    key          TEXT NOT NULL,
    clicks       BIGINT NOT NULL,
    PRIMARY KEY (scope_id, granularity, dimension, bucket, key)
);

-- One random salt per UTC day for the optional unique-visitor hash; old salts are deleted, so a hash can
-- never be traced back to an address afterwards.
CREATE TABLE visitor_salts (
    day   BIGINT PRIMARY KEY,
    salt  BYTEA NOT NULL
);

-- Who was seen today, per link and per workspace, so each visitor counts once a day (Tern:Clicks:UniqueVisitors).
CREATE TABLE daily_visitors (
    scope_id  TEXT NOT NULL,
    day       BIGINT NOT NULL,
    visitor   TEXT NOT NULL,
    PRIMARY KEY (scope_id, day, visitor)
);
