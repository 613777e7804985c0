-- Stories across languages (bot.crosslang): each article's language ("ru", "en", or the feed's
-- declared language) and its language-independent evidence (countries, topics, numbers, dates
-- and transliterated names as space-separated `kind:value` items), so that a Russian and an
-- English telling of one story can join one cluster. Rows stored before stay NULL: they keep
-- their clusters and join no other language.
ALTER TABLE articles ADD COLUMN language TEXT;
ALTER TABLE articles ADD COLUMN evidence TEXT;
