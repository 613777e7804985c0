"""Canonical article URLs: absolute http(s), lower-case scheme and host, no fragment, no tracking."""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit, urlunsplit

# Query parameters that only say where a click came from (ad networks, mail tools, feed readers).
_TRACKING_PREFIXES = ("utm_", "_hs", "pk_", "mtm_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "yclid", "ysclid", "msclkid", "twclid",
        "igshid", "_openstat", "mc_cid", "mc_eid", "_ga", "_gl",
    }
)  # fmt: skip
# "from=rss" / "ref=feed": dropped only with a feed-ish value ("from=main" may select content).
_FEED_MARKER_NAMES = frozenset({"from", "ref", "source", "src", "feed"})
_FEED_MARKER_VALUES = frozenset({"rss", "rss2", "rss20", "feed", "feeds", "atom", "yandex", "xml"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left alone when percent-encoding a path or query (already-encoded "%xx" kept).
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


def _is_tracking(param: str) -> bool:
    name, _, value = param.partition("=")
    name = name.lower()
    if name in _TRACKING_NAMES or name.startswith(_TRACKING_PREFIXES):
        return True
    return name in _FEED_MARKER_NAMES and value.lower() in _FEED_MARKER_VALUES


def absolute_http_url(url: str | None, base: str | None = None) -> str | None:
    """`url` resolved against `base`, if the result is http(s) with a host; else None."""
    if not url:
        return None
    url = url.strip()
    if not url:
        return None
    try:
        if base and not url[:8].lower().startswith(("http://", "https://")):
            url = urljoin(base, url)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return url


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """The one spelling of an article URL used for de-duplication, or None if not http(s)."""
    absolute = absolute_http_url(url, base)
    if absolute is None:
        return None
    try:
        parts = urlsplit(absolute)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(parts.path, safe=_SAFE_PATH) or "/"
    query = ""
    if parts.query:
        kept = [p for p in parts.query.split("&") if p and not _is_tracking(p)]
        query = quote("&".join(kept), safe=_SAFE_QUERY)
    return urlunsplit((scheme, netloc, path, query, ""))
