"""Digests: due chats and stored articles in → selected, grouped, rendered digest parts queued in the outbox."""
