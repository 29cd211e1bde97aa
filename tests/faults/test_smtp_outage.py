"""The e-mail channel under faults, over real processes and an SMTP server of the test's own: an outage the
retries outlast, one that outlasts them (dead, listed, re-sent by Sở Nội vụ), and a sender killed between the
SMTP server's acceptance and the ledger's record. In every case no recipient holds two distinct Message-IDs
for one notification."""

from __future__ import annotations

import urllib.parse
from collections import defaultdict
from collections.abc import Iterator

import pytest
import requests

from tests.support import OwnSmtp, TestStack, notifications, own_smtp, own_stack, wait_for

pytestmark = pytest.mark.timeout(900)  # each case waits on delivery progress, slow on a busy shared store
UNITS = 29
RETRY_ENV = {
    "DVCQ_NOTIFY_RETRY_BASE_SECONDS": "0.3",
    "DVCQ_NOTIFY_RETRY_CAP_SECONDS": "1",
    "DVCQ_NOTIFY_MAX_ATTEMPTS": "1000",  # this stack outlasts any outage unless a case restarts the sender
    "DVCQ_NOTIFY_CLAIM_LEASE_SECONDS": "5",  # a killed sender's claim is taken over within the test's patience
}


@pytest.fixture(scope="module")
def outage() -> Iterator[tuple[TestStack, OwnSmtp]]:
    with own_smtp("o") as smtp, own_stack("o", env={"SMTP_URL": smtp.url, **RETRY_ENV}) as s:
        s.stack.stop("notifier-digest")  # the unit alerts are the subject here; the digest has its own test
        yield s, smtp


def ledger(s: TestStack, query: str = "") -> list[dict]:
    """The e-mail notifications (the inbox copies are delivered when decided, whatever SMTP does)."""
    return notifications(s, f"channel=email&{query}")


def resend(s: TestStack, notification_id: str, role: str = "home_affairs", *, encode: bool = True):
    path = urllib.parse.quote(notification_id, safe="") if encode else notification_id
    headers = s.auth(role, "H_CAUKE" if role == "agency" else None)
    return requests.post(s.url("notifier", f"/api/v1/notifications/{path}/resend"), headers=headers, timeout=15)


def one_message_id_per_notification(s: TestStack, smtp: OwnSmtp) -> dict[str, list]:
    """Every mail belongs to a notification of the ledger (by Message-ID, recipient and subject), and every
    notification's recipient holds mails with that notification's Message-ID only. Returns mails by id."""
    notes = ledger(s)
    by_message_id = {n["message_id"]: n for n in notes}
    assert len(by_message_id) == len(notes)
    held: dict[str, list] = defaultdict(list)
    ids_held: dict[tuple[str, str], set[str]] = defaultdict(set)
    for mail in smtp.messages():
        note = by_message_id.get(mail.message_id)
        assert note is not None, (mail.to, mail.subject, mail.message_id)
        assert (mail.to, mail.subject) == (note["recipient"], note["subject"])
        held[note["id"]].append(mail)
        ids_held[mail.to, mail.subject].add(mail.message_id)
    for note in notes:
        assert ids_held.get((note["recipient"], note["subject"]), set()) <= {note["message_id"]}, note["id"]
    return held


def test_an_outage_shorter_than_the_retries_delays_the_mail_and_loses_none(outage) -> None:
    s, smtp = outage
    smtp.stop()
    s.set_clock("2019-06-03T08:00:00+07:00")  # reminder_7 to 29 focal officers, the staff list's escalation_2

    def retried() -> list[dict]:
        notes = ledger(s)
        return notes if len(notes) == 2 * UNITS and all(n["attempts"] >= 2 for n in notes) else []

    notes = wait_for(retried, timeout=300, what="every notification failed twice")
    assert {n["status"] for n in notes} == {"failed"}
    assert all(a["outcome"] == "failed" and a["error"] for n in notes for a in n["attempt_log"])
    assert smtp.messages() == []

    smtp.start()
    delivered = wait_for(
        lambda: (notes := ledger(s)) and all(n["status"] == "delivered" for n in notes) and notes,
        timeout=240,
        what="every notification delivered after the outage",
    )
    for n in delivered:
        log = n["attempt_log"]
        assert [a["outcome"] for a in log] == ["failed"] * (len(log) - 1) + ["delivered"]
        assert [a["number"] for a in log] == list(range(1, len(log) + 1)) == list(range(1, n["attempts"] + 1))
    held = one_message_id_per_notification(s, smtp)
    assert sorted(held) == sorted(n["id"] for n in delivered)
    assert all(len(mails) == 1 for mails in held.values())

    def published() -> list[dict]:
        items = s.get("notifier", "/api/v1/events?limit=1000", role="home_affairs").json()["items"]
        items = [e for e in items if e["data"]["channel"] == "email"]
        done = [e for e in items if e["type"] == "notification.delivered"]
        return items if len(done) == 2 * UNITS else []

    events = wait_for(published, timeout=120, what="notification.* events published by the relay")
    failed = [e for e in events if e["type"] == "notification.failed"]
    assert len(failed) == sum(n["attempts"] - 1 for n in delivered)
    assert len({e["id"] for e in events}) == len(events)


def test_an_outage_past_the_last_retry_leaves_dead_notifications_that_a_resend_delivers(outage) -> None:
    s, smtp = outage
    s.stack.stop("notifier-sender")
    s.stack.start("notifier-sender", extra_env={"DVCQ_NOTIFY_MAX_ATTEMPTS": "2"})
    smtp.stop()
    s.set_clock("2019-06-07T08:00:00+07:00")  # reminder_1 to 29 focal officers and 29 heads

    dead = wait_for(
        lambda: (d := ledger(s, "status=dead")) and len(d) == 2 * UNITS and d,
        timeout=300,
        what="every reminder_1 dead",
    )
    assert {(n["level"], n["attempts"]) for n in dead} == {("reminder_1", 2)}
    assert all([a["outcome"] for a in n["attempt_log"]] == ["failed", "failed"] for n in dead)
    assert ledger(s, "status=dead&level=reminder_1&agency=H_CAUKE&period=2019-H1") == [
        n for n in dead if n["agency"] == "H_CAUKE"
    ]
    smtp.start()

    cauke = sorted((n for n in dead if n["agency"] == "H_CAUKE"), key=lambda n: n["recipient_role"])
    focal, head = cauke
    assert "|" in focal["id"] and "@" in focal["id"]
    assert resend(s, focal["id"], role="agency").status_code == 403
    assert resend(s, focal["id"], role="admin").status_code == 403
    missing = resend(s, focal["id"] + "x")
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Không tìm thấy thông báo."
    answer = resend(s, focal["id"])
    assert answer.status_code == 202, answer.text
    assert (answer.json()["status"], answer.json()["attempts"]) == ("pending", 2)
    assert resend(s, head["id"], encode=False).status_code == 202  # `|` and `@` as the client sends them

    def redelivered() -> list[dict]:
        notes = [n for n in ledger(s, "agency=H_CAUKE&level=reminder_1")]
        return notes if all(n["status"] == "delivered" for n in notes) else []

    for note in wait_for(redelivered, timeout=120, what="the re-sent notifications delivered"):
        assert note["attempts"] == 3 and [a["outcome"] for a in note["attempt_log"]] == ["failed"] * 2 + ["delivered"]
    again = resend(s, focal["id"])
    assert again.status_code == 409
    assert again.json()["error"]["fields"] == {"status": again.json()["error"]["message"]}
    assert "delivered" in again.json()["error"]["message"] and "gửi lại" in again.json()["error"]["message"]
    assert len(ledger(s, "status=dead")) == 2 * UNITS - 2  # the sender never touches a dead notification
    held = one_message_id_per_notification(s, smtp)
    assert sorted(len(held[n["id"]]) for n in cauke) == [1, 1]

    s.stack.stop("notifier-sender")
    s.stack.start("notifier-sender")


def test_a_sender_killed_after_the_smtp_accept_sends_the_same_message_id_again(outage) -> None:
    s, smtp = outage
    s.stack.stop("notifier-sender")
    # unsupervised: the crash is the subject, and a restart would send the next mail and crash again
    s.stack.start("notifier-sender", extra_env={"DVCQ_FAILPOINT": "notifier.after_send"}, supervise=False)
    before = {m.message_id for m in smtp.messages()}
    s.set_clock("2019-06-11T08:00:00+07:00")  # overdue to the 29 heads

    wait_for(lambda: "notifier-sender" in s.stack.exited(), timeout=180, what="the sender to die at its failpoint")
    assert s.stack.exited()["notifier-sender"] == 86
    (crashed,) = [m for m in smtp.messages() if m.message_id not in before]
    note = next(n for n in ledger(s, "level=overdue") if n["message_id"] == crashed.message_id)
    assert (note["status"], note["attempts"], note["attempt_log"]) == ("pending", 0, [])

    s.stack.start("notifier-sender")
    wait_for(
        lambda: (notes := ledger(s, "level=overdue")) and len(notes) == UNITS
        and all(n["status"] == "delivered" for n in notes),
        timeout=240,
        what="every overdue notice delivered after the restart",
    )  # fmt: skip
    copies = [m for m in smtp.messages() if (m.to, m.subject) == (crashed.to, crashed.subject)]
    assert 1 <= len(copies) <= 2 and {m.message_id for m in copies} == {crashed.message_id}
    held = one_message_id_per_notification(s, smtp)
    assert all(len(held[n["id"]]) == 1 for n in ledger(s, "level=overdue") if n["id"] != note["id"])
