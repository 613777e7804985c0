"""Default sources: a data file of real agency and ministry feeds, loaded into an empty database."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from bot.ingest.poller import spread_offset
from storage.port import FeedStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DefaultSource:
    title: str
    url: str
    language: str
    country: str | None
    enabled: bool


def load_default_sources(path: Path | None = None) -> list[DefaultSource]:
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else resources.files("bot").joinpath("data/sources.toml").read_text(encoding="utf-8")
    )
    data = tomllib.loads(text)
    return [
        DefaultSource(
            title=item["title"],
            url=item["url"],
            language=item.get("language", "ru"),
            country=item.get("country"),
            enabled=item.get("enabled", True),
        )
        for item in data.get("source", [])
    ]


async def seed_default_sources(
    feeds: FeedStore, *, now: datetime, interval: timedelta, path: Path | None = None
) -> int:
    """On first start (no feeds at all) add the enabled defaults, spread over the interval."""
    if await feeds.count() > 0:
        return 0
    added = 0
    for source in load_default_sources(path):
        if not source.enabled:
            continue
        await feeds.add(
            source.url,
            now=now,
            title=source.title,
            first_poll_at=now + spread_offset(source.url, interval),
        )
        added += 1
    log.info("loaded %d default sources", added)
    return added
