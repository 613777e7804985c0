"""bot.ingest.parse: fixture feeds with expected results, encodings, unsafe and non-feed bodies."""

from __future__ import annotations

import io
import runpy
from pathlib import Path

import feedparser
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from bot.ingest.parse import ParseError, ParseErrorKind, parse_feed

FEEDS = Path(__file__).parents[1] / "fixtures" / "feeds"
FIXTURES = sorted(p for p in FEEDS.iterdir() if p.suffix in (".xml", ".html"))


def load(path: Path) -> tuple[bytes, dict]:
    return path.read_bytes(), runpy.run_path(str(path.with_suffix(".py")))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_feed(path: Path) -> None:
    body, expected = load(path)
    if "error" in expected:
        kind, message = expected["error"]
        with pytest.raises(ParseError) as info:
            parse_feed(body, url=expected["url"], headers=expected["headers"])
        assert info.value.kind == ParseErrorKind(kind)
        assert message in info.value.message
        return
    parsed = parse_feed(body, url=expected["url"], headers=expected["headers"])
    want = expected["feed"]
    assert parsed.title == want["title"]
    assert parsed.link == want["link"]
    assert parsed.language == want["language"]
    assert parsed.version == want["version"]
    if "warnings" in want:
        assert parsed.warnings == want["warnings"]
    else:
        assert any(want["warnings_contain"] in w for w in parsed.warnings), parsed.warnings
    assert len(parsed.entries) == len(expected["entries"])


def test_every_fixture_has_expectations() -> None:
    assert len(FIXTURES) >= 15
    for path in FIXTURES:
        assert path.with_suffix(".py").exists(), path.name


RU_TITLE = "Министр иностранных дел Таджикистана встретился с послом"


def rss(declared: str | None) -> str:
    decl = f' encoding="{declared}"' if declared else ""
    return (
        f'<?xml version="1.0"{decl}?>\n<rss version="2.0"><channel><title>Ховар</title>'
        f"<item><title>{RU_TITLE}</title><description>Ёлки. Второе предложение.</description>"
        "</item></channel></rss>"
    )


@pytest.mark.parametrize(
    ("codec", "prolog", "content_type", "warned"),
    [
        ("utf-8", "utf-8", "application/rss+xml", False),
        ("utf-8", None, "application/rss+xml", False),
        ("cp1251", "windows-1251", "application/rss+xml", False),
        ("cp1251", "windows-1251", "text/xml", False),  # RFC 3023 text/xml default ignored
        ("cp1251", None, "application/rss+xml; charset=windows-1251", False),
        ("koi8-r", "koi8-r", "application/xml", False),
        ("koi8-r", None, "text/xml; charset=KOI8-R", False),
        # mislabelled or undeclared: feedparser alone gives "Ìèíèñòð èíîñòðàííûõ" here
        ("cp1251", None, "application/rss+xml; charset=utf-8", True),
        ("cp1251", "utf-8", "application/rss+xml", True),
        ("cp1251", None, "application/rss+xml", True),
        ("cp1251", None, "", True),
        ("cp1251", "iso-8859-1", "text/xml", True),
        ("koi8-r", None, "application/xml", True),
        ("koi8-r", "windows-1251", "application/xml", True),  # swapped: letter case decides
        # utf-8 body labelled windows-1251: feedparser alone gives "РњРёРЅРёСЃС‚СЂ"
        ("utf-8", None, "text/xml; charset=windows-1251", True),
        ("utf-8", "windows-1251", "application/xml", True),
    ],
)
def test_cyrillic_comes_out_readable(
    codec: str, prolog: str | None, content_type: str, warned: bool
) -> None:
    body = rss(prolog).encode(codec)
    headers = {"Content-Type": content_type} if content_type else {}
    parsed = parse_feed(body, url="https://khovar.tj/rss", headers=headers)
    assert parsed.title == "Ховар"
    assert parsed.entries[0].title == RU_TITLE
    assert parsed.entries[0].summary.startswith("Ёлки.")
    assert any(w.startswith("encoding:") for w in parsed.warnings) is warned


@pytest.mark.parametrize("bom_codec", ["utf-8-sig", "utf-16"])
def test_bom_wins_over_a_wrong_header(bom_codec: str) -> None:
    body = rss("utf-8").encode(bom_codec)
    parsed = parse_feed(
        body, url="https://x.org/", headers={"Content-Type": "text/xml; charset=cp1251"}
    )
    assert parsed.entries[0].title == RU_TITLE


def test_feed_served_as_text_html_is_kept_with_a_warning() -> None:
    body = rss("utf-8").encode()
    parsed = parse_feed(
        body, url="https://x.org/", headers={"Content-Type": "text/html; charset=utf-8"}
    )
    assert parsed.entries[0].title == RU_TITLE
    assert parsed.warnings == (
        "NonXMLContentType: text/html; charset=utf-8 is not an XML media type",
    )


def test_relative_links_resolve_against_the_feed_url() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><link>/ru/</link>'
        b"<item><title>a</title><link>news/1.html</link></item></channel></rss>"
    )
    parsed = parse_feed(body, url="https://mfa.tj/ru/rss/feed.xml", headers={})
    assert parsed.link == "https://mfa.tj/ru/"
    assert parsed.entries[0].link == "https://mfa.tj/ru/rss/news/1.html"


def test_headers_may_be_a_case_insensitive_multidict() -> None:
    headers = CIMultiDictProxy(CIMultiDict({"CONTENT-TYPE": "text/xml; charset=koi8-r"}))
    parsed = parse_feed(rss(None).encode("koi8-r"), url="https://x.org/", headers=headers)
    assert parsed.entries[0].title == RU_TITLE


def test_content_language_header_is_the_fallback_language() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'
    )
    parsed = parse_feed(body, url="https://x.org/", headers={"Content-Language": "ru-RU"})
    assert parsed.language == "ru-ru"


def test_valid_feed_without_entries_is_not_an_error() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    parsed = parse_feed(body, url="https://x.org/", headers={})
    assert (parsed.entries, parsed.version, parsed.title) == ([], "rss20", "Quiet")


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b"", "application/rss+xml", ParseErrorKind.EMPTY),
        (b"\xef\xbb\xbf \r\n", "application/rss+xml", ParseErrorKind.EMPTY),
        (b"<html><body>Hi</body></html>", "application/rss+xml", ParseErrorKind.NOT_A_FEED),
        (b"<!doctype html><title>x</title><p>x", "text/plain", ParseErrorKind.NOT_A_FEED),
        (b"<div>No feed here</div>", "text/html", ParseErrorKind.NOT_A_FEED),
        (
            b'<?xml version="1.0"?><config><a>1</a></config>',
            "application/xml",
            ParseErrorKind.NOT_A_FEED,
        ),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>a</',
            "text/xml",
            ParseErrorKind.MALFORMED,
        ),
        (b"\x00\x01garbage<<<", "application/xml", ParseErrorKind.MALFORMED),
        (b'<!DOCTYPE r [<!entity x "y">]><rss/>', "text/xml", ParseErrorKind.UNSAFE),
    ],
)
def test_unusable_bodies(body: bytes, content_type: str, kind: ParseErrorKind) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body, url="https://x.org/feed", headers={"Content-Type": content_type})
    assert info.value.kind is kind
    assert str(info.value).startswith(f"{kind}: ")


def test_a_body_that_looks_like_a_path_is_not_opened(tmp_path: Path) -> None:
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss("utf-8").encode())
    with pytest.raises(ParseError):
        parse_feed(str(feed_file).encode(), url="https://x.org/feed", headers={})


def test_xxe_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY x SYSTEM "{secret.as_uri()}">\n]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>a &x;</title>'
        "<description>&x;</description></item></channel></rss>"
    ).encode()
    with pytest.raises(ParseError) as info:
        parse_feed(body, url="https://x.org/feed", headers={})
    assert info.value.kind is ParseErrorKind.UNSAFE
    # feedparser alone does not read it either (entity stripped, external entities off) …
    bare = feedparser.parse(io.BytesIO(body))
    assert "TOP-SECRET" not in repr(bare.entries)


def test_feedparser_alone_expands_plain_text_entities() -> None:
    """Why UNSAFE exists: feedparser keeps "safe" entities, expat expands them below its
    amplification limit — a 10 KB body gives a 7.5 million character title."""
    body = (FEEDS / "quadratic_blowup.xml").read_bytes()
    bare = feedparser.parse(io.BytesIO(body))
    assert len(bare.entries[0].title) == 7_500_000


def test_entities_behind_a_long_prolog_are_still_refused() -> None:
    body = (FEEDS / "quadratic_blowup.xml").read_bytes()
    body = body.replace(b"<!DOCTYPE", b"<!--" + b" padding" * 2000 + b"-->\n<!DOCTYPE", 1)
    with pytest.raises(ParseError) as info:
        parse_feed(body, url="https://x.org/feed", headers={})
    assert info.value.kind is ParseErrorKind.UNSAFE


def test_a_doctype_without_entities_is_fine() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'
    assert parse_feed(body, url="https://x.org/feed", headers={}).entries[0].title == "a"
