"""Forum routing split (pure): catalog order decides, '*' catches the rest, no routes = one message."""

from __future__ import annotations

from bot.digests.forum import split_by_thread, thread_for

ORDER = ("human_rights", "cis", "un")


def test_thread_for_uses_catalog_order_then_default():
    routes = {"human_rights": 11, "cis": 22}
    assert thread_for(["cis", "human_rights"], routes, ORDER) == 11
    assert thread_for(["un"], routes, ORDER) is None
    assert thread_for(["un"], routes | {"*": 33}, ORDER) == 33
    assert thread_for([], routes | {"*": 33}, ORDER) == 33


def test_split_keeps_item_order_per_thread():
    items = [("a", ["cis"]), ("b", ["un"]), ("c", ["human_rights", "cis"]), ("d", ["cis"])]
    split = split_by_thread(items, {"cis": 2, "human_rights": 1}, lambda i: i[1], ORDER)
    assert {k: [i[0] for i in v] for k, v in split.items()} == {
        2: ["a", "d"],
        None: ["b"],
        1: ["c"],
    }
    assert list(split) == [2, None, 1]


def test_no_routes_means_everything_in_the_main_chat():
    assert split_by_thread([1, 2], {}, lambda i: ["cis"]) == {None: [1, 2]}
    assert split_by_thread([], {}, lambda i: []) == {}
