"""Texts for users: catalog lookups by language and key; values filled in are Telegram HTML."""
