-- A useful first minute: "all topics" means topical articles; "everything from my sources" is
-- its own choice. A chat's first digest covers the last 24 hours (backfill included), so the
-- first digest actually sent is recorded.
ALTER TABLE chats ADD COLUMN all_sources INTEGER NOT NULL DEFAULT 0;  -- 1: untagged articles too
ALTER TABLE chats ADD COLUMN first_digest_at TEXT;  -- UTC; NULL: no digest was ever sent

-- Chats that already received a digest are not new subscribers.
UPDATE chats SET first_digest_at = (
    SELECT MIN(created_at) FROM digests
    WHERE digests.chat_id = chats.id AND digests.outcome = 'queued'
);
