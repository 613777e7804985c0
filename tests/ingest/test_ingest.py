"""Ingest end to end: feeds served on 127.0.0.1 → fetch → parse → normalize → classify → SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ingest.fetch import Fetcher
from bot.ingest.poller import DEACTIVATE_AFTER_ERRORS, Ingestor, backoff_delay
from bot.understand.classify import Classifier
from storage.articles import ArticleRepo
from storage.engines import open_database
from storage.feeds import FeedRepo
from tests.support.feedgen import Item, rss

SEED = Path(__file__).parents[1] / "fixtures" / "seed_khovar.txt"
T0 = datetime(2025, 2, 21, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Env:
    """A real database (each engine) and the real ingest pipeline; `restart()` reopens everything."""

    def __init__(self, path: Path | str, classifier: Classifier, **fetch_kwargs: object) -> None:
        self.path = path
        self.classifier = classifier
        self.clock = Clock(T0)
        self.fetch_kwargs = {"allow_private": True, "timeout": 2.0, **fetch_kwargs}

    async def open(self) -> Env:
        self.db = await open_database(self.path).connect()
        self.feeds = FeedRepo(self.db)
        self.articles = ArticleRepo(self.db)
        self.fetcher = Fetcher(**self.fetch_kwargs)  # type: ignore[arg-type]
        await self.fetcher.__aenter__()
        self.ingestor = Ingestor(
            feeds=self.feeds,
            articles=self.articles,
            fetcher=self.fetcher,
            classifier=self.classifier,
            poll_interval=timedelta(minutes=10),
            clock=self.clock,
        )
        return self

    async def close(self) -> None:
        await self.fetcher.aclose()
        await self.db.close()

    async def restart(self) -> None:
        await self.close()
        await self.open()

    async def poll(self, url: str):
        feed = await self.feeds.get_by_url(url)
        assert feed is not None
        return await self.ingestor.poll_feed(feed)

    def changes(self) -> int:
        """Rows written so far by this connection (SQLite counts them; on PostgreSQL the same
        tests check the row counts instead, so this stays 0 there)."""
        return self.db.conn.total_changes if self.db.dialect == "sqlite" else 0

    async def count(self, sql: str, *params: object) -> int:
        return int(await self.db.fetchval(sql, params))


@pytest.fixture
async def env(db_location, classifier):
    e = await Env(db_location, classifier).open()
    yield e
    await e.close()


def items(n: int, start: int = 0) -> list[Item]:
    return [
        Item(
            title=f"Заголовок новости номер {i}",
            link=f"https://agency.example/news/{i}?utm_source=rss",
            description=f"<p>МИНСК, 20 февраля /БЕЛТА/. Текст новости {i}. Второе предложение.</p>",
            guid=f"id-{i}",
            published=T0 - timedelta(hours=i),
        )
        for i in range(start, start + n)
    ]


async def test_first_poll_stores_backfill_then_repoll_writes_nothing(env, feed_server):
    feed_server.add("/rss", rss(items(5)))
    await env.feeds.add(feed_server.url("/rss"), now=T0)

    first = await env.poll(feed_server.url("/rss"))
    assert (first.status, first.new, first.known) == ("new", 5, 0)
    # A new feed's current items are archived but not "new" for instant delivery.
    assert await env.count("SELECT COUNT(*) FROM articles WHERE backfill = 1") == 5
    row = await env.db.fetchone("SELECT url, lead, source FROM articles WHERE key = 'g:id-1'")
    assert row["url"] == "https://agency.example/news/1"  # utm_* removed
    assert row["lead"].startswith("Текст новости 1.")  # dateline removed
    assert row["source"] == "Test Agency"

    changes_before = env.changes()
    env.clock.now = T0 + timedelta(minutes=10)
    second = await env.poll(feed_server.url("/rss"))
    assert second.status == "unchanged"
    # Identical body: feed row + poll log only, nothing per entry.
    assert env.changes() - changes_before <= 2
    assert await env.count("SELECT COUNT(*) FROM articles") == 5


async def test_new_entries_after_backfill_are_new_and_known_ones_are_not(env, feed_server):
    feed_server.add("/rss", rss(items(3)))
    await env.feeds.add(feed_server.url("/rss"), now=T0)
    await env.poll(feed_server.url("/rss"))
    feed_server.add("/rss", rss(items(2, start=100) + items(3)))
    out = await env.poll(feed_server.url("/rss"))
    assert (out.status, out.new, out.known) == ("new", 2, 3)
    assert await env.count("SELECT COUNT(*) FROM articles WHERE backfill = 0") == 2


async def test_changed_body_with_only_known_entries_writes_no_rows_per_entry(env, feed_server):
    feed_server.add("/rss", rss(items(50)))
    await env.feeds.add(feed_server.url("/rss"), now=T0)
    await env.poll(feed_server.url("/rss"))
    feed_server.add("/rss", rss(items(50), title="Test Agency, new channel title"))
    changes_before = env.changes()
    out = await env.poll(feed_server.url("/rss"))
    assert (out.status, out.new, out.known) == ("known", 0, 50)
    # The feed row and the poll log: nothing per known entry.
    assert env.changes() - changes_before <= 2


async def test_etag_304_is_not_parsed(env, feed_server):
    feed_server.add("/rss", rss(items(2)), etag='"v1"')
    await env.feeds.add(feed_server.url("/rss"), now=T0)
    assert (await env.poll(feed_server.url("/rss"))).new == 2
    out = await env.poll(feed_server.url("/rss"))
    assert out.status == "not_modified"
    assert feed_server.requests[-1].headers.get("If-None-Match") == '"v1"'
    feed = await env.feeds.get_by_url(feed_server.url("/rss"))
    assert feed.etag == '"v1"' and feed.error_count == 0


async def test_restart_and_purge_never_make_old_entries_new(env, feed_server):
    feed_server.add("/rss", rss(items(4)))
    url = feed_server.url("/rss")
    await env.feeds.add(url, now=T0)
    await env.poll(url)
    await env.restart()
    # Purge every stored article while the feed still lists them; change the body so it's parsed.
    assert await env.articles.purge_older_than(T0 + timedelta(days=1)) == 4
    feed_server.add("/rss", rss(items(4), title="Test Agency (renamed)"))
    out = await env.poll(url)
    assert (out.new, out.known) == (0, 4)
    assert await env.count("SELECT COUNT(*) FROM articles") == 0


async def test_duplicate_guids_inside_one_feed_are_kept_apart(env, feed_server):
    dup = [Item(f"Новость {i}", f"https://a.example/{i}", "текст", guid="0") for i in range(3)]
    feed_server.add("/rss", rss(dup))
    await env.feeds.add(feed_server.url("/rss"), now=T0)
    out = await env.poll(feed_server.url("/rss"))
    assert out.new == 3


async def test_same_url_in_two_feeds_is_stored_once(env, feed_server):
    feed_server.add("/a", rss(items(2), title="Agency A"))
    feed_server.add("/b", rss(items(2), title="Agency A: politics"))
    for p in ("/a", "/b"):
        await env.feeds.add(feed_server.url(p), now=T0)
        await env.poll(feed_server.url(p))
    assert await env.count("SELECT COUNT(*) FROM articles") == 2
    assert await env.count("SELECT COUNT(*) FROM feed_entries") == 4


@pytest.mark.parametrize(
    ("setup", "kind", "fragment"),
    [
        (
            lambda s: s.add("/f", b"nope", status=404, content_type="text/plain"),
            "http_status",
            "404",
        ),
        (
            lambda s: s.add(
                "/f",
                b"<html><head><title>Home</title></head><body>Hi</body></html>",
                content_type="text/html; charset=utf-8",
            ),
            "not_a_feed",
            "HTML",
        ),
        (
            lambda s: s.add(
                "/f", b"<rss><channel><item><title>x</tit", content_type="application/rss+xml"
            ),
            "malformed",
            "",
        ),
        (lambda s: s.add("/f", b"", content_type="application/rss+xml"), "empty", ""),
        (lambda s: s.slow("/f", rss(items(1)), delay=5), "timeout", "timed out"),
    ],
    ids=["404", "html", "malformed", "empty", "timeout"],
)
async def test_errors_are_recorded_distinctly_with_backoff(env, feed_server, setup, kind, fragment):
    env.fetcher._timeout = 0.5  # a short total timeout keeps the test fast
    setup(feed_server)
    url = feed_server.url("/f")
    await env.feeds.add(url, now=T0)
    out = await env.poll(url)
    assert out.status == "error"
    assert fragment in out.error
    feed = await env.feeds.get_by_url(url)
    assert feed.last_error_kind == kind
    assert feed.error_count == 1
    assert feed.next_poll_at == T0 + backoff_delay(timedelta(minutes=10), 1)


def test_backoff_grows_and_is_capped_at_a_day():
    interval = timedelta(minutes=10)
    delays = [backoff_delay(interval, n) for n in range(1, 12)]
    assert delays[0] == interval and delays[1] == 2 * interval
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(days=1)


async def test_long_error_streak_deactivates_and_one_success_resets(env, feed_server):
    feed_server.add("/f", b"gone", status=500, content_type="text/plain")
    url = feed_server.url("/f")
    await env.feeds.add(url, now=T0)
    for _ in range(DEACTIVATE_AFTER_ERRORS - 1):
        await env.poll(url)
    feed = await env.feeds.get_by_url(url)
    assert feed.active and feed.error_count == DEACTIVATE_AFTER_ERRORS - 1
    feed_server.add("/f", rss(items(1)))
    await env.poll(url)
    feed = await env.feeds.get_by_url(url)
    assert feed.error_count == 0 and feed.last_error is None
    feed_server.add("/f", b"gone", status=500, content_type="text/plain")
    for _ in range(DEACTIVATE_AFTER_ERRORS):
        out = await env.poll(url)
    assert out.deactivated
    assert not (await env.feeds.get_by_url(url)).active
    assert all(f.url != url for f in await env.feeds.list_active())


async def test_one_bad_feed_does_not_hold_back_the_others(env, feed_server):
    env.fetcher._timeout = 1.0
    feed_server.slow("/slow", rss(items(1)), delay=5)
    feed_server.add("/good", rss(items(2)))
    for p in ("/slow", "/good"):
        await env.feeds.add(feed_server.url(p), now=T0)
    outcomes = await env.ingestor.poll_all()
    by_url = {o.feed.url: o for o in outcomes}
    assert by_url[feed_server.url("/good")].new == 2
    assert by_url[feed_server.url("/slow")].status == "error"


async def test_permanent_redirect_updates_the_stored_url(env, feed_server):
    feed_server.add("/new", rss(items(1)))
    feed_server.redirect("/old", "/new", status=301)
    await env.feeds.add(feed_server.url("/old"), now=T0)
    out = await env.poll(feed_server.url("/old"))
    assert out.new == 1
    assert await env.feeds.get_by_url(feed_server.url("/new")) is not None
    assert await env.feeds.get_by_url(feed_server.url("/old")) is None


async def test_private_addresses_are_refused_unless_allowed(tmp_path, classifier, feed_server):
    e = await Env(tmp_path / "ssrf.sqlite3", classifier, allow_private=False).open()
    try:
        feed_server.add("/rss", rss(items(1)))
        await e.feeds.add(feed_server.url("/rss"), now=T0)
        out = await e.poll(feed_server.url("/rss"))
        assert out.status == "error"
        assert (await e.feeds.get_by_url(feed_server.url("/rss"))).last_error_kind == "not_allowed"
        assert feed_server.hits["/rss"] == 0
    finally:
        await e.close()


def seed_item() -> Item:
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    title, body = (
        lines[0],
        [line for line in lines[1:] if not line.lstrip().startswith(("<", "!["))],
    )
    photo = '<p><img src="https://khovar.tj/wp-content/uploads/2025/02/cis.jpg"></p>'
    return Item(
        title,
        "https://khovar.tj/rus/2025/02/cis-human-rights/",
        photo + "".join(f"<p>{p}</p>" for p in body),
        guid="khovar-1",
        published=T0,
    )


async def test_seed_article_is_tagged_and_searchable(env, feed_server):
    feed_server.add("/khovar", rss([seed_item()], title="НИАТ «Ховар»"))
    await env.feeds.add(feed_server.url("/khovar"), now=T0)
    assert (await env.poll(feed_server.url("/khovar"))).new == 1
    [article] = await env.articles.latest(1)
    assert {"human_rights", "cis"} <= set(article.topics)
    assert set(article.countries) == {"tj", "az", "by", "kg", "ru", "tm", "uz"}
    assert article.lead.startswith("Межмидовские консультации")
    assert article.image_url == "https://khovar.tj/wp-content/uploads/2025/02/cis.jpg"
    from bot.understand.searchterms import query_words

    for query in ("правозащитная проблематика", "Таджикистан", "права человека"):
        found = await env.articles.search(query_words(env.classifier.morph, query))
        assert [a.id for a in found] == [article.id], query


async def test_same_story_from_two_agencies_shares_a_cluster(env, feed_server):
    a = Item(
        "Лавров провел переговоры с министром иностранных дел Таджикистана Мухриддином",
        "https://a.example/1",
        "Министры обсудили двустороннее сотрудничество и подготовку к саммиту СНГ в Душанбе.",
        published=T0,
    )
    b = Item(
        "Министр иностранных дел Таджикистана Мухриддин провел переговоры с Лавровым",
        "https://b.example/1",
        "Министры обсудили двустороннее сотрудничество и подготовку к саммиту СНГ.",
        published=T0 + timedelta(hours=1),
    )
    c = Item(
        "В Минске открылась выставка сельскохозяйственной техники",
        "https://b.example/2",
        "Выставка продлится три дня.",
        published=T0,
    )
    feed_server.add("/a", rss([a], title="Agency A"))
    feed_server.add("/b", rss([b, c], title="Agency B"))
    for p in ("/a", "/b"):
        await env.feeds.add(feed_server.url(p), now=T0)
        await env.poll(feed_server.url(p))
    rows = {
        r["url"]: r["cluster_id"]
        for r in await env.db.fetchall("SELECT url, cluster_id FROM articles")
    }
    assert rows["https://a.example/1"] == rows["https://b.example/1"]
    assert rows["https://b.example/2"] != rows["https://a.example/1"]


async def test_a_new_entry_on_top_of_a_feed_with_one_shared_guid_is_the_only_new_one(
    env, feed_server
):
    def feed(n: int, start: int) -> bytes:
        return rss(
            [
                Item(f"Новость {i}", f"https://a.example/{i}", "текст", guid="same-guid")
                for i in range(start + n - 1, start - 1, -1)
            ]
        )

    feed_server.add("/rss", feed(3, 0))
    await env.feeds.add(feed_server.url("/rss"), now=T0)
    assert (await env.poll(feed_server.url("/rss"))).new == 3
    feed_server.add("/rss", feed(4, 0))  # entry 3 arrives on top
    out = await env.poll(feed_server.url("/rss"))
    assert (out.new, out.known) == (1, 3)


def test_feeds_polled_together_spread_over_the_interval_and_keep_their_phase():
    from bot.ingest.poller import next_poll_time

    interval = timedelta(minutes=10)
    urls = [f"https://agency{i}.example/rss" for i in range(50)]
    slots = [next_poll_time(u, T0, interval) for u in urls]
    assert all(T0 < s <= T0 + interval for s in slots)
    assert len({s.replace(second=0) for s in slots}) >= 8  # spread over most of the 10 minutes
    # Polled a little late, a feed returns to its own slot: the phase does not drift.
    again = next_poll_time(urls[0], slots[0] + timedelta(seconds=37), interval)
    assert again == slots[0] + interval


FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"


def _expected(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, FIXTURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name",
    sorted(p.stem for p in FIXTURES.glob("*.py")),
)
async def test_every_fixture_feed_through_the_whole_pipeline_over_http(env, feed_server, name):
    """Hostile and odd feeds served on 127.0.0.1: a clear error, or exactly the expected items."""
    expected = _expected(name)
    [body_file] = [p for p in FIXTURES.glob(f"{name}.*") if p.suffix != ".py"]
    content_type = expected.headers.get("Content-Type")
    feed_server.add("/f", body_file.read_bytes(), content_type=content_type)
    url = feed_server.url("/f")
    await env.feeds.add(url, now=T0)
    out = await env.poll(url)
    error = getattr(expected, "error", None)
    if error is not None:
        assert out.status == "error"
        assert (await env.feeds.get_by_url(url)).last_error_kind == error[0]
        assert await env.count("SELECT COUNT(*) FROM articles") == 0
        return
    assert out.status in ("new", "known"), out.error
    entries = [e for e in expected.entries if e is not None]
    stored = await env.db.fetchall("SELECT title, url FROM articles")

    # One stored article per distinct canonical URL (entries repeating a URL are kept once);
    # relative links resolve against this server here, so compare paths, not hosts.
    def path(u: str | None) -> str | None:
        return None if u is None else u.split("/", 3)[-1]

    assert sorted(map(path, (r["url"] for r in stored)), key=str) == sorted(
        [*{path(e["url"]) for e in entries if e["url"]}, *(None for e in entries if not e["url"])],
        key=str,
    )
    titles = {e["title"] for e in entries if "title" in e}
    assert titles <= {r["title"] for r in stored}


RU_STORY = Item(
    title="Лукашенко провел переговоры с Токаевым в Минске",
    link="https://belta.example/ru/1",
    description="<p>Президент Беларуси Александр Лукашенко 21 февраля провел переговоры с"
    " Президентом Казахстана Касым-Жомартом Токаевым. Подписано 12 документов, товарооборот"
    " превысил $1,2 млрд.</p>",
    published=T0 - timedelta(hours=3),
)
EN_STORY = Item(
    title="Lukashenko, Tokayev hold talks in Minsk",
    link="https://belta.example/en/1",
    description="<p>Belarusian President Aleksandr Lukashenko held talks with President of"
    " Kazakhstan Kassym-Jomart Tokayev on 21 February. The sides signed 12 documents; trade"
    " exceeded $1.2 billion.</p>",
    published=T0 - timedelta(hours=1),
)
EN_OTHER = Item(  # the same president, city and day, another guest: another story
    title="Lukashenko meets with Governor of Tula Oblast",
    link="https://belta.example/en/2",
    description="<p>Belarusian President Aleksandr Lukashenko met with Governor of Russia's Tula"
    " Oblast Dmitry Milyaev in Minsk on 21 February. Trade reached $700 million.</p>",
    published=T0 - timedelta(hours=1),
)


async def test_a_russian_and_an_english_telling_join_one_cluster(env, feed_server):
    feed_server.add("/ru", rss([RU_STORY], title="БЕЛТА"))
    feed_server.add("/en", rss([EN_STORY, EN_OTHER], title="BelTA English"))
    for path in ("/ru", "/en"):
        await env.feeds.add(feed_server.url(path), now=T0)
        await env.poll(feed_server.url(path))
    rows = await env.db.fetchall(
        "SELECT url, language, cluster_id, id, evidence FROM articles ORDER BY id"
    )
    by_url = {r[0]: r for r in rows}
    ru, en, other = (by_url[i.link] for i in (RU_STORY, EN_STORY, EN_OTHER))
    assert (ru[1], en[1], other[1]) == ("ru", "en", "en")
    assert en[2] == ru[2] == ru[3]  # the English telling joined the Russian story
    assert other[2] == other[3]  # a story of its own
    assert "d:02-21" in ru[4].split() and "n:1200000000" in en[4].split()
