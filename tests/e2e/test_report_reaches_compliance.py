"""A report posted to intake reaches the compliance board with the scheduler's verdict (over real processes)."""

from __future__ import annotations

from tests.support import TestStack, local, wait_for


def test_report_before_midnight_is_on_time_and_one_after_is_late(stack: TestStack) -> None:
    stack.set_clock("2019-06-10T23:59:00+07:00")
    resp = stack.post_report("H_CAUKE", "2019-H1", {"indicators": {"tcd_luot": 12, "tcd_nguoi": 15}})
    assert resp.status_code == 201, resp.text
    receipt = resp.json()
    assert receipt["on_time"] is True
    assert local(receipt["received_at"]) == local("2019-06-10T23:59:00+07:00")
    assert receipt["id"] == "H_CAUKE:2019-H1" and receipt["revision"] == 1
    stack.wait_status("2019-H1", "H_CAUKE", "submitted_on_time")

    stack.set_clock("2019-06-11T00:00:30+07:00")
    late = stack.post_report("H_TIEUCAN", "2019-H1", {"indicators": {"tcd_luot": 3}})
    assert late.status_code == 201, late.text
    assert late.json()["on_time"] is False
    stack.wait_status("2019-H1", "H_TIEUCAN", "submitted_late")

    board = stack.compliance("2019-H1")
    rows = {u["agency"]: u for u in board["items"]}
    assert rows["H_CAUKE"]["status"] == "submitted_on_time"
    assert rows["H_TIEUCAN"]["days_late"] == 1
    assert rows["H_CHAUTHANH"]["status"] == "overdue"  # nothing received, past due_before
    # other tests of the session report for 2019-H1 too: the figures must agree with the rows
    received = [u for u in rows.values() if u["status"] in ("submitted_on_time", "submitted_late")]
    on_time = [u for u in received if u["status"] == "submitted_on_time"]
    assert board["EXPECTED_REPORTS"] == len(rows) == 29
    assert board["ACTUAL_REPORTS"] == len(received) >= 2 and board["ACTUAL_REPORTS_ON_TIME"] == len(on_time) >= 1
    assert board["REPORTING_RATE"] == round(100 * len(received) / 29, 1)

    obligations = stack.get("scheduler", "/api/v1/obligations?period=2019-H1&agency=H_TIEUCAN").json()["items"]
    assert [o["status"] for o in obligations] == ["submitted_late"]

    def receipts() -> list[dict[str, object]]:
        url = "/api/v1/notifications?agency=H_CAUKE&period=2019-H1&level=receipt"
        items = stack.get("notifier", url).json()["items"]
        return items if len(items) == 2 else []

    notes = wait_for(receipts, what="the notifier's receipt for H_CAUKE, by e-mail and to the inbox")
    assert sorted((n["channel"], n["level"], n["recipient_role"], n["event_type"]) for n in notes) == [
        ("email", "receipt", "focal", "obligation.fulfilled"),
        ("inbox", "receipt", "focal", "obligation.fulfilled"),
    ]


def test_a_second_first_submission_for_the_same_period_is_refused(stack: TestStack) -> None:
    first = stack.post_report("TTR", "2019-Q3", {})
    assert first.status_code == 201, first.text
    again = stack.post_report("TTR", "2019-Q3", {"indicators": {"tcd_luot": 1}})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    stored = [r for r in stack.reports_of("TTR") if r["period"] == "2019-Q3"]
    assert len(stored) == 1 and stored[0]["content"]["indicators"]["tcd_luot"] is None
