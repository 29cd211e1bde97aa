"""Confirm lost (issue 11, Done when 3), over real processes: intake's relay dies after the broker confirmed a
`report.submitted` and before the outbox marked it published (`DVCQ_FAILPOINT=relay.after_publish`). The
restarted relay publishes it again with the same message id, and every consumer applies it once: one
fulfilment in the scheduler, one status and one revision on the aggregator's board, one receipt per
(recipient, channel) in the notifier's ledger and one mail in the mailbox.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tests.support import OwnSmtp, Tap, TestStack, assert_invariants, own_smtp, own_stack, wait_for, wait_quiet

UNIT, PERIOD = "H_CAUNGANG", "2019-H1"
FOCAL = "daumoi.h-caungang@travinh.example"
FAILPOINT_EXIT = 86


@pytest.fixture(scope="module")
def confirm_stack() -> Iterator[tuple[TestStack, OwnSmtp]]:
    with own_smtp("c") as smtp, own_stack("c", env={"SMTP_URL": smtp.url}) as s:
        yield s, smtp


def test_a_report_published_twice_after_a_lost_confirm_is_applied_once_by_every_consumer(confirm_stack) -> None:
    s, smtp = confirm_stack
    s.wait_status(PERIOD, UNIT, "pending")
    with Tap(s.amqp_url, "report.#", "obligation.fulfilled") as tap:
        s.stack.stop("intake-relay")
        s.stack.start(
            "intake-relay", extra_env={"DVCQ_FAILPOINT": "relay.after_publish:report.submitted"}, supervise=False
        )
        resp = s.post_report(UNIT, PERIOD, {"indicators": {"tcd_luot": 3}})
        assert resp.status_code == 201, resp.text
        event_id = f"report:{UNIT}:{PERIOD}:r1:submitted"

        wait_for(lambda: "intake-relay" in s.stack.exited(), timeout=60, what="the relay to die at its failpoint")
        assert s.stack.exited()["intake-relay"] == FAILPOINT_EXIT, s.log("intake-relay")
        (first,) = wait_for(lambda: tap.events("report.submitted"), what="the first publication")
        assert first["id"] == event_id
        feed = s.get("intake", "/api/v1/events?limit=100").json()["items"]
        assert event_id not in {e["id"] for e in feed}, "the relay died before it recorded the publication"

        s.stack.start("intake-relay")
        s.stack.wait_ready("intake-relay")

        def copies() -> list[tuple[dict, dict]]:
            found = [(props, event) for props, event in tap.drain() if event["id"] == event_id]
            return found if len(found) >= 2 else []

        (props1, body1), (props2, body2) = wait_for(copies, timeout=60, what="the report published again")
        assert props1["message_id"] == props2["message_id"] == event_id and body1 == body2

        # Both copies consumed and acknowledged everywhere before anything is counted.
        s.wait_status(PERIOD, UNIT, "submitted_on_time")
        wait_quiet(s)
        fulfilled = [e for e in tap.events("obligation.fulfilled") if e["data"]["agency"] == UNIT]
        assert len(fulfilled) == 1, fulfilled

    feed = s.get("intake", "/api/v1/events?limit=100").json()["items"]
    assert [e["id"] for e in feed if e["type"] == "report.submitted"] == [event_id]
    scheduler_feed = s.get("scheduler", "/api/v1/events?limit=1000").json()["items"]
    assert [e["id"] for e in scheduler_feed if e["type"] == "obligation.fulfilled"] == [
        f"obligation:{UNIT}:{PERIOD}:fulfilled"
    ]
    (obligation,) = s.get("scheduler", f"/api/v1/obligations?agency={UNIT}&period={PERIOD}").json()["items"]
    assert obligation["status"] == "submitted_on_time"

    board = s.compliance(PERIOD)
    (row,) = [u for u in board["items"] if u["agency"] == UNIT]
    assert row["status"] == "submitted_on_time" and row["revision"] == 1
    assert board["ACTUAL_REPORTS"] == 1
    assert len(s.reports_of(UNIT)) == 1

    def receipts_delivered() -> list[dict]:
        notes = s.get("notifier", f"/api/v1/notifications?agency={UNIT}&level=receipt", role="home_affairs")
        items = notes.json()["items"]
        return items if items and all(n["status"] == "delivered" for n in items) else []

    notes = wait_for(receipts_delivered, timeout=60, what="the receipt delivered")
    assert Counter((n["recipient"], n["channel"]) for n in notes) == {(FOCAL, "email"): 1, (FOCAL, "inbox"): 1}
    mails = wait_for(lambda: smtp.to(FOCAL), what="the receipt mail")
    assert len(mails) == 1 and "[Đã nhận báo cáo]" in mails[0].subject
    assert_invariants(s, mails=smtp.messages())
