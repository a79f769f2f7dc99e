-- The click writer appends to a journal with no index but its rowid, and the fold copies each chunk into the indexed
-- clicks table as it folds it; a journal row is deleted once its rollup sums are written. The indexes of clicks made
-- every append touch a page per link clicked, which capped what the writer could store, and so the redirects.
-- Rowids go on from those of clicks (the writer gives them, after folded_through when the journal is empty): the marks
-- of click_rollup_state keep their meaning.
CREATE TABLE click_journal (
    id             TEXT NOT NULL,
    workspace_id   TEXT NOT NULL,
    link_id        TEXT NOT NULL,
    slug           TEXT NOT NULL,
    domain         TEXT NOT NULL,
    ts             INTEGER NOT NULL,
    device         TEXT NOT NULL,
    browser        TEXT NOT NULL,
    os             TEXT NOT NULL,
    country        TEXT,
    referrer       TEXT,
    referrer_host  TEXT,
    language       TEXT,
    is_bot         BOOLEAN NOT NULL,
    visitor        TEXT,
    destination    TEXT,
    rule_index     INTEGER,
    variant        INTEGER,
    source         TEXT
);

-- What a crash may still need: clicks not yet rolled up stay in the journal; those not yet folded leave clicks, which
-- the fold fills again as it folds them.
INSERT INTO click_journal (rowid, id, workspace_id, link_id, slug, domain, ts, device, browser, os, country, referrer, referrer_host,
                           language, is_bot, visitor, destination, rule_index, variant, source)
SELECT rowid, id, workspace_id, link_id, slug, domain, ts, device, browser, os, country, referrer, referrer_host,
       language, is_bot, visitor, destination, rule_index, variant, source
FROM clicks WHERE rowid > (SELECT rolled_up_through FROM click_rollup_state) ORDER BY rowid;

DELETE FROM clicks WHERE rowid > (SELECT folded_through FROM click_rollup_state);
