"""The storage port (storage/port.py): every store the bundle holds satisfies its Protocol.

A Protocol-typed attribute is not checked when it is assigned, so these tests compare what
each concrete store offers with what its Protocol promises: the same methods, each with the
same parameters (names, kinds, defaults, annotations) and the same async-ness.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

from storage import port
from storage.stores import IMPLEMENTATIONS, stores_over

FIELDS = {f.name: f for f in dataclasses.fields(port.Storage)}
PROTOCOLS = typing.get_type_hints(port.Storage, vars(port))


def promised(protocol: type) -> dict[str, object]:
    """The methods a Protocol declares (its own, not `object`'s or Protocol's machinery)."""
    return {
        name: member
        for name, member in vars(protocol).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def test_the_bundle_has_one_attribute_per_store_and_each_has_an_implementation():
    assert set(FIELDS) == set(IMPLEMENTATIONS)
    for name, protocol in PROTOCOLS.items():
        assert isinstance(protocol, type) and getattr(protocol, "_is_protocol", False), name
        assert promised(protocol), f"{protocol.__name__} promises nothing"


@pytest.mark.parametrize("name", sorted(IMPLEMENTATIONS))
def test_each_store_has_every_method_of_its_protocol_with_the_same_signature(name):
    protocol, concrete = PROTOCOLS[name], IMPLEMENTATIONS[name]
    for method, declared in promised(protocol).items():
        actual = getattr(concrete, method, None)
        assert actual is not None, f"{concrete.__name__} lacks {method}"
        assert inspect.signature(actual) == inspect.signature(declared), (
            f"{concrete.__name__}.{method}{inspect.signature(actual)} is not"
            f" {protocol.__name__}.{method}{inspect.signature(declared)}"
        )
        # a coroutine on both sides, or on neither (an async generator is called, not awaited)
        assert inspect.iscoroutinefunction(actual) == inspect.iscoroutinefunction(declared), (
            f"{concrete.__name__}.{method}"
        )


async def test_the_bundle_built_over_each_engine_holds_stores_that_satisfy_their_protocols(db):
    storage = stores_over(db)
    for name, protocol in PROTOCOLS.items():
        store = getattr(storage, name)
        assert isinstance(store, protocol), f"{name}: {type(store).__name__}"
        assert store.db is db  # every store of the bundle works on the one database


def test_a_store_missing_a_promised_method_is_caught():
    """The isinstance check above can fail: a class without the methods is no FeedStore."""

    class Partial:
        async def get(self, feed_id: int) -> None: ...

    assert not isinstance(Partial(), port.FeedStore)
