"""F17 with recording fakes: intake's watermark is a sample one margin older than a drained query, and the
scheduler's pass applies levels only up to the watermark; a lag beyond the limit opens one hold, closed once."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.scheduler import handlers as scheduler
from shared.catalogue import check_event
from shared.clock import FixedClock
from shared.timerules import LOCAL_TZ, parse_instant
from shared.watermark import WatermarkEmitter
from tests.unit.fakes import FakeObligationStore, FakePassStore
from tests.unit.test_ladder import PLAN, VERSIONED, _of, _report, _synced, at8


class Ticks:
    """A real (monotonic) clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _emitter(clock: FixedClock, ticks: Ticks, *, simulated: bool = True) -> WatermarkEmitter:
    return WatermarkEmitter(clock, producer="intake", margin=0.5, interval=5.0, simulated=simulated, real=ticks)


def test_the_watermark_is_a_sample_one_margin_older_than_a_drained_query() -> None:
    clock, ticks = FixedClock(at8(10, 6)), Ticks()
    emitter = _emitter(clock, ticks)
    queried = emitter.sample()
    assert emitter.after_drained(queried) is None  # no sample is a margin old yet
    ticks.t += 0.6
    event = emitter.after_drained(emitter.sample())
    assert event is not None
    check_event(event)
    assert event.type == "intake.watermark" and parse_instant(event.data["received_before"]) == at8(10, 6)
    emitter.published(event)
    ticks.t += 0.6
    assert emitter.after_drained(emitter.sample()) is None  # the frozen clock has not moved: nothing new


def test_a_clock_step_reaches_the_watermark_only_one_margin_after_the_step() -> None:
    clock, ticks = FixedClock(at8(10, 6)), Ticks()
    emitter = _emitter(clock, ticks)
    emitter.sample()
    ticks.t += 1.0
    emitter.published(emitter.after_drained(emitter.sample()))  # type: ignore[arg-type]
    clock.advance(timedelta(days=1))  # the step: a request stamped just before it may still be storing
    ticks.t += 0.1
    assert emitter.after_drained(emitter.sample()) is None  # the only eligible sample predates the step
    ticks.t += 0.5
    event = emitter.after_drained(emitter.sample())
    assert event is not None and parse_instant(event.data["received_before"]) == at8(11, 6)


def test_on_the_system_clock_a_watermark_goes_out_at_most_every_interval() -> None:
    clock, ticks = FixedClock(at8(10, 6)), Ticks()
    emitter = _emitter(clock, ticks, simulated=False)
    emitter.sample()
    ticks.t += 1.0
    emitter.published(emitter.after_drained(emitter.sample()))  # type: ignore[arg-type]
    clock.advance(timedelta(seconds=2))
    ticks.t += 2.0
    assert emitter.after_drained(emitter.sample()) is None
    ticks.t += 3.0
    assert emitter.after_drained(emitter.sample()) is not None


def _levels(obligations: FakeObligationStore, agency: str) -> list[str]:
    return _of([e for e in obligations.events() if "level" in e.data], agency)


def test_the_pass_applies_nothing_before_the_first_watermark_and_nothing_past_it() -> None:
    obligations, passes = _synced(), FakePassStore(watermark=None)
    scheduler.run_pass(plans=[VERSIONED], obligations=obligations, passes=passes, clock=FixedClock(at8(12, 6)))
    assert passes.processed_up_to() is None and _levels(obligations, "H_CAUKE") == []
    passes.apply_watermark(at8(10, 6))
    scheduler.run_pass(plans=[VERSIONED], obligations=obligations, passes=passes, clock=FixedClock(at8(12, 6)))
    assert passes.processed_up_to() == at8(10, 6)
    assert _levels(obligations, "H_CAUKE") == ["reminder_1"]  # overdue (11/06 08:00) waits for the watermark


def test_a_unit_whose_report_arrives_before_the_watermark_never_gets_overdue() -> None:
    obligations, passes = _synced(), FakePassStore(watermark=at8(3, 6))
    scheduler.run_pass(plans=[VERSIONED], obligations=obligations, passes=passes, clock=FixedClock(at8(12, 6)))
    late_night = datetime(2019, 6, 10, 23, 0, tzinfo=LOCAL_TZ)
    _report(obligations, "H_CAUKE", late_night)  # reaches the scheduler late, before the watermark that covers it
    passes.apply_watermark(at8(12, 6))
    scheduler.run_pass(plans=[VERSIONED], obligations=obligations, passes=passes, clock=FixedClock(at8(12, 6)))
    assert "overdue" not in _levels(obligations, "H_CAUKE")
    overdue = [e for e in obligations.events() if e.subject == "obligation:H_TIEUCAN:2019-H1" and "level" in e.data]
    assert [e.data["level"] for e in overdue] == ["reminder_7", "overdue"]
    assert overdue[-1].data["skipped"] == ["reminder_1"]  # the usual skip rule after the hold


def test_a_long_lag_opens_one_hold_after_the_grace_and_closes_it_once() -> None:
    passes = FakePassStore(watermark=at8(10, 6))
    passes.set_processed_up_to(at8(10, 6))
    clock = FixedClock(at8(11, 6))
    loops = [scheduler.LadderWatch(limit_seconds=600, grace_seconds=15) for _ in range(2)]  # two replicas
    for watch in loops:
        scheduler.watch_ladder(watch, passes=passes, clock=clock, real_now=0.0)
    assert passes.holds == {}  # a clock step's jump is not a hold until the grace has passed
    for real_now in (16.0, 20.0):
        for watch in loops:
            scheduler.watch_ladder(watch, passes=passes, clock=clock, real_now=real_now)
    assert list(passes.holds) == ["ladder:hold:1:held"]
    held = passes.holds["ladder:hold:1:held"]
    check_event(held)
    assert parse_instant(held.data["held_since"]) == at8(11, 6) and "phút" in held.data["reason"]
    status = scheduler.ladder_status(passes=passes, clock=clock, limit_seconds=600)
    assert status.state == "held" and status.held_since == at8(11, 6)
    passes.apply_watermark(at8(11, 6))
    for watch in loops:
        scheduler.watch_ladder(watch, passes=passes, clock=clock, real_now=30.0)
    assert list(passes.holds) == ["ladder:hold:1:held", "ladder:hold:1:resumed"]
    check_event(passes.holds["ladder:hold:1:resumed"])
    assert scheduler.ladder_status(passes=passes, clock=clock, limit_seconds=600).state != "held"
    clock.advance(timedelta(days=1))
    for watch in loops:
        scheduler.watch_ladder(watch, passes=passes, clock=clock, real_now=40.0)
        scheduler.watch_ladder(watch, passes=passes, clock=clock, real_now=60.0)
    assert sorted(passes.holds)[-1] == "ladder:hold:2:held"  # a second outage is a second hold, told again


def test_so_noi_vu_is_told_of_a_hold_and_its_end_once_by_mail_and_inbox() -> None:
    from services.notifier.domain import MailContext
    from services.notifier.operations import on_ladder_event
    from shared.events import Event
    from tests.unit.fakes import FakeLedgerStore

    passes, clock = FakePassStore(watermark=at8(10, 6)), FixedClock(at8(11, 6))
    passes.set_processed_up_to(at8(10, 6))
    watch = scheduler.LadderWatch(limit_seconds=600, grace_seconds=0)
    scheduler.watch_ladder(watch, passes=passes, clock=clock, real_now=0.0)
    passes.apply_watermark(at8(11, 6))
    scheduler.watch_ladder(watch, passes=passes, clock=clock, real_now=1.0)
    ledger, mail = FakeLedgerStore(), MailContext(intake_url="", message_domain="travinh.example")
    for event in passes.holds.values():
        for _ in range(2):  # a redelivered event decides nothing new
            on_ladder_event(
                Event.from_dict(event.to_dict()), ledger=ledger, plan=PLAN, clock=clock, wall=clock, mail=mail
            )
    notes = ledger.find()
    assert sorted((n.level, n.recipient, n.channel) for n in notes) == [
        (level, "dvcq.snv@travinh.example", channel)
        for level in ("ladder_held", "ladder_resumed")
        for channel in ("email", "inbox")
    ]
    held = next(n for n in notes if n.level == "ladder_held")
    assert held.subject.startswith("[Tạm dừng cảnh báo]") and "08:00 11/06/2019" in held.subject
    assert "Lý do: Mốc tiếp nhận" in held.text and "<p>" in held.html
    resumed = next(n for n in notes if n.level == "ladder_resumed")
    assert (
        resumed.subject.startswith("[Hoạt động lại]") and "đơn vị đã nộp không nhận thông báo quá hạn" in resumed.text
    )
