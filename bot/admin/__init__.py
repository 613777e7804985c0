"""Admin use cases without Telegram: alerts, feed health and the stats chart (shared by handlers and the CLI)."""
