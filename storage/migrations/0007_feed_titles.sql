-- Feed titles are capped at 200 characters when stored (storage.models.cap_title); rows stored
-- before the cap get the same cut, so a feed that once sent a 5,000-character <title> no
-- longer makes /sources, /feeds or /stats too long for a Telegram message. Articles carry the
-- feed's name as `source`; theirs are cut the same way.
UPDATE feeds SET title = rtrim(substr(title, 1, 199)) || '…' WHERE length(title) > 200;
UPDATE feeds SET custom_title = rtrim(substr(custom_title, 1, 199)) || '…'
    WHERE length(custom_title) > 200;
UPDATE articles SET source = rtrim(substr(source, 1, 199)) || '…' WHERE length(source) > 200;
