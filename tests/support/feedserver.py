"""A real HTTP server on 127.0.0.1 (random port) serving fixture feeds to tests.

Routes are registered per path: plain bodies with validators (honours If-None-Match /
If-Modified-Since with 304), redirects, slow, gzip, chunked-streamed and dropped responses.
`hits[path]` counts requests, `requests` keeps their headers, `max_in_flight` the peak concurrency.
"""

from __future__ import annotations

import asyncio
import gzip
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiohttp import web
from multidict import CIMultiDictProxy

FIXTURE_FEEDS = Path(__file__).parents[1] / "fixtures" / "feeds"
RSS = "application/rss+xml; charset=utf-8"
_TYPES = {
    ".rss": RSS,
    ".xml": "application/xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


@dataclass(slots=True)
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str | None = RSS
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    chunk_size: int | None = None  # stream with chunked transfer encoding, no Content-Length
    drop: bool = False  # close the connection (after sending `body`, if any, as a truncated reply)


@dataclass(frozen=True, slots=True)
class SeenRequest:
    method: str
    path: str
    headers: CIMultiDictProxy[str]


class FeedServer:
    """`await server.start()` / `await server.close()`; the `feed_server` fixture does both."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[SeenRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes = b"",
        *,
        content_type: str | None = RSS,
        headers: dict[str, str] | None = None,
        status: int = 200,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float = 0.0,
        chunk_size: int | None = None,
    ) -> Route:
        route = Route(
            body=body,
            status=status,
            content_type=content_type,
            headers=dict(headers or {}),
            etag=etag,
            last_modified=last_modified,
            delay=delay,
            chunk_size=chunk_size,
        )
        self.routes[path] = route
        return route

    def add_fixture(self, path: str, name: str, **kwargs: object) -> Route:
        """Serve tests/fixtures/feeds/<name>; the content type follows the file suffix."""
        file = FIXTURE_FEEDS / name
        kwargs.setdefault("content_type", _TYPES.get(file.suffix, RSS))
        return self.add(path, file.read_bytes(), **kwargs)  # type: ignore[arg-type]

    def redirect(self, path: str, to: str, status: int = 301) -> Route:
        """Redirect `path` to `to` (a path on this server or an absolute URL)."""
        return self.add(path, content_type=None, status=status, headers={"Location": to})

    def slow(self, path: str, body: bytes, delay: float, **kwargs: object) -> Route:
        return self.add(path, body, delay=delay, **kwargs)  # type: ignore[arg-type]

    def gzip(self, path: str, raw: bytes, **kwargs: object) -> Route:
        """Serve gzip(raw) with Content-Encoding: gzip (a bomb, if raw is big and dull)."""
        route = self.add(path, gzip.compress(raw, compresslevel=9), **kwargs)  # type: ignore[arg-type]
        route.headers["Content-Encoding"] = "gzip"
        return route

    def stream(
        self, path: str, body: bytes, chunk_size: int = 64 * 1024, **kwargs: object
    ) -> Route:
        """Serve `body` chunked, without Content-Length."""
        return self.add(path, body, chunk_size=chunk_size, **kwargs)  # type: ignore[arg-type]

    def drop(self, path: str, partial: bytes = b"") -> Route:
        """Close the connection: before any reply, or after headers promising more than `partial`."""
        route = self.add(path, partial)
        route.drop = True
        return route

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.requests.append(SeenRequest(request.method, path, request.headers))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            route = self.routes.get(request.path_qs) or self.routes.get(path)
            if route is None:
                return web.Response(status=404, text="no such fixture route")
            if route.delay:
                await asyncio.sleep(route.delay)
            return await self._respond(request, route)
        finally:
            self.in_flight -= 1

    async def _respond(self, request: web.Request, route: Route) -> web.StreamResponse:
        headers = dict(route.headers)
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.status == 200 and _not_modified(request, route):
            headers.pop("Content-Type", None)
            headers.pop("Content-Encoding", None)
            return web.Response(status=304, headers=headers)
        if route.drop:
            return await _drop(request, route.body, headers)
        if route.chunk_size is None:
            return web.Response(status=route.status, body=route.body, headers=headers)
        resp = web.StreamResponse(status=route.status, headers=headers)
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for start in range(0, len(route.body), route.chunk_size):
            await resp.write(route.body[start : start + route.chunk_size])
        await resp.write_eof()
        return resp


def _not_modified(request: web.Request, route: Route) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:  # RFC 9110 13.1.2: If-None-Match wins over If-Modified-Since
        if route.etag is None:
            return False
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or route.etag.removeprefix("W/") in tags
    ims = request.headers.get("If-Modified-Since")
    if ims is None or route.last_modified is None:
        return False
    try:
        return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False


async def _drop(
    request: web.Request, partial: bytes, headers: dict[str, str]
) -> web.StreamResponse:
    transport = request.transport
    assert transport is not None
    if partial:
        resp = web.StreamResponse(headers=headers)
        resp.content_length = len(partial) + 1000
        await resp.prepare(request)
        await resp.write(partial)
    transport.close()  # flushes what was written, then closes: the client sees a short reply
    return web.Response()  # never sent: the connection is gone
