"""Delivery: outbox rows in → messages accepted by Telegram, under rate limits, retries and the outage breaker."""
