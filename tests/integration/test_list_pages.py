"""Every list endpoint pages by `limit` and `next` over real processes: walked two items at a time each item comes
once and the last page says `next: null`, even while reports arrive and change between pages; a bad `limit` or
a tampered cursor is 400 naming the field, and a list without an equality filter is refused."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import requests

from tests.support import TestStack

PERIOD = "2019-H1"
# Three units with an H1 report, in `_id` order one early and one late; other modules of the session stack may
# have reported for them already, so the fixture takes a report that exists as it is.
EARLY, MIDDLE, LATE = "DAI_PTTH", "SGTVT", "TTR"
LISTS = (
    ("intake", "/api/v1/reports", "admin", {"period": PERIOD}),
    ("intake", f"/api/v1/reports/{EARLY}/{PERIOD}/revisions", "admin", {}),
    ("scheduler", "/api/v1/units", "admin", {}),
    ("scheduler", "/api/v1/obligations", "admin", {"period": PERIOD}),
    ("scheduler", "/api/v1/extension-requests", "home_affairs", {}),
    ("notifier", "/api/v1/notifications", "home_affairs", {"level": "receipt"}),
    ("notifier", "/api/v1/inbox", "home_affairs", {}),
    ("aggregator", "/api/v1/compliance", "admin", {"period": PERIOD}),
    ("aggregator", "/api/v1/dead-letters", "admin", {}),
    ("aggregator", "/api/v1/overdue", "admin", {}),
    ("aggregator", "/api/v1/documents", "admin", {"period": PERIOD}),
)


@pytest.fixture(scope="module", autouse=True)
def h1_reports(stack: TestStack) -> None:
    """On 12/06/2019 (H1 open, late): three units' reports of H1, posted unless another module did."""
    stack.set_clock("2019-06-12T09:00:00+07:00")
    for agency in (EARLY, MIDDLE, LATE):
        resp = stack.post_report(agency, PERIOD, {"indicators": {"tcd_luot": 1}})
        assert resp.status_code in (201, 409), resp.text
        if resp.status_code == 409:
            assert resp.json()["error"]["code"] == "conflict", resp.text


def _page(stack: TestStack, service: str, path: str, role: str = "admin", **params: Any) -> dict[str, Any]:
    resp = stack.get(service, path, role=role, params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    assert set(body) >= {"items", "next"} and len(body["items"]) <= int(params.get("limit", 50))
    return body


def _walk_by_two(stack: TestStack, service: str, path: str, key: str, **params: Any) -> list[Any]:
    """The keys of every item, two per page; each page read with the previous page's `next`."""
    keys: list[Any] = []
    cursor = None
    while True:
        body = _page(stack, service, path, limit=2, **params, **({"cursor": cursor} if cursor else {}))
        keys += [item[key] for item in body["items"]]
        cursor = body["next"]
        if cursor is None:
            return keys
        assert len(body["items"]) == 2  # a page is short only at the end (no status filter here)


def test_obligations_units_and_the_board_walked_two_by_two_show_each_item_once(stack: TestStack) -> None:
    obligations = _walk_by_two(stack, "scheduler", "/api/v1/obligations", "agency", period=PERIOD)
    assert len(obligations) == len(set(obligations)) == 29
    units = _walk_by_two(stack, "scheduler", "/api/v1/units", "code")
    assert len(units) == len(set(units)) and set(obligations) <= set(units)
    whole = _page(stack, "scheduler", "/api/v1/units", limit=500)
    assert [u["code"] for u in whole["items"]] == units and whole["next"] is None

    rows = _walk_by_two(stack, "aggregator", "/api/v1/compliance", "agency", period=PERIOD)
    assert sorted(rows) == sorted(obligations)
    first = _page(stack, "aggregator", "/api/v1/compliance", period=PERIOD, limit=2)
    assert first["EXPECTED_REPORTS"] == 29 and first["ACTUAL_REPORTS"] >= 3  # the figures count every row


def test_reports_walked_while_reports_arrive_and_change_show_each_report_once(stack: TestStack) -> None:
    listed = stack.items("intake", "/api/v1/reports", period=PERIOD)
    before = {r["agency"] for r in listed}
    late_revision = next(r["revision"] for r in listed if r["agency"] == LATE)
    due = stack.items("scheduler", "/api/v1/obligations", period=PERIOD)
    new = min(o["agency"] for o in due if o["agency"] not in before)  # a unit that has not reported yet
    assert {EARLY, MIDDLE, LATE} <= before
    shown: list[str] = []
    revision_of: dict[str, int] = {}
    cursor, edge = None, ""
    while True:
        after = {"cursor": cursor} if cursor else {}
        body = _page(stack, "intake", "/api/v1/reports", period=PERIOD, limit=2, **after)
        shown += [r["agency"] for r in body["items"]]
        revision_of.update({r["agency"]: r["revision"] for r in body["items"]})
        if not edge:  # after the first page: a correction each side of the cursor, a new report
            edge = shown[-1]
            for agency in (EARLY, LATE):
                corrected = requests.put(
                    stack.url("intake", f"/api/v1/reports/{agency}/{PERIOD}"),
                    json={"indicators": {"tcd_luot": 2}},
                    headers=stack.auth("agency", agency),
                    timeout=15,
                )
                assert corrected.status_code == 200, corrected.text
            assert stack.post_report(new, PERIOD, {"indicators": {"tcd_luot": 1}}).status_code == 201
        cursor = body["next"]
        if cursor is None:
            break
    assert not [a for a, n in Counter(shown).items() if n > 1] and before <= set(shown)
    assert (new in shown) == (new > edge)  # a report added after the cursor is shown in its place, before it not
    assert LATE > edge and revision_of[LATE] == late_revision + 1  # changed before its page: shown as it is then

    revisions = _walk_by_two(stack, "intake", f"/api/v1/reports/{EARLY}/{PERIOD}/revisions", "revision")
    assert revisions == list(range(1, len(revisions) + 1)) and len(revisions) >= 2


@pytest.mark.parametrize(("service", "path", "role", "params"), LISTS, ids=[p for _, p, _, _ in LISTS])
def test_a_bad_limit_or_a_tampered_cursor_is_400_naming_the_field(
    stack: TestStack, service: str, path: str, role: str, params: dict[str, str]
) -> None:
    first = _page(stack, service, path, role, **params, limit=1)
    assert first["next"] is None or isinstance(first["next"], str)
    for bad, field in (({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"limit": "dăm"}, "limit"),
                       ({"cursor": "bm90LWEta2V5"}, "cursor"), ({"cursor": "%%%"}, "cursor")):  # fmt: skip
        resp = stack.get(service, path, role=role, params={**params, **bad})
        assert resp.status_code == 400, (bad, resp.text)
        assert field in resp.json()["error"]["fields"], (bad, resp.text)


@pytest.mark.parametrize(
    ("service", "path", "role"),
    [("intake", "/api/v1/reports", "admin"), ("scheduler", "/api/v1/obligations", "home_affairs"),
     ("notifier", "/api/v1/notifications", "home_affairs"), ("aggregator", "/api/v1/documents", "admin")],
)  # fmt: skip
def test_a_list_without_an_equality_filter_is_400_naming_period(
    stack: TestStack, service: str, path: str, role: str
) -> None:
    resp = stack.get(service, path, role=role)
    assert resp.status_code == 400 and "period" in resp.json()["error"]["fields"], resp.text
