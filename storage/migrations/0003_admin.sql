-- Admin area: access mode, invites, grants, requests, bans, audit log, alerts,
-- forum thread routes, short-lived admin drafts and broadcasts.
CREATE TABLE access_settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO access_settings (key, value) VALUES ('mode', 'open');

-- Invite links t.me/<bot>?start=<code>: one-time (max_uses 1) or limited-use.
CREATE TABLE invites (
    code        TEXT PRIMARY KEY,
    max_uses    INTEGER NOT NULL DEFAULT 1,
    uses        INTEGER NOT NULL DEFAULT 0,
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Chats let in while the mode is approval or invite (an approved request, an invite, an admin).
CREATE TABLE access_grants (
    chat_id     INTEGER PRIMARY KEY,
    via         TEXT NOT NULL,
    granted_by  INTEGER,
    granted_at  TEXT NOT NULL
);

CREATE TABLE access_requests (
    chat_id       INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    name          TEXT,
    language      TEXT NOT NULL DEFAULT 'ru',
    status        TEXT NOT NULL DEFAULT 'pending',  -- pending | approved | rejected
    requested_at  TEXT NOT NULL,
    decided_by    INTEGER,
    decided_at    TEXT
);
CREATE INDEX access_requests_status ON access_requests(status, requested_at);

-- A banned user or chat (Telegram ids never collide between users and groups/channels).
-- Banning a subscribed chat also pauses it, so no digest or broadcast reaches it.
CREATE TABLE bans (
    subject_id  INTEGER PRIMARY KEY,
    reason      TEXT,
    banned_by   INTEGER NOT NULL,
    banned_at   TEXT NOT NULL,
    prev_status TEXT            -- the chat's status before the ban pause (restored by unban)
);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor_id  INTEGER NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    details   TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);

-- De-duplication of alerts to admins: one row per alert key.
CREATE TABLE alerts (
    key           TEXT PRIMARY KEY,
    last_sent_at  TEXT NOT NULL,
    text          TEXT NOT NULL
) WITHOUT ROWID;

-- Forum groups: digest items of a topic go to a thread ('*' = every other topic).
CREATE TABLE chat_routes (
    chat_id     INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    topic       TEXT NOT NULL,
    thread_id   INTEGER NOT NULL,
    set_by      INTEGER,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (chat_id, topic)
) WITHOUT ROWID;

-- What a button has to remember but cannot carry in 64 bytes (a broadcast text, a feed URL).
CREATE TABLE admin_drafts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE broadcasts (
    id          INTEGER PRIMARY KEY,
    text        TEXT NOT NULL,
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    recipients  INTEGER NOT NULL DEFAULT 0
);
-- A broadcast is one `digests` row (kind 'broadcast') and one outbox row per recipient chat.
CREATE TABLE broadcast_digests (
    broadcast_id  INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    digest_id     INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    PRIMARY KEY (broadcast_id, digest_id)
) WITHOUT ROWID;
