"""Bad input to the scheduler's calendar and clock gets a clear 4xx and changes nothing."""

from __future__ import annotations

import pytest
import requests

from tests.support import TestStack


@pytest.mark.parametrize("year", ["²⁰¹⁹", "19", "abcd", "2019x"])
def test_a_malformed_year_is_400(stack: TestStack, year: str) -> None:
    resp = stack.get("scheduler", "/api/v1/calendar", params={"year": year})
    assert resp.status_code == 400
    assert "year" in resp.json()["error"]["fields"]


def test_another_year_has_no_periods(stack: TestStack) -> None:
    assert stack.get("scheduler", "/api/v1/calendar?year=2020").json()["periods"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"now": "0001-01-01T00:00:00+07:00"}, "now"),
        ({"now": "9999-12-31T00:00:00+07:00", "rate": 1e6}, "now"),
        ({"now": "2019-06-10T08:00:00+07:00", "rate": 1e9}, "rate"),
        ({"now": "2019-06-10T08:00:00"}, "now"),
        ({"now": "2019-06-10T08:00:00+07:00", "speed": 2}, "speed"),
    ],
)
def test_an_implausible_clock_setting_is_422_and_changes_nothing(
    stack: TestStack, body: dict[str, object], field: str
) -> None:
    before = stack.clock()["now"]
    resp = requests.post(stack.url("scheduler", "/api/v1/clock"), json=body, headers=stack.auth(), timeout=15)
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["error"]["fields"]
    assert stack.clock()["now"] == before


def test_only_admins_and_services_set_the_clock(stack: TestStack) -> None:
    resp = requests.post(
        stack.url("scheduler", "/api/v1/clock"),
        json={"now": "2019-06-10T08:00:00+07:00"},
        headers=stack.auth("home_affairs"),
        timeout=15,
    )
    assert resp.status_code == 403
