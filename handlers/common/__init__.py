"""Conversation plumbing shared by every area: callback data, keyboards, menus, middlewares, replies, errors, fallbacks."""
