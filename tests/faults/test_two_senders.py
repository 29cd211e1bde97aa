"""Two notifier senders and two notifier consumers on one ledger (issue 11, "Done when" 8), over real processes
and an SMTP server of the test's own: through the stepped 2019-H1 every mail goes out once (one Message-ID per
(obligation, level, recipient), each in the mailbox once), both senders take part, and a double click on
"re-send" of a dead notification sends it once more, not twice."""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pymongo import MongoClient

from shared.settings import ROOT
from tests.support import (
    OwnSmtp,
    TestStack,
    assert_invariants,
    notifications,
    own_smtp,
    own_stack,
    step_through_h1,
    wait_for,
)

pytestmark = pytest.mark.timeout(900)
UNITS = 29
ENV = {
    "DVCQ_NOTIFY_RETRY_BASE_SECONDS": "0.3",
    "DVCQ_NOTIFY_RETRY_CAP_SECONDS": "1",
    "DVCQ_NOTIFY_MAX_ATTEMPTS": "2",  # an SMTP outage of a few seconds leaves dead notifications to re-send
}
EXTRA = {"notifier-sender-2": "services.notifier.sender", "notifier-consumer-2": "services.notifier.consumer"}


@pytest.fixture(scope="module")
def replicas() -> Iterator[tuple[TestStack, OwnSmtp]]:
    """A stack with a second sender and a second notifier consumer beside its own."""
    with own_smtp("r") as smtp, own_stack("r", env={"SMTP_URL": smtp.url, **ENV}) as s:
        procs = []
        for name, module in EXTRA.items():
            log = open(s.dir / "log" / f"{name}.log", "ab")  # noqa: SIM115 - the child's
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", module], cwd=ROOT, env=s.stack.env, stdout=log, stderr=subprocess.STDOUT
                )
            )
            log.close()
        try:
            yield s, smtp
            assert [p.poll() for p in procs] == [None, None], "a replica died during the test"
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=15)


def claim_holders(s: TestStack) -> Counter[str]:
    """How many attempts each sender process claimed (the claims are the notifier's own documents)."""
    client: MongoClient[dict[str, Any]] = MongoClient(s.space.mongo_url)
    try:
        return Counter(d["holder"] for d in client[f"{s.space.prefix}notifier"]["claims"].find({}, {"holder": 1}))
    finally:
        client.close()


def resend(s: TestStack, notification_id: str) -> requests.Response:
    path = urllib.parse.quote(notification_id, safe="")
    url = s.url("notifier", f"/api/v1/notifications/{path}/resend")
    return requests.post(url, headers=s.auth("home_affairs"), timeout=30)


def test_two_senders_and_two_consumers_mail_each_alert_of_the_stepped_h1_once(replicas) -> None:
    s, smtp = replicas
    step_through_h1(s)

    def settled() -> bool:
        try:  # the whole ledger is a scan on FerretDB: a busy machine may not answer one read in time
            return not notifications(s, "status=pending") and not notifications(s, "status=failed")
        except requests.RequestException:
            return False

    wait_for(settled, timeout=400, interval=2.0, what="every mail delivered")
    notes = notifications(s, "channel=email")
    assert notes and all(n["status"] == "delivered" for n in notes)
    keys = Counter((n["event_id"], n["recipient"]) for n in notes)
    assert max(keys.values()) == 1
    assert len({n["message_id"] for n in notes}) == len(notes)
    mails = wait_for(lambda: (m := smtp.messages()) and len(m) >= len(notes) and m, what="the mails on disk")
    assert Counter(m.message_id for m in mails) == Counter({n["message_id"]: 1 for n in notes})
    assert all(n["attempts"] == 1 and len(n["attempt_log"]) == 1 for n in notes)
    holders = claim_holders(s)
    assert len(holders) == 2, holders  # both senders sent
    assert sum(holders.values()) == len(notes)  # one claim per attempt, no takeover
    h1 = [n for n in notes if n["period"] == "2019-H1" and n["level"] == "escalation_1"]
    assert len(h1) == UNITS - 1 and all("quá hạn 7 ngày" in n["subject"] for n in h1)

    assert_invariants(s, mails=mails)


def test_a_double_resend_of_a_dead_notification_sends_it_once_more(replicas) -> None:
    s, smtp = replicas
    smtp.stop()
    s.set_clock("2019-09-03T08:00:00+07:00")  # Q3's reminder_7 to the 29 focal officers
    query = "agency=H_CAUKE&level=reminder_7&period=2019-Q3&channel=email"

    def target_dead() -> dict | None:
        try:
            found = notifications(s, query)
        except requests.RequestException:
            return None
        return found[0] if found and found[0]["status"] == "dead" else None

    target = wait_for(target_dead, timeout=300, interval=2.0, what="H_CAUKE's Q3 reminder dead after its attempts")
    assert target["attempts"] == 2
    smtp.start()

    barrier = threading.Barrier(2)
    answers: list[requests.Response] = []

    def click() -> None:
        barrier.wait()
        answers.append(resend(s, target["id"]))

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join(timeout=60)
    codes = sorted(a.status_code for a in answers)
    assert codes in ([202, 202], [202, 409]), [a.text for a in answers]

    def idle() -> bool:
        # Every sender has nothing left to do, so a second, wrongly reopened copy would have gone out by now.
        try:
            return not notifications(s, "status=pending") and not notifications(s, "status=failed")
        except requests.RequestException:
            return False

    wait_for(idle, timeout=300, interval=2.0, what="the senders idle after the re-send")
    (note,) = notifications(s, query)
    assert note["status"] == "delivered" and note["attempts"] == 3
    assert [a["outcome"] for a in note["attempt_log"]] == ["failed", "failed", "delivered"]
    copies = [m for m in smtp.messages() if m.message_id == target["message_id"]]
    assert len(copies) == 1  # the outage let none through before the re-send
    assert resend(s, target["id"]).status_code == 409  # delivered now: nothing to re-send

    assert_invariants(s, mails=smtp.messages())
