"""Running `python -m bot …` as an operator would: a child process with its own environment.

Every child gets a sources file listing only 127.0.0.1 feeds, FEEDS_ALLOW_PRIVATE=1 and a
database in tmp_path, and runs in tmp_path (so no stray `.env` is read): no test reaches the
internet. asyncio subprocesses keep the in-test servers (FeedServer, FakeBotAPI) serving.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Variables the Settings read: a developer's shell must not leak them into a test child.
_SETTINGS_VARS = (
    "BOT_TOKEN", "ADMIN_IDS", "ADMIN_CHAT_ID", "DATABASE_PATH", "TELEGRAM_API_URL",
    "FEEDS_ALLOW_PRIVATE", "POLL_INTERVAL_MINUTES", "DEFAULT_TIMEZONE", "DELIVERY_RATE",
    "TOPICS_CATALOG_PATH", "SOURCES_PATH", "RETENTION_DAYS", "SCHEDULER_TICK_SECONDS",
    "LOG_LEVEL", "TELEGRAM_MODE", "WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_LISTEN",
    "DATABASE_URL", "METRICS_LISTEN",
)  # fmt: skip


def write_sources(path: Path, feeds: Iterable[tuple[str, str]]) -> Path:
    """A sources TOML ([[source]] title/url/language) listing (title, url) pairs."""
    blocks = [
        f'[[source]]\ntitle = "{title}"\nurl = "{url}"\nlanguage = "ru"\n' for title, url in feeds
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


@dataclass
class CliEnv:
    """Where a test's children run and what environment they get."""

    home: Path
    vars: dict[str, str]

    @property
    def db_path(self) -> Path:
        return Path(self.vars["DATABASE_PATH"])

    def with_vars(self, **extra: str) -> CliEnv:
        return CliEnv(self.home, self.vars | extra)


def make_env(tmp_path: Path, feeds: Iterable[tuple[str, str]] = (), **extra: str) -> CliEnv:
    env = {k: v for k, v in os.environ.items() if k.upper() not in _SETTINGS_VARS}
    env |= {
        "SOURCES_PATH": str(write_sources(tmp_path / "sources.toml", feeds)),
        "FEEDS_ALLOW_PRIVATE": "1",
        "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
        "BOT_TOKEN": "",
        "TELEGRAM_API_URL": "http://127.0.0.1:9",  # nothing listens there: never the real API
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    return CliEnv(tmp_path, env | extra)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.strip()]

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


async def start(
    env: CliEnv, *args: str, stdin: bool = False, log: Path | None = None
) -> asyncio.subprocess.Process:
    """The child; its output goes to pipes, or to the file `log` (a long-running child)."""
    if log is None:
        return await _spawn(env, args, stdin, asyncio.subprocess.PIPE, asyncio.subprocess.PIPE)
    with log.open("ab") as file:  # the child keeps its own descriptor
        return await _spawn(env, args, stdin, file, asyncio.subprocess.STDOUT)


async def _spawn(
    env: CliEnv, args: tuple[str, ...], stdin: bool, stdout: Any, stderr: Any
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=env.home,
        env=env.vars,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
    )  # fmt: skip


async def cli(env: CliEnv, *args: str, stdin: str | None = None, timeout: float = 120) -> Result:  # noqa: ASYNC109
    """Run one command to completion; kills it (and fails) if it outlives `timeout` — generous:
    a hang fails, a slow start on a busy machine does not (speed belongs in benchmarks/)."""
    proc = await start(env, *args, stdin=stdin is not None)
    data = stdin.encode() if stdin is not None else None
    try:
        out, err = await asyncio.wait_for(proc.communicate(data), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"`bot {' '.join(args)}` still running after {timeout} s") from None
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


SAMPLES = Path(__file__).resolve().parents[2] / "bot" / "data" / "samples"


def with_new_item(feed: bytes, title: str, slug: str, published: str) -> bytes:
    """`feed` (an RSS 2.0 body) with one more item on top; `published` is an RFC 822 date."""
    item = (
        f"<item><title>{title}</title>"
        f"<link>https://news.example.org/{slug}</link>"
        f'<guid isPermaLink="false">https://news.example.org/?p={slug}</guid>'
        f"<pubDate>{published}</pubDate>"
        f"<description>{title}. Подробности сообщает пресс-служба.</description></item>"
    )
    head, sep, tail = feed.partition(b"<item>")
    assert sep, "not an RSS feed with items"
    return head + item.encode() + sep + tail
