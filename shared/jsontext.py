"""Checks on untrusted JSON, shared by the HTTP edge and the message consumers: nesting depth before parsing
(`json.loads` raises RecursionError on deep input) and operator keys (`$where`, dotted paths) before any query.
"""

from __future__ import annotations

from typing import Any


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
