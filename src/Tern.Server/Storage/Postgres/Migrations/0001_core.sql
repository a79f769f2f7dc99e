-- Workspaces, API keys, links with their tags, and Idempotency-Key records. Instants are Unix milliseconds,
-- as on SQLite, so that one set of queries serves both providers.
CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

CREATE TABLE links (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces (id),
    domain         TEXT NOT NULL,
    slug           TEXT NOT NULL,
    base_url       TEXT NOT NULL,
    url            TEXT NOT NULL,
    utm_source     TEXT,
    utm_medium     TEXT,
    utm_campaign   TEXT,
    utm_term       TEXT,
    utm_content    TEXT,
    tags           TEXT NOT NULL DEFAULT '[]',
    external_id    TEXT,
    title          TEXT,
    expires_at     BIGINT,
    expired_url    TEXT,
    max_clicks     BIGINT,
    redirect_type  INTEGER NOT NULL DEFAULT 302,
    forward_query  BOOLEAN NOT NULL DEFAULT TRUE,
    archived       BOOLEAN NOT NULL DEFAULT FALSE,
    clicks         BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (domain, slug)
);

CREATE UNIQUE INDEX links_workspace_external_id ON links (workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX links_workspace_id ON links (workspace_id, id);

CREATE TABLE link_tags (
    workspace_id  TEXT NOT NULL,
    tag           TEXT NOT NULL,
    link_id       TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    PRIMARY KEY (workspace_id, tag, link_id)
);

CREATE INDEX link_tags_link_id ON link_tags (link_id);

CREATE TABLE idempotency_keys (
    workspace_id   TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status_code    INTEGER,
    content_type   TEXT,
    location       TEXT,
    body           BYTEA,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
