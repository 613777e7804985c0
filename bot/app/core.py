"""The composition root: settings → database → stores (one `Storage`) → services → bot → scheduler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.admin.feeds import AddFeed
from bot.digests.planner import DigestService
from bot.digests.render import CountryNames, Labels
from bot.ingest.fetch import Fetcher
from bot.ingest.poller import Ingestor
from bot.ingest.probe import FeedChecker
from bot.ingest.sources import seed_default_sources
from bot.observe import NO_EVENTS, PipelineEvents
from bot.settings import Settings
from bot.understand.classify import Classifier
from storage.engines import AnyDatabase, open_database
from storage.port import ArticleStore, FeedStore, Storage
from storage.stores import stores_over

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("pymorphy3").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # INFO: 2 lines per job per tick
    # INFO: two lines per revision (a new database: ~20 before anything else); the schema step
    # says itself in one line (storage.migrations.upgrade)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@dataclass(slots=True)
class Core:
    """Everything but Telegram: what the CLI commands and the bot share."""

    settings: Settings
    db: AnyDatabase  # the engine (its dialect decides whether sends are claimed); closed on exit
    stores: Storage  # every store on `db`, each typed by its Protocol (storage/port.py)
    classifier: Classifier
    fetcher: Fetcher
    ingestor: Ingestor
    events: PipelineEvents = NO_EVENTS  # bot.app.metrics.Metrics when monitored

    @property
    def feeds(self) -> FeedStore:
        return self.stores.feeds

    @property
    def articles(self) -> ArticleStore:
        return self.stores.articles


@asynccontextmanager
async def open_core(
    settings: Settings, *, seed_sources: bool = True, monitored: bool = False
) -> AsyncIterator[Core]:
    """`monitored` (run, worker): count the pipeline's events for METRICS_LISTEN, if it is set;
    serve them with bot.app.metrics.serve_metrics."""
    events = pipeline_events(settings) if monitored else NO_EVENTS
    db = await open_database(settings.database).connect()
    try:
        stores = stores_over(db)
        feeds, articles = stores.feeds, stores.articles
        interval = timedelta(minutes=settings.poll_interval_minutes)
        if seed_sources:
            await seed_default_sources(
                feeds, now=utc_now(), interval=interval, path=settings.sources_path
            )
        classifier = Classifier.load(settings.topics_catalog_path)
        async with Fetcher(allow_private=settings.feeds_allow_private) as fetcher:
            ingestor = Ingestor(
                feeds=feeds,
                articles=articles,
                fetcher=fetcher,
                classifier=classifier,
                poll_interval=interval,
                clock=utc_now,
                events=events,
            )
            yield Core(settings, db, stores, classifier, fetcher, ingestor, events)
    finally:
        await db.close()


def pipeline_events(settings: Settings) -> PipelineEvents:
    if settings.metrics_listen is None:
        return NO_EVENTS
    from bot.app.metrics import Metrics  # prometheus_client only where metrics are served

    return Metrics(clock=utc_now)


def labels_factory(core: Core) -> Callable[[str], Labels]:
    """Display names per language for rendering digests (topic names from the catalog)."""
    cache: dict[str, Labels] = {}

    def labels_for(lang: str) -> Labels:
        if lang not in cache:
            names = {
                t.slug: (t.name_ru if lang == "ru" else t.name_en) for t in core.classifier.topics
            }
            cache[lang] = Labels(lang, names, CountryNames(core.classifier.country_name, lang))
        return cache[lang]

    return labels_for


def build_digest_service(
    core: Core, *, on_enqueued: Callable[[], None] | None = None
) -> DigestService:
    return DigestService(
        core.stores,
        labels_for=labels_factory(core),
        topic_order=[t.slug for t in core.classifier.topics],
        clock=utc_now,
        on_enqueued=on_enqueued,
        events=core.events,
    )


def build_add_feed(core: Core) -> AddFeed:
    """The one way feeds are added (/addfeed, OPML import, `feeds add`): the core's fetcher, so
    its address policy (FEEDS_ALLOW_PRIVATE) is the poller's."""
    return AddFeed(core.feeds, FeedChecker(core.fetcher), core.stores.audit, clock=utc_now)
