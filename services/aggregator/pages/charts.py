"""Bar geometry for the board's SVG charts (shapes only: no script, and no inline style, which the CSP forbids)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.formatting import PERCENT_UNIT


def status_segments(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """One bar segment per status present, in `labels` order: its offset and width the share of units (0-100)."""
    total = len(rows) or 1
    out = []
    done = 0
    for status, label in labels.items():
        count = sum(1 for r in rows if r["status"] == status)
        if count:
            x, width = round(100 * done / total, 2), round(100 * count / total, 2)
            out.append({"status": status, "label": label, "count": count, "x": x, "width": width})
            done += count
    return out


def largest_count(values: Sequence[tuple[float | int | None, str]]) -> float | int:
    """The largest absolute count among (value, unit) pairs, rates and blanks left out: the scale of count bars."""
    return max((abs(v) for v, unit in values if unit != PERCENT_UNIT and v is not None), default=0)


def bar_width(value: float | int | None, unit: str, largest: float | int) -> float:
    """A bar's width (0-100): a rate as itself, clamped; a count scaled to the area's largest; 0 when blank."""
    if value is None:
        width = 0.0
    elif unit == PERCENT_UNIT:
        width = max(0.0, min(100.0, float(value)))
    else:
        width = 100.0 * abs(value) / largest if largest else 0.0
    return round(width, 2)
