"""SSRF guard for the feed fetcher: address classification, the address policy and a checking resolver.

The resolver hands aiohttp only addresses it has checked, so the connection goes to exactly the
address that passed the policy (no DNS rebinding window between the check and the connect).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# RFC 6052 well-known NAT64 prefix: the last 32 bits are an IPv4 address that a NAT64 gateway
# would connect to, so it must be judged as that IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def classify_address(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address ("loopback", "private", ...), or None if it is."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        return classify_address(inner)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _CGNAT:
        return "shared (CGNAT)"
    if ip.is_private or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


def parse_ip(text: str) -> IPAddress | None:
    """An IP address from a host string (IPv6 zone ids dropped), or None for a host name."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def describe_refusal(host: str, ip: IPAddress, reason: str) -> str:
    """ "refused: example.local resolves to a private address 10.0.0.5" for admins and the CLI."""
    article = "an" if reason[0] in "aeiou" else "a"
    if parse_ip(host) == ip:
        return f"refused: {host} is {article} {reason} address"
    return f"refused: {host} resolves to {article} {reason} address {ip}"


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses feeds may live on: public ones, plus `extra_allowed`, or all if allow_private."""

    allow_private: bool = False
    extra_allowed: frozenset[IPNetwork] = frozenset()

    def refusal(self, ip: IPAddress) -> str | None:
        """The reason `ip` is refused, or None when a connection to it is allowed."""
        if self.allow_private or any(ip in net for net in self.extra_allowed):
            return None
        return classify_address(ip)


class AddressRefused(Exception):
    """A host resolved to (or is) an address the policy refuses.

    Deliberately not an OSError: aiohttp would wrap an OSError from the resolver into a DNS error.
    """

    def __init__(self, host: str, ip: IPAddress, reason: str) -> None:
        self.host = host
        self.ip = ip
        self.reason = reason
        super().__init__(describe_refusal(host, ip, reason))


def check_address(policy: AddressPolicy, host: str, ip: IPAddress) -> None:
    """Raise AddressRefused if the policy refuses `ip` (the address `host` stands for)."""
    reason = policy.refusal(ip)
    if reason is not None:
        raise AddressRefused(host, ip, reason)


class GuardedResolver(AbstractResolver):
    """Resolve with `inner` (default: loop.getaddrinfo), then refuse if ANY address is refused.

    aiohttp skips the resolver for IP-literal hosts, so the fetcher checks those itself.
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not results:
            raise socket.gaierror(socket.EAI_NONAME, f"no addresses for {host}")
        for result in results:
            ip = parse_ip(result["host"])
            if ip is None:  # a resolver must return numeric hosts; refuse anything else
                raise socket.gaierror(socket.EAI_FAIL, f"non-numeric address for {host}")
            check_address(self._policy, host, ip)
        return results

    async def close(self) -> None:
        await self._inner.close()


async def check_host(policy: AddressPolicy, host: str, port: int = 0) -> None:
    """Raise AddressRefused if `host` is, or resolves to, an address the policy refuses.

    For adding a feed (bot.admin.feeds), before or instead of fetching it: the same policy the
    fetcher's resolver applies at connect time. A name that does not resolve now is not refused here; the
    poller's fetch reports it.
    """
    ip = parse_ip(host.strip("[]"))
    if ip is not None:
        check_address(policy, host, ip)
        return
    if policy.allow_private:
        return
    try:
        results = await ThreadedResolver().resolve(host, port, socket.AF_UNSPEC)
    except OSError:
        return
    for result in results:
        resolved = parse_ip(result["host"])
        if resolved is not None:
            check_address(policy, host, resolved)
