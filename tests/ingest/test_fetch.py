"""The feed fetcher against a real HTTP server on 127.0.0.1, and its SSRF guard."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.ingest.fetch import DEFAULT_USER_AGENT, Fetcher, FetchError, FetchErrorKind, check_feed_url
from bot.ingest.netguard import AddressPolicy, classify_address
from tests.support.feedserver import FeedServer

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
LOOPBACK_ONLY = AddressPolicy(extra_allowed=frozenset({ipaddress.ip_network("127.0.0.1/32")}))
MiB = 1024 * 1024


class HostsResolver(AbstractResolver):
    """A hosts file for tests: names map to fixed addresses, anything else does not resolve."""

    def __init__(self, hosts: dict[str, list[str]]) -> None:
        self._hosts = hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self._hosts:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=ip,
                port=port,
                family=socket.AF_INET6 if ":" in ip else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for ip in self._hosts[host]
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(allow_private=True, timeout=1.0) as f:
        yield f


async def expect_error(fetcher: Fetcher, url: str, kind: FetchErrorKind, **kw: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(url, **kw)
    assert info.value.kind is kind, info.value
    return info.value


# --- conditional GET -------------------------------------------------------------------------


async def test_etag_then_not_modified(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add("/feed", RSS, etag='"v1"')
    first = await fetcher.fetch(feed_server.url("/feed"))
    assert (first.status, first.body, first.etag, first.not_modified) == (200, RSS, '"v1"', False)
    assert first.headers["content-type"].startswith("application/rss+xml")

    second = await fetcher.fetch(feed_server.url("/feed"), etag=first.etag)
    assert (second.status, second.body, second.not_modified) == (304, b"", True)
    assert second.etag == '"v1"'
    assert feed_server.requests[-1].headers["If-None-Match"] == '"v1"'


async def test_last_modified(feed_server: FeedServer, fetcher: Fetcher) -> None:
    stamp = "Wed, 21 Oct 2026 07:28:00 GMT"
    feed_server.add("/feed", RSS, last_modified=stamp)
    first = await fetcher.fetch(feed_server.url("/feed"))
    assert first.last_modified == stamp and first.etag is None

    again = await fetcher.fetch(feed_server.url("/feed"), last_modified=stamp)
    assert again.not_modified and again.body == b"" and again.last_modified == stamp
    older = await fetcher.fetch(
        feed_server.url("/feed"), last_modified="Tue, 20 Oct 2026 07:28:00 GMT"
    )
    assert older.status == 200 and older.body == RSS


async def test_not_modified_without_validators_keeps_the_sent_ones(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.add("/bare", status=304, content_type=None)
    result = await fetcher.fetch(feed_server.url("/bare"), etag='"e"', last_modified="x")
    assert result.not_modified and (result.etag, result.last_modified) == ('"e"', "x")


async def test_request_headers_name_the_bot(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add("/feed", RSS)
    await fetcher.fetch(feed_server.url("/feed"))
    headers = feed_server.requests[-1].headers
    assert headers["User-Agent"] == DEFAULT_USER_AGENT
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert "application/rss+xml" in headers["Accept"]
    assert "If-None-Match" not in headers


# --- limits ------------------------------------------------------------------------------------


async def test_timeout(feed_server: FeedServer) -> None:
    feed_server.slow("/slow", RSS, delay=2.0)
    async with Fetcher(allow_private=True, timeout=0.2) as f:
        started = asyncio.get_running_loop().time()
        err = await expect_error(f, feed_server.url("/slow"), FetchErrorKind.TIMEOUT)
        assert asyncio.get_running_loop().time() - started < 1.0
    assert err.message == "timed out after 0.2 s" and err.transient


async def test_body_cap_by_content_length(feed_server: FeedServer) -> None:
    feed_server.add("/big", b"x" * 2000)
    async with Fetcher(allow_private=True, max_bytes=1000) as f:
        err = await expect_error(f, feed_server.url("/big"), FetchErrorKind.TOO_LARGE)
    assert err.message == "body larger than 1000 bytes" and not err.transient


async def test_body_cap_while_streaming(feed_server: FeedServer) -> None:
    feed_server.stream("/exact", b"a" * MiB)
    feed_server.stream("/over", b"a" * (2 * MiB))
    async with Fetcher(allow_private=True, max_bytes=MiB) as f:
        assert len((await f.fetch(feed_server.url("/exact"))).body) == MiB
        err = await expect_error(f, feed_server.url("/over"), FetchErrorKind.TOO_LARGE)
    assert err.message == "body larger than 1 MiB"
    assert "Content-Length" not in feed_server.requests[-1].headers


async def test_gzip_is_decoded(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.gzip("/feed.gz", RSS * 50)
    assert (await fetcher.fetch(feed_server.url("/feed.gz"))).body == RSS * 50


async def test_gzip_bomb_stopped_without_inflating_it(feed_server: FeedServer) -> None:
    route = feed_server.gzip("/bomb", bytes(64 * MiB))
    assert len(route.body) < 100 * 1024  # a few dozen KB on the wire
    async with Fetcher(allow_private=True, max_bytes=MiB) as f:
        tracemalloc.start()
        try:
            err = await expect_error(f, feed_server.url("/bomb"), FetchErrorKind.TOO_LARGE)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert err.message == "body larger than 1 MiB"
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB while refusing a 64 MiB bomb"


@pytest.mark.parametrize(
    ("status", "message", "transient"),
    [
        (404, "HTTP 404 Not Found", False),
        (410, "HTTP 410 Gone", False),
        (403, "HTTP 403 Forbidden", False),
        (429, "HTTP 429 Too Many Requests", True),
        (500, "HTTP 500 Internal Server Error", True),
        (503, "HTTP 503 Service Unavailable", True),
    ],
)
async def test_http_status_errors(
    feed_server: FeedServer, fetcher: Fetcher, status: int, message: str, transient: bool
) -> None:
    feed_server.add("/x", b"nope", status=status, content_type="text/plain")
    err = await expect_error(fetcher, feed_server.url("/x"), FetchErrorKind.HTTP_STATUS)
    assert (err.status, err.message, err.transient) == (status, message, transient)


# --- redirects ---------------------------------------------------------------------------------


async def test_permanent_redirect_chain_reports_the_new_url(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.redirect("/old", "/older", status=301)
    feed_server.redirect("/older", feed_server.url("/feed"), status=308)
    feed_server.add("/feed", RSS)
    result = await fetcher.fetch(feed_server.url("/old"))
    assert result.body == RSS
    assert result.url == result.permanent_url == feed_server.url("/feed")


async def test_temporary_hop_means_no_permanent_url(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.redirect("/old", "/tmp", status=301)
    feed_server.redirect("/tmp", "/feed", status=302)
    feed_server.add("/feed", RSS)
    result = await fetcher.fetch(feed_server.url("/old"))
    assert result.url == feed_server.url("/feed") and result.permanent_url is None


async def test_no_redirect_no_permanent_url(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add("/feed", RSS)
    result = await fetcher.fetch(feed_server.url("/feed"))
    assert result.url == feed_server.url("/feed") and result.permanent_url is None


async def test_redirect_loop(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.redirect("/a", "/b")
    feed_server.redirect("/b", "/a")
    err = await expect_error(fetcher, feed_server.url("/a"), FetchErrorKind.TOO_MANY_REDIRECTS)
    assert err.message == f"redirect loop at {feed_server.url('/a')}"


async def test_too_many_redirects(feed_server: FeedServer, fetcher: Fetcher) -> None:
    for i in range(7):
        feed_server.redirect(f"/r{i}", f"/r{i + 1}", status=302)
    feed_server.add("/r7", RSS)
    err = await expect_error(fetcher, feed_server.url("/r0"), FetchErrorKind.TOO_MANY_REDIRECTS)
    assert err.message == "more than 5 redirects"
    assert feed_server.hits["/r6"] == 0


async def test_redirect_to_another_scheme_refused(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.redirect("/x", "file:///etc/passwd")
    err = await expect_error(fetcher, feed_server.url("/x"), FetchErrorKind.INVALID_URL)
    assert "file:///etc/passwd" in err.message


# --- SSRF --------------------------------------------------------------------------------------


async def test_loopback_literal_refused_by_default(feed_server: FeedServer) -> None:
    feed_server.add("/feed", RSS)
    async with Fetcher(timeout=1.0) as f:
        err = await expect_error(f, feed_server.url("/feed"), FetchErrorKind.NOT_ALLOWED)
        err6 = await expect_error(f, "http://[::ffff:127.0.0.1]/", FetchErrorKind.NOT_ALLOWED)
    assert err.message == "refused: 127.0.0.1 is a loopback address"
    assert err6.message == "refused: ::ffff:7f00:1 is a loopback address"  # yarl compresses it
    assert feed_server.hits["/feed"] == 0


async def test_localhost_refused_by_default(feed_server: FeedServer) -> None:
    feed_server.add("/feed", RSS)
    async with Fetcher(timeout=1.0) as f:
        err = await expect_error(
            f, f"http://localhost:{feed_server.port}/feed", FetchErrorKind.NOT_ALLOWED
        )
    assert err.message.startswith("refused: localhost resolves to a loopback address")
    assert feed_server.hits["/feed"] == 0


async def test_legacy_numeric_ipv4_refused() -> None:
    async with Fetcher(timeout=1.0) as f:
        for url in ("http://2130706433/", "http://127.1/"):
            await expect_error(f, url, FetchErrorKind.INVALID_URL)


async def test_redirect_to_private_address_refused(feed_server: FeedServer) -> None:
    inside = await FeedServer(host="127.0.0.2").start()
    try:
        inside.add("/secret", b"metadata")
        feed_server.redirect("/go", inside.url("/secret"), status=302)
        async with Fetcher(policy=LOOPBACK_ONLY, timeout=1.0) as f:
            err = await expect_error(f, feed_server.url("/go"), FetchErrorKind.NOT_ALLOWED)
        assert err.message == "refused: 127.0.0.2 is a loopback address"
        assert feed_server.hits["/go"] == 1 and inside.hits["/secret"] == 0

        both = AddressPolicy(extra_allowed=LOOPBACK_ONLY.extra_allowed | {_net("127.0.0.2/32")})
        async with Fetcher(policy=both, timeout=1.0) as f:  # control: the hop itself works
            assert (await f.fetch(feed_server.url("/go"))).body == b"metadata"
    finally:
        await inside.close()


async def test_resolver_connects_to_the_checked_address(feed_server: FeedServer) -> None:
    feed_server.add("/feed", RSS)
    resolver = HostsResolver({"feeds.example": ["127.0.0.1"]})
    async with Fetcher(policy=LOOPBACK_ONLY, resolver=resolver, timeout=1.0) as f:
        result = await f.fetch(f"http://feeds.example:{feed_server.port}/feed")
    assert result.body == RSS
    assert feed_server.requests[-1].headers["Host"] == f"feeds.example:{feed_server.port}"


async def test_any_private_resolved_address_refuses_the_host(feed_server: FeedServer) -> None:
    feed_server.add("/feed", RSS)
    resolver = HostsResolver({"mixed.example": ["127.0.0.1", "10.0.0.5"]})
    async with Fetcher(policy=LOOPBACK_ONLY, resolver=resolver, timeout=1.0) as f:
        err = await expect_error(
            f, f"http://mixed.example:{feed_server.port}/feed", FetchErrorKind.NOT_ALLOWED
        )
    assert err.message == "refused: mixed.example resolves to a private address 10.0.0.5"
    assert not err.transient and feed_server.hits["/feed"] == 0


async def test_dns_failure() -> None:
    async with Fetcher(resolver=HostsResolver({}), timeout=1.0) as f:
        err = await expect_error(f, "http://nowhere.example/feed", FetchErrorKind.DNS)
    assert err.message == "cannot resolve nowhere.example" and err.transient


# --- connection failures -----------------------------------------------------------------------


async def test_connection_refused(fetcher: Fetcher) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    err = await expect_error(fetcher, f"http://127.0.0.1:{port}/", FetchErrorKind.CONNECT)
    assert err.message == f"cannot connect to 127.0.0.1:{port}: Connection refused"


async def test_dropped_connection(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.drop("/gone")
    feed_server.drop("/short", partial=b"<rss><channel>")
    err = await expect_error(fetcher, feed_server.url("/gone"), FetchErrorKind.CONNECT)
    assert "closed the connection" in err.message
    await expect_error(fetcher, feed_server.url("/short"), FetchErrorKind.BAD_RESPONSE)


async def test_tls_error(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add("/feed", RSS)  # plain HTTP: the TLS handshake cannot succeed
    err = await expect_error(
        fetcher, feed_server.url("/feed").replace("http://", "https://"), FetchErrorKind.TLS
    )
    assert err.message.startswith("TLS error with 127.0.0.1:")


# --- concurrency -------------------------------------------------------------------------------


async def test_per_host_limit(feed_server: FeedServer) -> None:
    feed_server.slow("/slow", RSS, delay=0.1)
    async with Fetcher(allow_private=True, per_host=2, timeout=1.0) as f:
        results = await asyncio.gather(*(f.fetch(feed_server.url("/slow")) for _ in range(6)))
    assert all(r.body == RSS for r in results)
    assert feed_server.max_in_flight == 2


async def test_overall_limit(feed_server: FeedServer) -> None:
    feed_server.slow("/slow", RSS, delay=0.1)
    urls = [feed_server.url("/slow"), f"http://localhost:{feed_server.port}/slow"] * 4
    async with Fetcher(allow_private=True, per_host=2, max_connections=3, timeout=1.0) as f:
        await asyncio.gather(*(f.fetch(u) for u in urls))
    assert feed_server.max_in_flight == 3


async def test_waiting_for_a_slot_does_not_count_against_the_timeout(
    feed_server: FeedServer,
) -> None:
    feed_server.slow("/slow", RSS, delay=0.15)
    async with Fetcher(allow_private=True, per_host=1, timeout=0.5) as f:
        results = await asyncio.gather(*(f.fetch(feed_server.url("/slow")) for _ in range(5)))
    assert len(results) == 5 and feed_server.max_in_flight == 1


# --- pure parts ----------------------------------------------------------------------------------


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),
        ("192.0.2.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2001:4860::8888", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_classify_address(address: str, reason: str | None) -> None:
    assert classify_address(ipaddress.ip_address(address)) == reason


def test_address_policy() -> None:
    ip = ipaddress.ip_address("10.0.0.5")
    assert AddressPolicy().refusal(ip) == "private"
    assert AddressPolicy(allow_private=True).refusal(ip) is None
    assert AddressPolicy(extra_allowed=frozenset({_net("10.0.0.0/8")})).refusal(ip) is None
    assert AddressPolicy(extra_allowed=frozenset({_net("10.0.1.0/24")})).refusal(ip) == "private"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "not a url",
        "file:///etc/passwd",
        "ftp://example.com/feed",
        "javascript:alert(1)",
        "data:text/xml,<rss/>",
        "//example.com/feed",
        "http://",
        "http://example.com:99999/",
        "http://user:pass@example.com/feed",
        "http://example.com/" + "a" * 3000,
    ],
)
def test_check_feed_url_refuses(url: str) -> None:
    with pytest.raises(FetchError) as info:
        check_feed_url(url)
    assert info.value.kind is FetchErrorKind.INVALID_URL and info.value.message


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("http://example.com?q=1", "http://example.com/?q=1"),
        (" https://example.com/rss.xml#top ", "https://example.com/rss.xml"),
        ("http://example.com:80/feed?x=1", "http://example.com/feed?x=1"),
        ("http://example.com:8080/feed", "http://example.com:8080/feed"),
        ("http://пример.рф/rss", "http://xn--e1afmkfd.xn--p1ai/rss"),
        ("http://[2001:db8::1]/feed", "http://[2001:db8::1]/feed"),
    ],
)
def test_check_feed_url_normalizes(url: str, normalized: str) -> None:
    assert check_feed_url(url) == normalized


def test_error_kinds_transient() -> None:
    assert FetchErrorKind.TIMEOUT.transient and FetchErrorKind.CONNECT.transient
    assert not FetchErrorKind.NOT_ALLOWED.transient and not FetchErrorKind.INVALID_URL.transient
    assert not FetchError(FetchErrorKind.HTTP_STATUS, "HTTP 404 Not Found", 404).transient
    assert FetchError(FetchErrorKind.HTTP_STATUS, "HTTP 502 Bad Gateway", 502).transient
