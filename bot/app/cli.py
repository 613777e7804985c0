"""What each CLI command does; every command opens the core, works, prints, and closes."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from bot.admin.feeds import OPERATOR, AlreadyThere, Refused
from bot.app.core import Core, build_add_feed, build_digest_service, open_core, utc_now
from bot.domain import Article, Feed
from bot.ingest.fetch import FetchError, FetchErrorKind, check_feed_url
from bot.settings import Settings


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def cmd_poll(settings: Settings, args: argparse.Namespace) -> int:
    async with open_core(settings) as core:
        outcomes = await core.ingestor.poll_all()
        for outcome in outcomes:
            print(outcome.line())
        if not outcomes:
            print("no active feeds; add one with: python -m bot feeds add URL")
        failed = sum(1 for o in outcomes if o.status == "error")
        print(
            f"{len(outcomes)} feeds polled, {sum(o.new for o in outcomes)} new articles, {failed} errors"
        )
    return 0


async def cmd_feeds(settings: Settings, args: argparse.Namespace) -> int:
    async with open_core(settings, seed_sources=False) as core:
        if args.feeds_command == "list":
            feeds = await core.feeds.list()
            if not feeds:
                print("no feeds yet: `poll` or `run` loads the default sources; or `feeds add URL`")
            for feed in feeds:
                print(_feed_line(feed))
            return 0
        if args.feeds_command == "add":
            return await _add_feed(core, args)
        try:
            url = check_feed_url(args.url)
        except FetchError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        feed = await core.feeds.get_by_url(url)
        if feed is None or not await core.feeds.remove(feed.id):
            print(f"no such feed: {url}", file=sys.stderr)
            return 1
        # as /feeds → remove does: /audit shows who removed a source (the operator: actor 0)
        await core.stores.audit.record(OPERATOR, "feed.remove", now=utc_now(), target=feed.url)
        print(f"removed {url}; its stored articles stay")
        return 0


async def _add_feed(core: Core, args: argparse.Namespace) -> int:
    # The operator is the actor: a feed that appears in /feeds has its line in /audit too.
    result = await build_add_feed(core)(
        args.url, title=args.title, actor=OPERATOR, check=not args.no_check
    )
    if isinstance(result, AlreadyThere):
        print(f"already there: #{result.feed.id} {result.feed.url}", file=sys.stderr)
        return 1
    if isinstance(result, Refused):
        print(f"error: {result.reason}{_what_to_check(result)}", file=sys.stderr)
        return 2
    url = result.feed.url
    if result.check is None:
        print(f"added #{result.feed.id} {url} without checking it; the first poll fetches it")
    else:
        print(f"added #{result.feed.id} {result.title} <{url}>: {result.entries} entries;"
              " its current items are stored without being sent as new")  # fmt: skip
    return 0


def _what_to_check(refused: Refused) -> str:
    """The operator's next step after the reason, which is worded for every medium alike."""
    if refused.kind == "html":
        if not refused.offers:
            return "; the page links to no feed"
        return f"; add one the page links to: {' '.join(o.url for o in refused.offers)}"
    if refused.kind == FetchErrorKind.NOT_ALLOWED:
        return " (feeds on private networks need FEEDS_ALLOW_PRIVATE=1)"
    if refused.bad_input:
        return ""
    return " (check the URL; --no-check stores it without fetching)"


def _feed_line(feed: Feed) -> str:
    if feed.paused:
        state = "paused"
    elif not feed.active:
        state = "deactivated"
    elif feed.error_count:
        state = f"{feed.error_count} errors"
    else:
        state = "ok"
    last = _iso(feed.last_success_at) or "never"
    err = f" — last error: {feed.last_error}" if feed.last_error else ""
    return f"#{feed.id} [{state}] {feed.display_name} <{feed.url}> last success {last}{err}"


def article_json(a: Article) -> dict:
    return {
        "id": a.id,
        "title": a.title,
        "url": a.url,
        "source": a.source,
        "published_at": _iso(a.published_at),
        "fetched_at": _iso(a.fetched_at),
        "lead": a.lead,
        "image_url": a.image_url,
        "topics": list(a.topics),
        "countries": list(a.countries),
        "matches": {k: list(v) for k, v in a.matches.items()},
        "cluster_id": a.cluster_id,
    }


async def cmd_articles(settings: Settings, args: argparse.Namespace) -> int:
    async with open_core(settings, seed_sources=False) as core:
        for a in await core.articles.latest(max(1, args.limit)):
            if args.json:
                print(json.dumps(article_json(a), ensure_ascii=False))
            else:
                tags = ", ".join([*a.topics, *a.countries])
                print(f"{_iso(a.published_at)}  {a.source}: {a.title}  [{tags}]\n    {a.url}")
    return 0


async def cmd_classify(settings: Settings, args: argparse.Namespace) -> int:
    from bot.understand.classify import Classifier

    classifier = Classifier.load(settings.topics_catalog_path)
    status = 0
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("expected a JSON object")
            title, text = str(item.get("title") or ""), str(item.get("text") or "")
        except ValueError as exc:
            print(json.dumps({"error": f"line {number}: {exc}"}), flush=True)
            status = 1
            continue
        c = classifier.classify(title, text)
        out = {
            "topics": list(c.topics),
            "countries": list(c.countries),
            "matches": {k: list(v) for k, v in c.matches.items()},
        }
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return status


async def cmd_retag(settings: Settings, args: argparse.Namespace) -> int:
    async with open_core(settings, seed_sources=False) as core:
        changed = total = 0
        async for batch in core.articles.iter_all():
            rows = []
            for a in batch:
                c = core.classifier.classify(a.title, a.summary)
                total += 1
                if (c.topics, c.countries) != (a.topics, a.countries) or c.matches != a.matches:
                    rows.append((a.id, c.topics, c.countries, c.matches))
            await core.articles.update_tags(rows)
            changed += len(rows)
        print(f"re-tagged {total} articles, {changed} changed")
    return 0


async def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app.runner import run_bot

    return await run_bot(settings)


async def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app.runner import run_bot

    return await run_bot(settings, receive_updates=False)


async def cmd_preview(settings: Settings, args: argparse.Namespace) -> int:
    from bot.digests.preview import print_offline_preview

    print_offline_preview(now=utc_now())
    return 0


async def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    if not args.dry_run:
        print("only --dry-run is supported here; the running bot sends digests", file=sys.stderr)
        return 2
    return await _dry_run_digest(settings, args.chat)


async def _dry_run_digest(settings: Settings, chat_id: int) -> int:
    async with open_core(settings, seed_sources=False) as core:
        try:
            parts = await build_digest_service(core).preview(chat_id)
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if not parts:
            print(f"nothing new for chat {chat_id}: no digest would be sent")
        for number, part in enumerate(parts, 1):
            print(f"--- message {number}/{len(parts)} ({len(part)} characters, Telegram HTML)")
            print(part)
    return 0


async def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Bring the schema up to date (the same step `run` takes on start) and exit."""
    from storage import engines

    target = engines.parse(settings.database)
    async with engines.open_database(target) as db:
        version = await db.schema_version()
    print(f"schema of {target.describe()} is up to date: version {version}")
    return 0


async def cmd_copy_db(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the SQLite database (DATABASE_PATH, or a sqlite:/// DATABASE_URL) to PostgreSQL."""
    from storage import engines
    from storage.copydb import CopyError, copy_sqlite_to_postgres

    source, target = engines.parse(settings.database), engines.parse(args.to)
    if source.path is None:
        print("copy-db error: the database to copy must be SQLite; set DATABASE_PATH (or a"
              " sqlite:/// DATABASE_URL) to its file", file=sys.stderr)  # fmt: skip
        return 2
    if target.url is None:
        print("copy-db error: --to must be a postgresql://user:password@host:port/dbname URL",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        report = await copy_sqlite_to_postgres(source.path, target.url)
    except CopyError as exc:
        print(f"copy-db error: {exc}", file=sys.stderr)
        return 1
    print(report.line())
    print(f"next: stop the bot, set DATABASE_URL={report.target} (with its password), start it")
    return 0


async def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from storage.backup import BackupError, backup_database

    try:
        report = await asyncio.to_thread(backup_database, settings.database_path, Path(args.path))
    except BackupError as exc:
        print(f"backup error: {exc}", file=sys.stderr)
        return 1
    print(report.line())
    return 0
