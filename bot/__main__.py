"""Command line: `python -m bot run | worker | poll | feeds … | articles | classify | retag | digest |
preview | migrate | copy-db --to URL | backup PATH`; `--help` describes each."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot.app import core as app
from bot.settings import Settings, StartupError
from storage.db import UnusableDatabaseError
from storage.instance import AlreadyRunningError
from storage.migrations import NewerDatabaseError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="diplodigest", description="Diplomatic news digests for Telegram"
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="the bot: long polling, scheduler, feed polling and digests")
    sub.add_parser(
        "worker",
        help="feed polling, digests and delivery without receiving updates"
        " (extra processes on a shared PostgreSQL database)",
    )
    sub.add_parser("poll", help="one polling pass over all active feeds")
    feeds = sub.add_parser("feeds", help="manage sources without Telegram")
    fsub = feeds.add_subparsers(dest="feeds_command", required=True)
    add = fsub.add_parser("add", help="check a feed URL (fetch and parse) and add it")
    add.add_argument("url")
    add.add_argument("--title", help="display name (defaults to the feed's own title)")
    add.add_argument(
        "--no-check",
        action="store_true",
        help="store it without fetching it first (the address policy still applies)",
    )
    fsub.add_parser("list", help="list feeds with their health")
    rm = fsub.add_parser("remove", help="remove a feed (its stored articles stay)")
    rm.add_argument("url")
    arts = sub.add_parser("articles", help="stored articles, newest first")
    arts.add_argument("--limit", type=int, default=20)
    arts.add_argument("--json", action="store_true", help="one JSON object per line")
    sub.add_parser(
        "classify", help="JSON lines {title, text} on stdin → topics, countries, matches"
    )
    sub.add_parser("retag", help="re-tag every stored article with the current topic catalog")
    dig = sub.add_parser("digest", help="the digest a chat would get now")
    dig.add_argument("--chat", type=int, required=True)
    dig.add_argument("--dry-run", action="store_true", help="print it without sending (required)")
    sub.add_parser("preview", help="offline preview of a digest from the bundled sample feeds")
    sub.add_parser("migrate", help="bring the database schema up to date and exit")
    copy = sub.add_parser(
        "copy-db", help="copy the SQLite database into an empty PostgreSQL one (ids kept)"
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://user:pw@host:port/db"
    )
    bak = sub.add_parser(
        "backup",
        help="a consistent copy of the database, safe while the bot runs (never overwrites)",
    )
    bak.add_argument("path", help="the new file to write; it must not exist yet")
    return p


def _setting_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting: its variable name and what is wrong (never its value: it may
    be the token)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"]).upper() or "settings"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(message if message.startswith(name) else f"{name}: {message}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for line in _setting_errors(exc):
            print(f"configuration error: {line}", file=sys.stderr)
        return 2
    app.configure_logging(settings)
    from bot.app import cli as cli_commands

    handler = getattr(cli_commands, f"cmd_{args.command.replace('-', '_')}")
    try:
        return asyncio.run(handler(settings, args))
    except KeyboardInterrupt:
        return 130
    except (NewerDatabaseError, UnusableDatabaseError) as exc:
        print(f"database error: {exc}", file=sys.stderr)
        return 1
    except (AlreadyRunningError, StartupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
