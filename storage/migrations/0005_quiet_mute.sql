-- Quiet hours for instant delivery, and sources a chat muted.
ALTER TABLE chats ADD COLUMN quiet_from TEXT;  -- local "HH:MM"; NULL: no quiet hours
ALTER TABLE chats ADD COLUMN quiet_to TEXT;    -- local "HH:MM" (may be earlier: across midnight)

CREATE TABLE chat_muted_feeds (
    chat_id  INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    feed_id  INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    PRIMARY KEY (chat_id, feed_id)
) WITHOUT ROWID;
