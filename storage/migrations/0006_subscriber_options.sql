-- Quiet hours for instant delivery, sources a chat muted, and the digest format.
ALTER TABLE chats ADD COLUMN quiet_from TEXT;  -- local "HH:MM"; NULL: no quiet hours
ALTER TABLE chats ADD COLUMN quiet_to TEXT;    -- local "HH:MM" (may be earlier: across midnight)

CREATE TABLE chat_muted_feeds (
    chat_id  INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    feed_id  INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    PRIMARY KEY (chat_id, feed_id)
) WITHOUT ROWID;

ALTER TABLE chats ADD COLUMN digest_format TEXT NOT NULL DEFAULT 'compact';  -- compact | rich

-- A rich digest is one outbox row (format 'rich') carrying its compact parts as the fallback:
-- if Telegram refuses the rich message, the row becomes 'replaced' and the parts are queued.
ALTER TABLE outbox ADD COLUMN format TEXT NOT NULL DEFAULT 'html';  -- html | rich
ALTER TABLE outbox ADD COLUMN fallback TEXT;  -- JSON list of Telegram HTML parts
