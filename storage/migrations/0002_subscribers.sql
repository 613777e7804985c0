-- Subscribers (people, groups, channels), their filters and schedules, digest slots and the outbox.
CREATE TABLE chats (
    id                 INTEGER PRIMARY KEY,           -- Telegram chat id
    type               TEXT NOT NULL,                 -- private | group | supergroup | channel
    title              TEXT,
    username           TEXT,
    language           TEXT NOT NULL DEFAULT 'ru',    -- ru | en
    timezone           TEXT NOT NULL,                 -- IANA zone or fixed offset 'UTC+05:00'
    status             TEXT NOT NULL DEFAULT 'active',-- active | paused | blocked
    mode               TEXT NOT NULL DEFAULT 'daily', -- instant | daily | times | weekly
    times              TEXT NOT NULL DEFAULT '["09:00"]', -- JSON list of "HH:MM" local times
    weekday            INTEGER,                       -- 0=Monday, for weekly
    topics             TEXT NOT NULL DEFAULT '[]',    -- JSON list of topic slugs
    countries          TEXT NOT NULL DEFAULT '[]',    -- JSON list of iso2; empty = any
    cursor_article_id  INTEGER NOT NULL DEFAULT 0,    -- articles with id > cursor are new for this chat
    last_slot_at       TEXT,                          -- UTC start of the last digest slot handled
    next_slot_at       TEXT,                          -- UTC of the next slot (cache; NULL = recompute)
    onboarded          INTEGER NOT NULL DEFAULT 0,
    added_by           INTEGER,                       -- user id that subscribed a group/channel
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX chats_status ON chats(status, mode);
CREATE INDEX chats_due ON chats(status, next_slot_at);

-- One row per digest slot handled for a chat: the record that a slot was sent (or empty).
CREATE TABLE digests (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    slot_at      TEXT NOT NULL,             -- UTC time of the scheduled slot (or of the request)
    kind         TEXT NOT NULL,             -- scheduled | instant | manual | broadcast
    article_count INTEGER NOT NULL DEFAULT 0,
    outcome      TEXT NOT NULL DEFAULT 'queued', -- queued | empty | skipped (catch-up older than 24 h)
    created_at   TEXT NOT NULL,
    UNIQUE (chat_id, kind, slot_at)
);

-- Persistent outbox: every message to send; delivery marks rows sent with their message_id.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    digest_id       INTEGER REFERENCES digests(id) ON DELETE CASCADE,
    part            INTEGER NOT NULL DEFAULT 0,
    thread_id       INTEGER,
    text            TEXT NOT NULL,
    preview_url     TEXT,                   -- link preview for the top story; NULL = previews off
    status          TEXT NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      TEXT NOT NULL,          -- UTC; back-off and retry_after push this forward
    message_id      INTEGER,
    error           TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    UNIQUE (digest_id, part)
);
CREATE INDEX outbox_pending ON outbox(status, not_before);
CREATE INDEX outbox_chat ON outbox(chat_id, status);

-- Full-text search over stored articles (normalized text: lemmas/stems filled by the app).
CREATE VIRTUAL TABLE article_search USING fts5(terms, tokenize='unicode61 remove_diacritics 2');  -- rowid = articles.id
