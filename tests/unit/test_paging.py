"""Pages of a list: the opaque cursor, `page_of` over a list in memory, and `shared.web.page_request`'s 400s."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from shared import web
from shared.paging import BadCursor, PageRequest, decode_cursor, encode_cursor, is_key_of, is_text, page_of

KEYS = ["H_CAUKE:2019-H1", ("hà nội", 3), (datetime(2019, 6, 11, 1, 2, tzinfo=UTC), "n|a@b|inbox"), 7]


@pytest.mark.parametrize("key", KEYS)
def test_a_cursor_gives_back_the_key_it_was_made_from(key: Any) -> None:
    cursor = encode_cursor(key)
    assert decode_cursor(cursor) == key
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor


@pytest.mark.parametrize(
    "cursor",
    ["%%%", "abc", encode_cursor("x")[:-1] + "!", "eyJhIjoxfQ", "W3siJGR0IjoiMjAxOS0wNi0xMSJ9XQ", "_w"],
)
def test_a_tampered_cursor_is_refused(cursor: str) -> None:
    # "eyJhIjoxfQ" is {"a":1}, not a key; the next is an instant without a zone; "_w" is not UTF-8
    with pytest.raises(BadCursor):
        decode_cursor(cursor)


def test_key_shapes_tell_a_list_s_key_from_another() -> None:
    assert is_text("a") and not is_text(("a",))
    check = is_key_of(bool, int, str)
    assert check((False, 3, "X")) and not check((0, 3, "X")) and not check((False, True, "X"))
    assert not check((False, 3)) and not check([False, 3, "X"])


def test_walking_pages_shows_each_item_once_even_when_items_arrive_between_pages() -> None:
    items = [f"u{n:02d}" for n in range(0, 20, 2)]
    shown: list[str] = []
    asked = PageRequest(3)
    while True:
        page = page_of(items, lambda s: s, asked)
        shown += page.items
        items += [f"u{len(shown):02d}a", "u00b"]  # one after the pages shown so far, one before
        if page.next is None:
            break
        asked = PageRequest(3, page.next)
    assert len(shown) == len(set(shown))
    assert set(f"u{n:02d}" for n in range(0, 20, 2)) <= set(shown)
    assert "u00b" not in shown


def test_the_last_page_says_no_next_and_a_full_last_page_is_not_followed_by_an_empty_one() -> None:
    first = page_of(list(range(4)), lambda n: n, PageRequest(2))
    second = page_of(list(range(4)), lambda n: n, PageRequest(2, first.next))
    assert (first.items, first.next, second.items, second.next) == ([0, 1], 1, [2, 3], None)
    newest = page_of(list(range(4)), lambda n: n, PageRequest(3), descending=True)
    assert (newest.items, newest.next) == ([3, 2, 1], 1)
    assert page_of(list(range(4)), lambda n: n, PageRequest(3, 1), descending=True).items == [0]


def _app() -> Flask:
    app = Flask(__name__)

    @app.get("/items")
    @web.document(query=web.PAGE_QUERY)
    def items() -> str:
        return ""

    return app


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"), ("limit=-1", "limit"),
     ("limit=%C2%B2", "limit"), ("limit=" + "9" * 5000, "limit"),
     ("cursor=abc", "cursor"), (f"cursor={encode_cursor(5)}", "cursor")],
)  # fmt: skip
def test_a_bad_limit_or_cursor_is_400_naming_the_field(query: str, field: str) -> None:
    with _app().test_request_context(f"/items?{query}"), pytest.raises(web.ApiError) as caught:
        web.page_request()
    assert caught.value.status == 400 and field in caught.value.fields


def test_page_request_reads_the_default_the_limit_and_the_cursor() -> None:
    app = _app()
    with app.test_request_context("/items"):
        assert web.page_request() == PageRequest(50, None)
    with app.test_request_context(f"/items?limit=500&cursor={encode_cursor('H_X:2019-H1')}"):
        assert web.page_request() == PageRequest(500, "H_X:2019-H1")
