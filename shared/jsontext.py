"""Checks on untrusted JSON, shared by the HTTP edge and the message consumers: nesting depth before parsing
(`json.loads` raises RecursionError on deep input), operator keys (`$where`, dotted paths) before any query, and
characters that are no text (`not_text`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# The characters XML 1.0 forbids: NUL (which PostgreSQL, under FerretDB, cannot store: the write fails) and the
# other C0 controls but tab, line feed and carriage return (which python-docx cannot write into the signed
# document), and U+FFFE/U+FFFF. Lone surrogates are refused earlier, when the body is decoded.
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """True when the JSON text nests objects/arrays deeper than `limit`, checked before any parsing."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return False


def forbidden_key(value: Any, path: str = "") -> str | None:
    """The path of the first key starting with '$' or containing '.', at any depth (operator injection)."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str) or key.startswith("$") or "." in key:
                return here
            found = forbidden_key(item, here)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = forbidden_key(item, f"{path}[{index}]")
            if found:
                return found
    return None


def not_text(value: Any, path: str = "") -> str | None:
    """The path of the first string (a key or a value, at any depth) holding a character of NOT_TEXT; "" names
    the value itself. None when every string is text."""
    if isinstance(value, str):
        return path if NOT_TEXT.search(value) else None
    items: Iterable[tuple[str, Any]] = ()
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, str) and NOT_TEXT.search(key):
                return f"{path}.{key!r}" if path else repr(key)
        items = ((f"{path}.{key}" if path else str(key), item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    for here, item in items:
        found = not_text(item, here)
        if found is not None:
            return found
    return None
