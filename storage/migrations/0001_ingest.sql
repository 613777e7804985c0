-- Feeds, the article archive and the per-feed ledger of entries already seen.
CREATE TABLE feeds (
    id               INTEGER PRIMARY KEY,
    url              TEXT NOT NULL UNIQUE,
    title            TEXT,
    custom_title     TEXT,
    site_url         TEXT,
    language         TEXT,
    etag             TEXT,
    last_modified    TEXT,
    body_hash        TEXT,
    active           INTEGER NOT NULL DEFAULT 1,
    paused           INTEGER NOT NULL DEFAULT 0,
    error_count      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    last_error_kind  TEXT,
    last_error_at    TEXT,
    last_success_at  TEXT,
    last_polled_at   TEXT,
    next_poll_at     TEXT,
    initial_done     INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
    key           TEXT NOT NULL,
    url           TEXT,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    lead          TEXT NOT NULL DEFAULT '',
    image_url     TEXT,
    source        TEXT NOT NULL,
    published_at  TEXT NOT NULL,
    fetched_at    TEXT NOT NULL,
    backfill      INTEGER NOT NULL DEFAULT 0,
    topics        TEXT NOT NULL DEFAULT '[]',
    countries     TEXT NOT NULL DEFAULT '[]',
    matches       TEXT NOT NULL DEFAULT '{}',
    cluster_id    INTEGER,
    signature     BLOB
);
CREATE UNIQUE INDEX articles_url ON articles(url) WHERE url IS NOT NULL;
CREATE INDEX articles_published ON articles(published_at);
CREATE INDEX articles_fetched ON articles(fetched_at);
CREATE INDEX articles_cluster ON articles(cluster_id);
CREATE INDEX articles_feed ON articles(feed_id, published_at);

-- One row per (feed, entry key) ever seen: survives purging of old articles, so an entry the
-- feed still lists is never "new" again.
CREATE TABLE feed_entries (
    feed_id        INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    article_id     INTEGER REFERENCES articles(id) ON DELETE SET NULL,
    first_seen_at  TEXT NOT NULL,
    PRIMARY KEY (feed_id, key)
) WITHOUT ROWID;

-- Each poll's outcome, for health reports (articles/day, silence detection, error history).
CREATE TABLE poll_log (
    id          INTEGER PRIMARY KEY,
    feed_id     INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    polled_at   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    new_count   INTEGER NOT NULL DEFAULT 0,
    known_count INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);
CREATE INDEX poll_log_feed ON poll_log(feed_id, polled_at);
