"""Broker lag past a deadline over real processes (F17, issue 11 "Done when" 1): reports accepted late on the
deadline day while RabbitMQ is down never make their units overdue, although the clock runs past the overdue
instant twice before the broker returns; the ladder holds meanwhile, Sở Nội vụ is told it is held and then that
it resumed, and the units that did not report get their overdue alert once.

The stack runs on a RabbitMQ node of its own, so stopping it disturbs no other stack on the machine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from tests.support import (
    OwnBroker,
    OwnSmtp,
    TestStack,
    assert_invariants,
    ledger,
    local,
    own_smtp,
    own_stack,
    wait_for,
)

PERIOD = "2019-H1"
SNV_MAIL = "dvcq.snv@travinh.example"
# (unit, how it reached intake, clock when accepted); all on 10/06/2019, the deadline day, after 22:00
REPORTERS = (
    ("H_CAUKE", "api", "2019-06-10T22:00:00+07:00"),
    ("H_TIEUCAN", "api", "2019-06-10T23:10:00+07:00"),
    ("STP", "on_behalf", "2019-06-10T23:59:00+07:00"),  # a paper report the văn thư received on 10/06
)
SILENT = ("H_TRACU", "H_CAUNGANG", "SYT")  # three of the units that never report
OVERDUE_AT = local("2019-06-11T08:00:00+07:00")
HOLD_SOON = {"DVCQ_LADDER_HOLD_GRACE_SECONDS": "5"}  # the hold needs no minute of grace here: no step follows it


@pytest.fixture(scope="module")
def lag_stack() -> Iterator[tuple[TestStack, OwnSmtp]]:
    broker = OwnBroker("w").start()
    try:
        with own_smtp("w") as smtp, own_stack("w", broker, env={"SMTP_URL": smtp.url, **HOLD_SOON}) as s:
            yield s, smtp
    finally:
        broker.close()


def _accept(s: TestStack, agency: str, how: str) -> dict:
    if how == "api":
        resp = s.post_report(agency, PERIOD, {"indicators": {"tcd_luot": 5}})
    else:
        body = {
            "received_on": "2019-06-10",
            "channel": "paper",
            "document_number": "12/BC-STP",
            "document_date": "2019-06-07",
            "signer": "Trần Văn B",
            "report": {"indicators": {"tcd_luot": 2}},
        }
        resp = requests.post(
            s.url("intake", f"/api/v1/reports/{agency}/{PERIOD}/on-behalf"),
            json=body,
            headers={"Authorization": f"Bearer {s.token('home_affairs', sub='chuyenvien@snv')}"},
            timeout=15,
        )
    assert resp.status_code == 201, resp.text
    assert resp.json()["on_time"] is True
    return resp.json()


def _obligations(s: TestStack) -> dict[str, dict]:
    return {o["agency"]: o for o in s.items("scheduler", "/api/v1/obligations", period=PERIOD)}


def _ladder(s: TestStack) -> dict:
    return s.clock()["ladder"]


def _assert_no_overdue_for_reporters(s: TestStack) -> None:
    obligations = _obligations(s)
    for agency, _, _ in REPORTERS:
        ob = obligations[agency]
        assert ob["status"] != "overdue", ob
        assert not any("overdue" in level or "escalation" in level for level in ob["levels"]["emitted"]), ob


@pytest.mark.timeout(600)  # an own broker node, an outage and a rebuild on a machine shared with other tests
def test_reports_held_behind_a_stopped_broker_never_make_their_units_overdue(lag_stack) -> None:
    s, smtp = lag_stack
    assert s.broker is not None
    s.set_clock("2019-06-10T21:59:00+07:00")
    wait_for(lambda: s.unit_status(PERIOD, "H_CAUKE") == "pending", timeout=60, what="the board before the outage")
    assert _ladder(s)["state"] == "running" and _ladder(s)["held_since"] is None

    s.broker.stop_app()
    try:
        for agency, how, when in REPORTERS:
            s.set_clock(when, wait=False)
            assert local(_accept(s, agency, how)["received_at"]) <= local(when)

        s.set_clock("2019-06-11T10:00:00+07:00", wait=False)
        held = wait_for(
            lambda: (lambda lad: lad if lad["state"] == "held" else None)(_ladder(s)),
            timeout=90,
            what="the ladder to hold",
        )
        assert local(held["held_since"]) <= local("2019-06-11T10:00:00+07:00")
        assert local(held["watermark"]) < local("2019-06-10T22:00:00+07:00") and "phút" in held["reason"]
        done = s.clock()["processed_up_to"]
        assert local(done) < OVERDUE_AT, done  # the overdue instant is not applied while reports may be missing
        ready = s.get("scheduler", "/readyz").json()
        assert ready["detail"]["ladder"]["state"] == "held", ready
        assert ready["detail"]["ladder"]["held_since"] == held["held_since"]
        metrics = s.get("scheduler", "/metrics").text
        assert 'dvcq_ladder_held{service="scheduler"} 1.0' in metrics, metrics[-2000:]
        _assert_no_overdue_for_reporters(s)
        assert all(o["status"] != "overdue" for o in _obligations(s).values())  # nobody yet: not known

        s.set_clock("2019-06-12T09:00:00+07:00", wait=False)
        wait_for(lambda: _ladder(s)["lag_seconds"] > 86_400, timeout=30, what="the ladder to see 12/06")
        again = _ladder(s)
        assert again["state"] == "held" and again["held_since"] == held["held_since"]  # one hold, told once
        assert local(s.clock()["processed_up_to"]) < OVERDUE_AT
        _assert_no_overdue_for_reporters(s)
    finally:
        s.broker.start_app()

    # Intake's relay publishes the reports, then a watermark at 12/06 09:00; the pass catches up with the skip rule.
    wait_for(
        lambda: local(s.clock()["processed_up_to"]) >= local("2019-06-12T09:00:00+07:00"),
        timeout=180,
        what="the pass to catch up once the broker is back",
    )
    wait_for(lambda: _ladder(s)["state"] == "running", timeout=60, what="the ladder to resume")
    obligations = _obligations(s)
    for agency, _, _ in REPORTERS:
        assert obligations[agency]["status"] == "submitted_on_time", obligations[agency]
    _assert_no_overdue_for_reporters(s)
    for agency in SILENT:
        ob = obligations[agency]
        assert ob["status"] == "overdue" and ob["levels"]["emitted"].count("g1:overdue") == 1, ob

    # The notifier: the silent units' heads and Sở Nội vụ hear of each overdue once; the reporters' never; Sở Nội
    # vụ got "held" and "resumed", once each, by mail and in its inbox.
    def settled() -> list[dict] | None:
        items = ledger(s)
        ops = [n for n in items if n["level"] in ("ladder_held", "ladder_resumed")]
        overdue = [n for n in items if n["level"] == "overdue" and n["agency"] in SILENT]
        done = all(n["status"] == "delivered" for n in ops + overdue)
        return items if done and len(ops) == 4 and len(overdue) >= 2 * len(SILENT) else None

    items = wait_for(settled, timeout=180, what="the overdue alerts and the held/resumed alerts delivered")
    reporters = {agency for agency, _, _ in REPORTERS}
    assert not [n for n in items if n["agency"] in reporters and n["level"] in ("overdue", "escalation_1")]
    for agency in SILENT:
        heads = Counter(
            (n["recipient"], n["channel"])
            for n in items
            if n["agency"] == agency and n["level"] == "overdue" and n["recipient_role"] == "head"
        )
        assert heads and set(heads.values()) == {1}, heads
    ops = Counter((n["level"], n["recipient"], n["channel"]) for n in items if n["level"].startswith("ladder_"))
    assert ops == Counter(
        {(level, SNV_MAIL, channel): 1 for level in ("ladder_held", "ladder_resumed") for channel in ("email", "inbox")}
    )

    snv = {"Authorization": f"Bearer {s.token('home_affairs', sub=SNV_MAIL)}"}
    inbox = s.items("notifier", "/api/v1/inbox", auth=snv)
    assert Counter(i["level"] for i in inbox if i["level"].startswith("ladder_")) == {
        "ladder_held": 1,
        "ladder_resumed": 1,
    }

    def mails_in() -> list | None:
        got = smtp.to(SNV_MAIL)
        return got if len([m for m in got if m.subject.startswith(("[Tạm dừng", "[Hoạt động lại"))]) == 2 else None

    to_snv = wait_for(mails_in, timeout=120, what="Sở Nội vụ's held and resumed mails")
    held_mail = next(m for m in to_snv if m.subject.startswith("[Tạm dừng cảnh báo]"))
    resumed_mail = next(m for m in to_snv if m.subject.startswith("[Hoạt động lại]"))
    assert "Lý do:" in held_mail.text and "tạm dừng" in held_mail.text
    assert "đơn vị đã nộp không nhận thông báo quá hạn" in resumed_mail.text
    heads = {f"thutruong.{agency.lower().replace('_', '-')}@travinh.example": agency for agency, _, _ in REPORTERS}
    late_mails = [m for m in smtp.messages() if m.to in heads and "[Quá hạn" in m.subject]
    assert not late_mails, [m.subject for m in late_mails]
    silent_heads = {f"thutruong.{agency.lower().replace('_', '-')}@travinh.example" for agency in SILENT}
    overdue_mails = Counter(m.to for m in smtp.messages() if m.to in silent_heads and "[Quá hạn" in m.subject)
    assert overdue_mails == {head: 1 for head in silent_heads}, overdue_mails

    assert_invariants(s, mails=smtp.messages())
