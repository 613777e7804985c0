"""The admin area: access, sources, chats, OPML, stats, broadcasts, rules and forum routes, behind the admin gate."""
