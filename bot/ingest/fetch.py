"""Feed fetcher: conditional GET over aiohttp with timeouts, a body cap, manual SSRF-checked
redirects and bounded concurrency (overall and per host). Never parses anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from bot.ingest.fetcherrors import (
    FetchError,
    FetchErrorKind,
    error_from_exception,
    status_line,
    too_large,
)
from bot.ingest.netguard import (
    AddressPolicy,
    AddressRefused,
    GuardedResolver,
    check_address,
    parse_ip,
)

__all__ = [
    "DEFAULT_USER_AGENT",
    "FetchError",
    "FetchErrorKind",
    "FetchResult",
    "Fetcher",
    "check_feed_url",
]

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = (
    "diplodigest/0.1 (+https://github.com/diplodigest/diplodigest; Telegram news digest bot)"
)
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
MAX_URL_LENGTH = 2048
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_CHUNK = 64 * 1024


def check_feed_url(url: str) -> str:
    """Validate a feed URL's shape and return it normalized, or raise FetchError(INVALID_URL).

    Only absolute http(s) URLs with a host; any port. Credentials (user:pass@) are refused: they
    would be stored in the database and shown in logs and admin messages. The fragment is dropped.
    Addresses are not checked here (that needs DNS); the fetcher checks them on every hop.
    """
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise FetchError(FetchErrorKind.INVALID_URL, "empty URL")
    if len(text) > MAX_URL_LENGTH:
        raise FetchError(FetchErrorKind.INVALID_URL, f"URL longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = URL(text)
        scheme, host, _ = parsed.scheme, parsed.raw_host, parsed.port
    except (ValueError, TypeError) as exc:
        raise FetchError(FetchErrorKind.INVALID_URL, f"malformed URL: {exc}") from exc
    if not scheme:
        raise FetchError(FetchErrorKind.INVALID_URL, f"not an absolute http(s) URL: {text!r}")
    if scheme not in ("http", "https"):
        raise FetchError(
            FetchErrorKind.INVALID_URL, f"unsupported scheme {scheme!r} (only http and https)"
        )
    if not host:
        raise FetchError(FetchErrorKind.INVALID_URL, "URL has no host")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise FetchError(
            FetchErrorKind.INVALID_URL, "URL must not contain credentials (user:password@)"
        )
    parsed = parsed.with_fragment(None)
    if parsed.raw_path == "/":  # "http://host" and "http://host/" are one feed: store the latter
        parsed = parsed.with_path("/", keep_query=True)
    return str(parsed)


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # final URL after redirects
    permanent_url: str | None  # the feed moved: every hop was 301/308 and it differs
    not_modified: bool  # 304
    status: int
    body: bytes  # b"" when not_modified
    headers: Mapping[str, str]  # the final response's headers (case-insensitive)
    etag: str | None  # on a 304 without validators: the ones that were sent
    last_modified: str | None


class Fetcher:
    """One aiohttp session; `async with Fetcher() as f: await f.fetch(url)`."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = 20.0,
        max_bytes: int = 10 * 1024 * 1024,
        max_connections: int = 16,
        per_host: int = 2,
        user_agent: str = DEFAULT_USER_AGENT,
        max_redirects: int = 5,
        policy: AddressPolicy | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        """`policy` overrides `allow_private`; `resolver` replaces the system name lookup."""
        self._policy = policy if policy is not None else AddressPolicy(allow_private=allow_private)
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_connections = max_connections
        self._per_host = per_host
        self._user_agent = user_agent
        self._max_redirects = max_redirects
        self._inner_resolver = resolver
        self._slots = asyncio.Semaphore(max_connections)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._session: aiohttp.ClientSession | None = None

    @property
    def policy(self) -> AddressPolicy:
        """The addresses this fetcher connects to (what a URL stored unfetched is held to)."""
        return self._policy

    async def __aenter__(self) -> Fetcher:
        self._ensure_session()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        # Built lazily: aiohttp sessions and resolvers must be created inside the running loop.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self._policy, self._inner_resolver),
                limit=self._max_connections,
                limit_per_host=0,  # the per-host semaphore bounds this, counting redirect hops too
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={
                    "User-Agent": self._user_agent,
                    "Accept": ACCEPT,
                    "Accept-Encoding": "gzip, deflate",
                },
                cookie_jar=aiohttp.DummyCookieJar(),  # no cookies leaking between feeds
                trust_env=False,  # no proxy from the environment: it would bypass the SSRF guard
            )
        return self._session

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        # One semaphore per host name; the number of distinct feed hosts is small and bounded.
        slot = self._host_slots.get(host)
        if slot is None:
            slot = self._host_slots[host] = asyncio.Semaphore(self._per_host)
        return slot

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url` (conditionally); raise FetchError with a distinct kind on any failure.

        The timeout bounds the time spent on the network for all hops together; waiting for a
        free slot (overall or per host) does not count against it.
        """
        requested = check_feed_url(url)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        async with self._slots:
            return await self._follow(requested, headers, etag, last_modified)

    async def _follow(
        self, requested: str, headers: dict[str, str], etag: str | None, last_modified: str | None
    ) -> FetchResult:
        loop = asyncio.get_running_loop()
        current, all_permanent, seen = URL(requested), True, {requested}
        budget = self._timeout
        for _hop in range(self._max_redirects + 1):
            host = current.raw_host or ""
            async with self._host_slot(host):
                started = loop.time()
                try:
                    async with asyncio.timeout(max(budget, 0.0)):
                        outcome = await self._request(current, headers)
                except FetchError:
                    raise
                except TimeoutError as exc:
                    raise FetchError(
                        FetchErrorKind.TIMEOUT, f"timed out after {self._timeout:g} s"
                    ) from exc
                except AddressRefused as exc:
                    raise FetchError(FetchErrorKind.NOT_ALLOWED, str(exc)) from exc
                except aiohttp.ClientError as exc:
                    raise error_from_exception(exc, current) from exc
                budget -= loop.time() - started
            if isinstance(outcome, FetchResult):
                moved = outcome.url != requested and all_permanent
                logger.debug("fetched %s: %s", outcome.url, outcome.status)
                return _finish(outcome, requested if moved else None, etag, last_modified)
            status, location = outcome
            all_permanent = all_permanent and status in _PERMANENT
            try:
                target = check_feed_url(str(current.join(URL(location))))
            except (FetchError, ValueError) as exc:
                raise FetchError(
                    FetchErrorKind.INVALID_URL, f"HTTP {status} redirect to a bad URL: {location!r}"
                ) from exc
            logger.debug("redirect %s %s -> %s", status, current, target)
            if target in seen:
                raise FetchError(FetchErrorKind.TOO_MANY_REDIRECTS, f"redirect loop at {target}")
            seen.add(target)
            current = URL(target)
        raise FetchError(
            FetchErrorKind.TOO_MANY_REDIRECTS, f"more than {self._max_redirects} redirects"
        )

    async def _request(self, url: URL, headers: dict[str, str]) -> FetchResult | tuple[int, str]:
        """One hop: a final FetchResult, or (status, Location) for a redirect to follow."""
        ip = parse_ip(url.raw_host or "")
        if ip is not None:  # aiohttp does not consult the resolver for IP literals
            check_address(self._policy, url.raw_host or "", ip)
        session = self._ensure_session()
        async with session.get(url, headers=headers, allow_redirects=False) as resp:
            status = resp.status
            if status in _REDIRECTS:
                location = resp.headers.get("Location")
                if not location:
                    raise FetchError(
                        FetchErrorKind.HTTP_STATUS,
                        f"HTTP {status} redirect without Location",
                        status,
                    )
                return status, location
            if status == 304:
                body = b""
            elif 200 <= status < 300:
                body = await self._read_body(resp)
            else:
                raise FetchError(
                    FetchErrorKind.HTTP_STATUS, status_line(status, resp.reason), status
                )
            return FetchResult(
                url=str(url),
                permanent_url=None,
                not_modified=status == 304,
                status=status,
                body=body,
                headers=resp.headers,
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
            )

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        # Content-Length is the encoded size: too big there means too big, full stop.
        if resp.content_length is not None and resp.content_length > self._max_bytes:
            raise too_large(self._max_bytes)
        # resp.content yields DECODED bytes and aiohttp inflates in bounded steps under flow
        # control, so counting here stops a gzip bomb after about max_bytes of output.
        body = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            if len(body) + len(chunk) > self._max_bytes:
                raise too_large(self._max_bytes)
            body += chunk
        return bytes(body)


def _finish(
    result: FetchResult, moved_from: str | None, etag: str | None, last_modified: str | None
) -> FetchResult:
    return FetchResult(
        url=result.url,
        permanent_url=result.url if moved_from is not None else None,
        not_modified=result.not_modified,
        status=result.status,
        body=result.body,
        headers=result.headers,
        etag=result.etag or (etag if result.not_modified else None),
        last_modified=result.last_modified or (last_modified if result.not_modified else None),
    )
