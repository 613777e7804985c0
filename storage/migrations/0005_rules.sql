-- Personal keyword rules (/rule): each adds its matches to the chat's digests in a section of
-- its own. `spec` is the parsed rule (lemma sequences, exclusions, countries) as JSON, so
-- planning never re-runs the morphology; `text` is its canonical form.
CREATE TABLE chat_rules (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    text        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    created_by  INTEGER,
    created_at  TEXT NOT NULL,
    UNIQUE (chat_id, text)
);
CREATE INDEX chat_rules_chat ON chat_rules(chat_id, id);

-- A rule shown with Save / Cancel buttons: the button carries only this row's id (a restart
-- strands nobody; rows older than a day are dropped when new ones are written).
CREATE TABLE rule_drafts (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    text        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    created_by  INTEGER,
    created_at  TEXT NOT NULL
);
