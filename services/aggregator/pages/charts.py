"""Geometry for the board's SVG charts (shapes only: no script, and no inline style, which the CSP forbids)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from shared.formatting import PERCENT_UNIT
from shared.timerules import local_date, parse_instant


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


# --- the period's submissions over time (issue 15 point 4) ----------------------------------------------------

TIMELINE_BEFORE = timedelta(days=14)  # the chart starts two weeks before the deadline (or at the first report)
TIMELINE_AFTER = timedelta(days=30)  # and runs a month past it (or to the last report), never past today
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 240, 40, 12, 14, 34
SERIES = (("on_time", "Đúng hạn"), ("late", "Muộn hạn"), ("missing", "Chưa nộp"))


def submissions_by_day(
    rows: Sequence[Mapping[str, Any]], *, deadline_day: date, today: date, not_expected: Sequence[str]
) -> list[dict[str, Any]]:
    """Each day's count of units that had reported on time, reported late and not reported yet (of the units
    expected now), at the end of that day: what the compliance figures said that evening, when no unit was
    waived or closed since. From two weeks before the deadline (or the first report) to today, at most a month
    past the deadline (or the last report); [] before it starts."""
    expected = [r for r in rows if r["status"] not in not_expected]
    arrivals = [
        (local_date(parse_instant(r["received_at"])), r["status"])
        for r in expected
        if r["status"] in ("submitted_on_time", "submitted_late") and r.get("received_at")
    ]
    days = [day for day, _ in arrivals]
    start = min([deadline_day - TIMELINE_BEFORE, *days])
    end = min(today, max([deadline_day + TIMELINE_AFTER, *days]))
    points = []
    day = start
    while day <= end:
        on_time = sum(1 for d, s in arrivals if d <= day and s == "submitted_on_time")
        late = sum(1 for d, s in arrivals if d <= day and s == "submitted_late")
        points.append({"day": day, "on_time": on_time, "late": late, "missing": len(expected) - on_time - late})
        day += timedelta(days=1)
    return points


def timeline(points: Sequence[Mapping[str, Any]], *, deadline_day: date) -> dict[str, Any] | None:
    """The geometry of the submissions chart (an SVG drawn by the board's template): one polyline per series,
    the deadline's line, and one band per day carrying that day's counts as data attributes and a tooltip."""
    if not points:
        return None
    top_count = max(max(p["on_time"] + p["late"] + p["missing"] for p in points), 1)
    span = max(len(points) - 1, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    first = points[0]["day"]

    def x(day: date) -> float:
        return round(LEFT + plot_w * (day - first).days / span, 1)

    def y(count: int) -> float:
        return round(TOP + plot_h * (1 - count / top_count), 1)

    band = round(plot_w / (span + 1), 2)
    deadline_x = x(deadline_day) if first <= deadline_day <= points[-1]["day"] else None
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "plot": {"left": LEFT, "right": WIDTH - RIGHT, "top": TOP, "bottom": HEIGHT - BOTTOM},
        "top_count": top_count,
        "series": [
            {"key": key, "label": label, "points": " ".join(f"{x(p['day'])},{y(p[key])}" for p in points)}
            for key, label in SERIES
        ],
        "deadline_x": deadline_x,
        "days": [
            {**p, "x": round(x(p["day"]) - band / 2, 2), "width": band, "iso": p["day"].isoformat()} for p in points
        ],
        "first": points[0]["day"],
        "last": points[-1]["day"],
        "last_point": points[-1],
    }


# --- the year's unit × period grid (issue 15 point 4) ---------------------------------------------------------


def status_grid(columns: Sequence[tuple[Any, Sequence[Mapping[str, Any]]]]) -> list[dict[str, Any]]:
    """The rows of a unit × period grid: one per unit of any column, in official order (a unit's latest known order
    and name), each with its status in every column (None where the unit had no obligation). `columns` are (period,
    board rows of that period) in the calendar's order."""
    units: dict[str, dict[str, Any]] = {}
    for index, (_, rows) in enumerate(columns):
        for r in rows:
            unit = units.setdefault(r["agency"], {"agency": r["agency"], "cells": [None] * len(columns)})
            unit.update(name=r["name"], order=r["order"])
            unit["cells"][index] = r["status"]
    return sorted(units.values(), key=lambda u: (u["order"] is None, u["order"] or 0, u["agency"]))


# --- the leadership's summary: the province's rates per period (issue 15 point 4) -----------------------------

RATES_WIDTH, RATES_ROW, RATES_LABEL, RATES_BAR = 640, 44, 190, 14
RATE_SERIES = (("REPORTING_RATE", "Tỷ lệ đã nộp"), ("REPORTING_RATE_ON_TIME", "Tỷ lệ nộp đúng hạn"))
RATE_SHORT = {"REPORTING_RATE": "đã nộp", "REPORTING_RATE_ON_TIME": "đúng hạn"}  # beside a bar: which rate it is


def rates_chart(periods: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The geometry of the rates chart (a horizontal bar per rate and period, 0-100%, drawn by the template): each
    period's row carries its rates as data attributes, a period with nothing expected yet draws no bar."""
    if not periods:
        return None
    plot_w = RATES_WIDTH - RATES_LABEL - 110  # room for "đúng hạn 100,0%" beside a full bar
    rows = []
    for index, p in enumerate(periods):
        top = 8 + index * RATES_ROW
        bars = []
        for offset, (key, label) in enumerate(RATE_SERIES):
            value = p.get(key)
            width = round(plot_w * max(0.0, min(100.0, float(value))) / 100, 1) if value is not None else 0.0
            bars.append({"key": key, "label": label, "short": RATE_SHORT[key], "value": value,
                         "y": top + offset * (RATES_BAR + 2), "width": width, "end": RATES_LABEL + width})  # fmt: skip
        rows.append({**p, "y": top, "text_y": top + RATES_BAR + 1, "bars": bars})
    return {
        "width": RATES_WIDTH,
        "height": 16 + len(periods) * RATES_ROW,
        "left": RATES_LABEL,
        "plot_width": plot_w,
        "rows": rows,
        "series": RATE_SERIES,
    }
