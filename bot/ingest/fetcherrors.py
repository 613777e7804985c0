"""Fetch failures: distinct kinds, a one-line English message, transient vs permanent for back-off."""

from __future__ import annotations

import http
import os
from enum import StrEnum

import aiohttp
from yarl import URL


class FetchErrorKind(StrEnum):
    INVALID_URL = "invalid_url"
    NOT_ALLOWED = "not_allowed"  # resolves to a private/loopback/... address
    DNS = "dns"
    CONNECT = "connect"  # refused, reset, closed by the server
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    HTTP_STATUS = "http_status"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    TLS = "tls"
    BAD_RESPONSE = "bad_response"  # malformed HTTP, truncated body, undecodable content-encoding

    @property
    def transient(self) -> bool:
        """Worth retrying soon without anyone changing anything (HTTP statuses: see FetchError)."""
        return self in _TRANSIENT_KINDS


_TRANSIENT_KINDS = frozenset(
    {
        FetchErrorKind.DNS,
        FetchErrorKind.CONNECT,
        FetchErrorKind.TIMEOUT,
        FetchErrorKind.BAD_RESPONSE,
        FetchErrorKind.HTTP_STATUS,  # refined per status by FetchError.transient
    }
)
# 408 Request Timeout, 425 Too Early, 429 Too Many Requests and all 5xx pass by themselves;
# other 4xx (404, 410, 401, 403, ...) need someone to fix the URL or the server.
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


class FetchError(Exception):
    """`kind` for decisions, `message` for people ("HTTP 404 Not Found"), `status` for HTTP_STATUS."""

    def __init__(self, kind: FetchErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status

    @property
    def transient(self) -> bool:
        if self.kind is FetchErrorKind.HTTP_STATUS:
            return self.status is not None and (
                self.status >= 500 or self.status in _TRANSIENT_STATUSES
            )
        return self.kind.transient

    def __repr__(self) -> str:
        return f"FetchError({self.kind.value!r}, {self.message!r}, status={self.status!r})"


def format_size(n: int) -> str:
    """10485760 -> "10 MiB"; sizes that are not whole KiB/MiB stay in bytes."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def too_large(max_bytes: int) -> FetchError:
    return FetchError(FetchErrorKind.TOO_LARGE, f"body larger than {format_size(max_bytes)}")


def status_line(status: int, reason: str | None) -> str:
    """ "HTTP 404 Not Found"; the standard phrase when the server sent none."""
    if not reason:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"HTTP {status} {reason}".rstrip()


def _os_reason(exc: OSError) -> str:
    """ "Connection refused" rather than asyncio's "Connect call failed ('1.2.3.4', 80)"."""
    if exc.errno:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or type(exc).__name__


def _where(url: URL) -> str:
    return f"{url.raw_host}:{url.port}" if url.port is not None else str(url.raw_host)


def error_from_exception(exc: aiohttp.ClientError, url: URL) -> FetchError:
    """Map an aiohttp client exception (raised while fetching `url`) to a FetchError."""
    # Order matters: the TLS and DNS errors are subclasses of ClientConnectorError.
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError(FetchErrorKind.DNS, f"cannot resolve {url.raw_host}")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return FetchError(
            FetchErrorKind.TLS,
            f"TLS certificate of {_where(url)} not valid: {exc.certificate_error}",
        )
    if isinstance(exc, aiohttp.ClientSSLError):
        return FetchError(FetchErrorKind.TLS, f"TLS error with {_where(url)}: {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return FetchError(
            FetchErrorKind.CONNECT, f"cannot connect to {_where(url)}: {_os_reason(exc.os_error)}"
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return FetchError(FetchErrorKind.CONNECT, f"{_where(url)} closed the connection")
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError(FetchErrorKind.INVALID_URL, f"invalid URL: {exc}")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return FetchError(FetchErrorKind.BAD_RESPONSE, f"bad response from {_where(url)}: {exc}")
    if isinstance(exc, aiohttp.ClientOSError):
        return FetchError(
            FetchErrorKind.CONNECT, f"connection to {_where(url)} failed: {_os_reason(exc)}"
        )
    return FetchError(FetchErrorKind.CONNECT, f"request to {_where(url)} failed: {exc}")
