"""Pages of a list: what is asked (`limit`, the sort key after which to start) and what is answered (the items
and the key to ask the next page with), and the opaque cursor that carries that key over HTTP.

A list is ordered by a unique key (a document's `_id`, or `_id` after a time), so a page starts strictly after
the last key shown: an item inserted or changed between two pages is never shown twice, and no item that
existed is skipped. The cursor is the key as JSON in urlsafe base64 (no padding), with datetimes written
`{"$dt": "<ISO 8601>"}`; it is not signed (a forged key only moves where a page starts inside the equality
filter the caller is allowed; the store adds that filter), but one that does not decode, or decodes to a key of
the wrong shape, is refused (`BadCursor`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
T = TypeVar("T")


class BadCursor(ValueError):
    """A cursor that this service did not give out (does not decode, or is not the key of this list)."""


@dataclass(frozen=True)
class PageRequest:
    """A page asked for: at most `limit` items, starting after the sort key `after` (None: from the start)."""

    limit: int = DEFAULT_LIMIT
    after: Any = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """The items of one page and `next`, the sort key of its last item when more follow (None at the end)."""

    items: list[T] = field(default_factory=list)
    next: Any = None


def encode_cursor(key: Any) -> str:
    """The opaque cursor of a sort key (a string, a number, a datetime or a list of them)."""
    text = json.dumps(_plain(key), separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> Any:
    """The sort key a cursor carries (lists come back as tuples); BadCursor if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return _typed(json.loads(raw.decode()))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, RecursionError):
        raise BadCursor(cursor) from None


def _plain(key: Any) -> Any:
    if isinstance(key, datetime):
        return {"$dt": key.isoformat()}
    if isinstance(key, (list, tuple)):
        return [_plain(k) for k in key]
    return key


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) != {"$dt"}:
            raise ValueError("not a cursor value")
        found = datetime.fromisoformat(value["$dt"])
        if found.tzinfo is None:
            raise ValueError("a cursor's instant has a zone")
        return found
    if isinstance(value, list):
        return tuple(_typed(v) for v in value)
    return value


def is_text(key: Any) -> bool:
    """The shape of an `_id` key: a string."""
    return isinstance(key, str)


def is_key_of(*kinds: type) -> Callable[[Any], bool]:
    """The shape of a compound key: a tuple of values of `kinds`, in order (bool is not an int here)."""

    def check(key: Any) -> bool:
        return (
            isinstance(key, tuple)
            and len(key) == len(kinds)
            and all(_is(v, k) for v, k in zip(key, kinds, strict=True))
        )

    return check


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def page_of(items: Sequence[T], key: Callable[[T], Any], asked: PageRequest, *, descending: bool = False) -> Page[T]:
    """A page of a list held in memory (the plan's units, the dead-letter queues), in the order of `key`."""
    ordered = sorted(items, key=key, reverse=descending)
    after = asked.after
    chosen = [i for i in ordered if after is None or (key(i) < after if descending else key(i) > after)]
    more = len(chosen) > asked.limit
    return Page(chosen[: asked.limit], key(chosen[asked.limit - 1]) if more else None)
