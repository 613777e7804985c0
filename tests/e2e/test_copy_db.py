"""`python -m bot copy-db --to postgresql://…`: a SQLite deployment moves to PostgreSQL whole.

The archive comes from real polls of the bundled sample feeds served on 127.0.0.1, plus queued
digests; after the copy every table holds the same rows (ids kept), /search finds the same
articles for the same queries on both engines, and new rows get fresh ids. A target that
already holds data is refused in one line and left as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.understand.morph import Morph
from bot.understand.searchterms import query_words
from storage.articles import ArticleRepo
from storage.copydb import _tables
from storage.engines import open_database
from storage.feeds import FeedRepo
from tests.support.cli_env import SAMPLES, cli, make_env
from tests.support.outage import fan_out

pytestmark = pytest.mark.timeout(240)

QUERIES = (
    "права человека", "Таджикистан", "министр иностранных дел", "СНГ", "Беларусь",
    "human rights", "United Nations", "Kazakhstan", "сотрудничество", "визит президента",
)  # fmt: skip


@pytest.fixture
async def deployment(tmp_path, feed_server):
    """A SQLite deployment after polling four agencies' feeds, with digests in its outbox."""
    names = [p.stem for p in sorted(SAMPLES.glob("*.xml"))]
    for name in names:
        feed_server.add(f"/{name}.xml", (SAMPLES / f"{name}.xml").read_bytes())
    env = make_env(tmp_path, [(n, feed_server.url(f"/{n}.xml")) for n in names])
    polled = await cli(env, "poll")
    assert polled.code == 0, polled.err
    async with open_database(env.db_path) as db:
        await fan_out(db, 5, ("a", "b"))
        assert await ArticleRepo(db).count() > 20
    return env


async def rows(db, table: str, columns: list[str]) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in columns)
    return sorted(
        (tuple(r) for r in await db.fetchall(f"SELECT {cols} FROM {table}")),
        key=lambda r: tuple((v is None, str(v)) for v in r),
    )


async def test_copy_db_moves_every_row_and_search_answers_the_same(deployment, pg_template):
    url = await pg_template.fresh_database()
    result = await cli(deployment, "copy-db", "--to", url)
    assert result.code == 0, result.err
    assert result.out.startswith("copied ") and "articles" in result.out
    tables = _tables(deployment.db_path)
    assert {"feeds", "articles", "feed_entries", "chats", "digests", "outbox"} <= {
        t for t, _ in tables
    }
    morph = Morph()
    async with open_database(deployment.db_path) as lite, open_database(url) as pg:
        for table, columns in [*tables, ("article_search", ["rowid", "terms"])]:
            assert await rows(pg, table, columns) == await rows(lite, table, columns), table
        found_any = 0
        for query in QUERIES:
            words = query_words(morph, query)
            on_lite = [a.id for a in await ArticleRepo(lite).search(words, 50)]
            on_pg = [a.id for a in await ArticleRepo(pg).search(words, 50)]
            assert sorted(on_pg) == sorted(on_lite), query
            found_any += bool(on_lite)
        assert found_any >= 5  # the queries do find articles: the comparison means something
        # the sequences moved past the copied ids
        before = max(r[0] for r in await pg.fetchall("SELECT id FROM feeds"))
        added = await FeedRepo(pg).add("https://new.example/rss", now=datetime.now(UTC))
        assert added.id > before


async def test_copy_db_refuses_a_target_that_holds_data(deployment, pg_template):
    url = await pg_template.fresh_database()
    assert (await cli(deployment, "copy-db", "--to", url)).code == 0
    async with open_database(url) as pg:
        before = await pg.fetchval("SELECT COUNT(*) FROM articles")
    again = await cli(deployment, "copy-db", "--to", url)
    assert again.code == 1
    [line] = again.err.strip().splitlines()
    assert line.startswith("copy-db error: ") and "already holds data" in line
    async with open_database(url) as pg:
        assert await pg.fetchval("SELECT COUNT(*) FROM articles") == before


async def test_copy_db_needs_a_postgresql_target(tmp_path):
    env = make_env(tmp_path)
    result = await cli(env, "copy-db", "--to", f"sqlite:///{tmp_path / 'other.sqlite3'}")
    assert result.code == 2
    assert result.err.strip() == (
        "copy-db error: --to must be a postgresql://user:password@host:port/dbname URL"
    )


async def test_copy_db_names_an_unreachable_server(tmp_path, deployment):
    result = await cli(deployment, "copy-db", "--to", "postgresql://nobody@127.0.0.1:9/none")
    assert result.code == 1
    [line] = result.err.strip().splitlines()
    assert "cannot reach PostgreSQL at postgresql://nobody@127.0.0.1:9/none" in line


async def test_migrate_on_postgresql_reports_the_version_without_the_password(
    tmp_path, pg_template
):
    url = pg_template.create_database("migrate_cli")
    with_password = url.replace("diplodigest@", "diplodigest:s3cret@", 1)  # trust auth ignores it
    result = await cli(make_env(tmp_path, DATABASE_URL=with_password), "migrate")
    assert result.code == 0, result.err
    from storage.migrations import latest_version

    assert result.out.strip() == (f"schema of {url} is up to date: version {latest_version()}")
    assert "s3cret" not in result.out + result.err
