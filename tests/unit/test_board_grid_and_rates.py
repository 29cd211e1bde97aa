"""The board's unit × period grid of a year and the leadership's rates chart (services/aggregator/pages/charts.py):
every unit of any period in official order with its status per period, and each period's rates drawn to scale."""

from __future__ import annotations

from typing import Any

from services.aggregator.pages.charts import RATE_SERIES, rates_chart, status_grid


def _row(agency: str, order: int | None, status: str, name: str | None = None) -> dict[str, Any]:
    return {"agency": agency, "order": order, "status": status, "name": name or agency}


def test_the_grid_has_every_unit_of_any_period_in_official_order_and_a_blank_where_it_owed_nothing() -> None:
    staff = [_row("SNV", 2, "submitted_on_time"), _row("STP", 1, "overdue")]
    h1 = [_row("STP", 1, "submitted_late"), _row("SNV", 2, "pending", "Sở Nội vụ"), _row("NEW", None, "pending")]
    grid = status_grid([("2019-STAFF", staff), ("2019-H1", h1)])
    assert [(u["agency"], u["cells"]) for u in grid] == [
        ("STP", ["overdue", "submitted_late"]),
        ("SNV", ["submitted_on_time", "pending"]),
        ("NEW", [None, "pending"]),  # a unit without an order comes last; it owed nothing in the staff list
    ]
    assert grid[1]["name"] == "Sở Nội vụ"  # the latest period's name


def test_the_grid_of_no_period_is_empty() -> None:
    assert status_grid([]) == []


def test_each_rate_is_drawn_to_scale_and_a_period_with_nothing_expected_draws_no_bar() -> None:
    chart = rates_chart(
        [
            {"key": "2019-H1", "REPORTING_RATE": 50.0, "REPORTING_RATE_ON_TIME": 25.0},
            {"key": "2019-Q3", "REPORTING_RATE": None, "REPORTING_RATE_ON_TIME": None},
            {"key": "2019-FY", "REPORTING_RATE": 130.0, "REPORTING_RATE_ON_TIME": 100.0},  # clamped at the plot
        ]
    )
    assert chart is not None
    full = chart["plot_width"]
    widths = {r["key"]: [b["width"] for b in r["bars"]] for r in chart["rows"]}
    assert widths == {
        "2019-H1": [round(full / 2, 1), round(full / 4, 1)],
        "2019-Q3": [0.0, 0.0],
        "2019-FY": [full, full],
    }
    assert [b["key"] for b in chart["rows"][0]["bars"]] == [key for key, _ in RATE_SERIES]
    tops = [r["y"] for r in chart["rows"]]
    assert tops == sorted(tops) and chart["height"] > tops[-1]  # one row under the other, all inside the picture


def test_no_period_no_chart() -> None:
    assert rates_chart([]) is None
