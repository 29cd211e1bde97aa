"""The board's submissions-over-time counts (services/aggregator/pages/charts.py): each day's on-time, late and
missing units at the end of that day, over a span from before the deadline to today."""

from __future__ import annotations

from datetime import date

from services.aggregator.domain import NOT_EXPECTED
from services.aggregator.pages.charts import submissions_by_day, timeline

DEADLINE = date(2019, 6, 10)


def _row(status: str, received: str | None = None) -> dict[str, str | None]:
    return {"status": status, "received_at": received}


ROWS = [
    _row("submitted_on_time", "2019-06-03T23:30:00+07:00"),  # the 3rd, local time (16:30 UTC)
    _row("submitted_on_time", "2019-06-10T10:00:00+07:00"),
    _row("submitted_late", "2019-06-12T09:00:00+07:00"),
    _row("overdue"),
    _row("waived"),  # not expected: counted nowhere
]


def test_each_day_counts_what_had_arrived_by_its_end_and_the_rest_is_missing() -> None:
    points = submissions_by_day(ROWS, deadline_day=DEADLINE, today=date(2019, 6, 15), not_expected=NOT_EXPECTED)
    days = {p["day"]: (p["on_time"], p["late"], p["missing"]) for p in points}
    assert min(days) == date(2019, 5, 27) and max(days) == date(2019, 6, 15)
    assert days[date(2019, 6, 2)] == (0, 0, 4)
    assert days[date(2019, 6, 3)] == (1, 0, 3)
    assert days[date(2019, 6, 10)] == (2, 0, 2)
    assert days[date(2019, 6, 12)] == (2, 1, 1)


def test_the_span_stops_a_month_past_the_deadline_and_is_empty_before_it_starts() -> None:
    late = [*ROWS, _row("submitted_late", "2019-08-01T08:00:00+07:00")]
    span = submissions_by_day(late, deadline_day=DEADLINE, today=date(2020, 1, 1), not_expected=NOT_EXPECTED)
    assert span[-1]["day"] == date(2019, 8, 1)  # the last report, past the month
    assert submissions_by_day(ROWS, deadline_day=DEADLINE, today=date(2019, 3, 14), not_expected=NOT_EXPECTED) == []
    assert timeline([], deadline_day=DEADLINE) is None


def test_the_geometry_puts_the_deadline_inside_and_one_band_per_day() -> None:
    points = submissions_by_day(ROWS, deadline_day=DEADLINE, today=date(2019, 6, 15), not_expected=NOT_EXPECTED)
    chart = timeline(points, deadline_day=DEADLINE)
    assert chart is not None and len(chart["days"]) == len(points)
    assert chart["plot"]["left"] < chart["deadline_x"] < chart["plot"]["right"]
    assert [s["key"] for s in chart["series"]] == ["on_time", "late", "missing"]
    assert all(len(s["points"].split()) == len(points) for s in chart["series"])
