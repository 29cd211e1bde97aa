"""shared/ on the real RabbitMQ and store: publisher confirms and returns, the consumer's acks, dead-lettering
and back-off, the outbox relay, tz-aware storage and the shared simulated clock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pika
import pytest
from pymongo.errors import AutoReconnect

from shared import messaging, outbox
from shared.catalogue import validate_envelope
from shared.clock import SimulatedClock
from shared.events import Event
from shared.messaging import (
    HANDLER_ATTEMPTS,
    Publisher,
    PublishFailed,
    declare_topology,
    read_dead_letters,
    run_consumer,
    settle_dead_letters,
    upgrade_queues,
)
from shared.outbox import (
    EVENT_LOG,
    FEED_START,
    backfill_slots,
    ensure_indexes,
    log_document,
    mark_feed_start,
    pending_document,
    read_events,
    relay_once,
)
from shared.settings import Settings
from shared.store import STORE_ERRORS, connect
from shared.topology import DEAD_LETTER_EXCHANGE, EXCHANGE, queue_for
from tests.support import Vhost, wait_for


@pytest.fixture
def vhost() -> Iterator[Vhost]:
    with Vhost("m") as v:
        yield v


@pytest.fixture
def settings(vhost: Vhost) -> Settings:
    return Settings.from_env(vhost.env)


def _event(type_: str = "unit.changed", **data: object) -> Event:
    payload: dict[str, object] = {
        "unit.changed": {"code": "SKHDT", "name": "Sở Kế hoạch và Đầu tư", "valid_from": None,
                         "valid_until": "2025-03-01", "successors": ["STC"]},
        "report.submitted": {"report_id": "H_CAUKE:2019-H1", "agency": "H_CAUKE", "period": "2019-H1",
                             "revision": 1, "received_at": "2019-06-10T16:59:00+00:00", "on_time": True,
                             "completeness": 1.0, "source": "api", "submitted_by": "o@cauke", "content": {}},
    }[type_]  # fmt: skip
    return Event(
        type=type_,
        subject="unit:SKHDT" if type_ == "unit.changed" else "report:H_CAUKE:2019-H1",
        subject_version=1,
        producer="test",
        occurred_at=datetime(2019, 6, 10, 16, 59, tzinfo=UTC),
        data={**payload, **data},
    )


def _channel(settings: Settings) -> pika.adapters.blocking_connection.BlockingChannel:
    return messaging.connect(settings).channel()


def _depth(channel: pika.adapters.blocking_connection.BlockingChannel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count


def test_an_event_type_no_service_consumes_is_published_and_kept_in_the_feed(settings: Settings) -> None:
    db = connect(settings)[settings.db_name("probe")]
    publisher = Publisher(settings)
    event = _event("unit.changed")  # no EVENT_HANDLERS table handles it: it has no queue, by design
    db.outbox.insert_one({"_id": event.id, **pending_document(event)})
    assert relay_once(db, ["outbox"], publisher) == 1
    assert [e["id"] for e in read_events(db, after=None, limit=10)] == [event.id]
    publisher.close()
    db.client.drop_database(db.name)


def test_a_returned_message_stays_pending_and_goes_out_once_routable(settings: Settings) -> None:
    db = connect(settings)[settings.db_name("probe")]
    publisher = Publisher(settings)
    publisher.publish(_event("report.submitted").to_dict())  # opens the connection, declaring the topology
    channel = _channel(settings)
    channel.queue_purge(queue_for("aggregator").queue)
    for service in ("scheduler", "aggregator"):  # nobody binds report.submitted now
        channel.queue_unbind(queue_for(service).queue, EXCHANGE, routing_key="report.submitted")
    event = _event("report.submitted")
    db.outbox.insert_one({"_id": event.id, **pending_document(event)})

    with pytest.raises(PublishFailed):
        relay_once(db, ["outbox"], publisher)
    assert db.outbox.find_one({"_id": event.id})["pending"] is True
    assert read_events(db, after=None, limit=10) == []

    channel.queue_bind(queue_for("aggregator").queue, EXCHANGE, routing_key="report.submitted")
    assert relay_once(db, ["outbox"], publisher) == 1
    assert db.outbox.find_one({"_id": event.id})["pending"] is False
    assert [e["id"] for e in read_events(db, after=None, limit=10)] == [event.id]
    # a single-active-consumer quorum queue refuses basic.get: read it as a consumer
    method, props, body = next(channel.consume(queue_for("aggregator").queue, auto_ack=True, inactivity_timeout=10))
    assert method is not None and props.delivery_mode == 2 and props.message_id == event.id
    assert validate_envelope(json.loads(body)) == event
    assert relay_once(db, ["outbox"], publisher) == 0  # nothing is published twice
    publisher.close()
    db.client.drop_database(db.name)


def test_the_event_log_pages_with_its_cursor_hour_by_hour_across_gaps(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = connect(settings)[settings.db_name("probe")]
    ensure_indexes(db, [])
    hour = 3600 * 10**9
    start = time.time_ns() - 40 * hour
    stamps = [start, start + 1, start + hour, start + 5 * hour, start + 5 * hour + 7, start + 39 * hour]
    for n, stamp in reversed(list(enumerate(stamps))):  # stored out of order: the feed orders them
        db[EVENT_LOG].insert_one(log_document({"id": f"e{n}"}, stamp))
    legacy = {"_id": "old", "key": f"{start - 2 * hour:020d}:old", "event": {"id": "old"}}  # before slots
    db[EVENT_LOG].insert_one(legacy)
    assert backfill_slots(db) == 1 and backfill_slots(db) == 0
    expected = ["old", *(f"e{n}" for n in range(len(stamps)))]

    def whole(limit: int, after: str | None = None) -> list[str]:
        seen: list[str] = []
        while page := read_events(db, after=after, limit=limit):
            seen += [e["id"] for e in page]
            after = page[-1]["cursor"]
        return seen

    assert whole(2) == expected and whole(3) == expected and whole(100) == expected
    assert whole(2, after=legacy["key"]) == expected[1:]
    # the relay's start mark: a read from the start then finds the first hour by `_id`, with the same events
    db[EVENT_LOG].insert_one({"_id": "late", "key": f"{start - 3 * hour:020d}:late", "event": {"id": "late"}})
    assert backfill_slots(db) == 1 and mark_feed_start(db)
    assert db[FEED_START].find_one({"_id": "first"})["slot"] == (start - 3 * hour) // hour  # type: ignore[index]
    assert whole(2) == ["late", *expected] and whole(100) == ["late", *expected]
    monkeypatch.setattr(outbox, "MAX_EMPTY_SLOTS", 3)  # 34 empty hours: the rest by the range query
    assert whole(2) == ["late", *expected] and whole(100, after=f"{start + 1:020d}:e1") == expected[3:]
    assert whole(10, after="not a cursor") == []  # compared as text, as the range always did


class _Consumer:
    """run_consumer in a thread, stopped by a flag."""

    def __init__(self, settings: Settings, service: str, handle: Callable[[Event], None]) -> None:
        self.stop = threading.Event()
        queue = queue_for(service)
        self.thread = threading.Thread(
            target=run_consumer,
            args=(settings, queue, {event_type: [handle] for event_type in queue.bindings}),
            kwargs={"store_errors": STORE_ERRORS, "should_stop": self.stop.is_set},
            daemon=True,
        )

    def __enter__(self) -> _Consumer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()


def test_a_malformed_message_is_dead_lettered_and_a_good_one_handled_once(settings: Settings) -> None:
    channel = _channel(settings)
    declare_topology(channel)
    good = _event("report.submitted")
    props = pika.BasicProperties(delivery_mode=2)
    channel.basic_publish(EXCHANGE, "report.submitted", b"{not json", props)
    channel.basic_publish(EXCHANGE, "report.submitted", json.dumps({**good.to_dict(), "extra": 1}).encode(), props)
    channel.basic_publish(EXCHANGE, "report.submitted", json.dumps(good.to_dict()).encode(), props)
    handled: list[str] = []
    queue = queue_for("scheduler")
    with _Consumer(settings, "scheduler", lambda e: handled.append(e.id)):
        wait_for(lambda: handled and _depth(channel, queue.dead_letter_queue) == 2, what="dead letters and handling")
    assert handled == [good.id]
    assert _depth(channel, queue.queue) == 0
    bodies = {channel.basic_get(queue.dead_letter_queue, auto_ack=True)[2] for _ in range(2)}
    assert b"{not json" in bodies


def test_a_message_is_held_while_the_store_is_down_then_acked_once(settings: Settings) -> None:
    channel = _channel(settings)
    declare_topology(channel)
    event = _event("report.submitted")
    channel.basic_publish(EXCHANGE, "report.submitted", json.dumps(event.to_dict()).encode())
    calls: list[str] = []
    times: list[float] = []

    def flaky_store(e: Event) -> None:
        calls.append(e.id)
        times.append(time.monotonic())
        if len(calls) < 3:
            raise AutoReconnect("store down")

    queue = queue_for("scheduler")
    with _Consumer(settings, "scheduler", flaky_store):
        wait_for(lambda: len(calls) >= 3 and _depth(channel, queue.queue) == 0, what="the third attempt and the ack")
    assert calls == [event.id] * 3  # held and retried in place: never requeued to others, never dead-lettered
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] >= 0.45 and gaps[1] >= 0.9, gaps  # backing off, not a hot loop
    assert _depth(channel, queue.dead_letter_queue) == 0


def test_a_binding_of_an_older_release_is_removed_and_each_queue_gets_only_what_it_handles(
    settings: Settings,
) -> None:
    channel = _channel(settings)
    declare_topology(channel)
    aggregator, notifier = queue_for("aggregator"), queue_for("notifier")
    channel.queue_bind(aggregator.queue, EXCHANGE, routing_key="#")  # what releases before EVENT_HANDLERS bound
    channel.queue_bind(notifier.queue, EXCHANGE, routing_key="obligation.*")
    declare_topology(channel)  # every process declares the topology when it connects
    for event_type in ("unit.changed", "report.submitted"):
        props = pika.BasicProperties(delivery_mode=2, message_id=event_type)
        channel.basic_publish(EXCHANGE, event_type, json.dumps(_event(event_type).to_dict()).encode(), props)
    # A quorum queue's count can lag the publish on a busy machine: wait until both queues that bind
    # report.submitted show it, by which time the notifier's would show anything routed to it too.
    wait_for(
        lambda: (_depth(channel, queue_for("scheduler").queue), _depth(channel, aggregator.queue)) == (1, 1),
        timeout=60,
        what="report.submitted at the scheduler and the aggregator",
    )
    assert _depth(channel, aggregator.queue) == 1 and _depth(channel, notifier.queue) == 0  # no unit.changed


def test_the_store_returns_aware_utc_datetimes(settings: Settings) -> None:
    db = connect(settings)[settings.db_name("probe")]
    local = datetime(2019, 6, 10, 23, 59, tzinfo=UTC) + timedelta(hours=0)
    db.t.insert_one({"_id": 1, "at": local})
    back = db.t.find_one({"_id": 1})["at"]
    assert back.tzinfo is not None and back.utcoffset() == timedelta(0) and back == local


def test_the_simulated_clock_is_shared_by_every_process(settings: Settings) -> None:
    client = connect(settings)
    collection = client[settings.db_name("clock")]["clock"]
    start = datetime(2019, 3, 13, 17, 0, tzinfo=UTC)
    a, b = SimulatedClock(collection, start=start), SimulatedClock(collection, start=start)
    assert a.now() == start == b.now()  # frozen at the plan's issue date until set
    target = datetime(2019, 6, 10, 16, 59, tzinfo=UTC)
    a.set(target)
    wait_for(lambda: b.now() == target, timeout=2, what="the other clock to agree")
    a.set(target, rate=3600.0)
    wait_for(lambda: b.now() > target + timedelta(minutes=1), timeout=5, what="simulated time to run")


def test_a_handler_error_is_retried_in_place_then_dead_lettered_and_the_next_message_handled(
    settings: Settings,
) -> None:
    channel = _channel(settings)
    declare_topology(channel)
    bad, good = _event("report.submitted"), _event("report.submitted", agency="H_CANGLONG")
    for event in (bad, good):
        props = pika.BasicProperties(delivery_mode=2, message_id=event.id)
        channel.basic_publish(EXCHANGE, "report.submitted", json.dumps(event.to_dict()).encode(), props)
    calls: list[str] = []

    def handle(e: Event) -> None:
        calls.append(e.id)
        if e.id == bad.id:
            raise KeyError("a value the code did not expect")

    queue = queue_for("scheduler")
    with _Consumer(settings, "scheduler", handle):
        wait_for(lambda: good.id in calls and _depth(channel, queue.dead_letter_queue) == 1, what="dead letter")
    assert calls == [bad.id] * HANDLER_ATTEMPTS + [good.id]
    (letter,) = read_dead_letters(settings, "scheduler")
    assert (letter.message_id, letter.reason) == (bad.id, "rejected")


def test_a_replayed_dead_letter_keeps_its_id_leaves_the_queue_once_confirmed_and_is_handled(
    settings: Settings,
) -> None:
    channel = _channel(settings)
    declare_topology(channel)
    events = [_event("report.submitted", agency=agency) for agency in ("H_CAUKE", "H_CANGLONG")]
    queue = queue_for("scheduler")
    for event in events:
        props = pika.BasicProperties(delivery_mode=2, message_id=event.id, type=event.type)
        channel.basic_publish("", queue.dead_letter_queue, json.dumps(event.to_dict()).encode(), props)
    assert [x.message_id for x in read_dead_letters(settings, "scheduler")] == [e.id for e in events]
    # reading leaves them there (a passive declare counts ready messages only: wait for the reader's channel to
    # be closed on the broker's side, when what it held is ready again)
    wait_for(lambda: _depth(channel, queue.dead_letter_queue) == 2, what="both dead letters ready again")

    replayed = settle_dead_letters(settings, "scheduler", lambda x: x.message_id == events[0].id, replay=True)
    assert [x.message_id for x in replayed] == [events[0].id]
    wait_for(lambda: _depth(channel, queue.dead_letter_queue) == 1, what="one dead letter left")
    handled: list[str] = []
    with _Consumer(settings, "scheduler", lambda e: handled.append(e.id)):
        wait_for(lambda: handled, what="the replayed event handled")
    assert handled == [events[0].id]
    assert settle_dead_letters(settings, "scheduler", lambda x: x.message_id == events[0].id, replay=True) == []
    assert [x.message_id for x in settle_dead_letters(settings, "scheduler", lambda x: True, replay=False)] == [
        events[1].id
    ]
    assert _depth(channel, queue.dead_letter_queue) == 0


def test_the_upgrade_moves_the_first_versions_queues_into_the_current_ones_and_deletes_them(
    settings: Settings,
) -> None:
    channel = _channel(settings)
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
    (old,) = queue_for("aggregator").legacy()
    channel.queue_declare(old.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(old.dead_letter_queue, DEAD_LETTER_EXCHANGE, routing_key=old.dead_letter_key)
    v1_args = {"x-queue-type": "quorum", "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
               "x-dead-letter-routing-key": "aggregator", "x-single-active-consumer": True}  # fmt: skip
    channel.queue_declare(old.queue, durable=True, arguments=v1_args)
    channel.queue_bind(old.queue, EXCHANGE, routing_key="#")
    waiting = [_event("report.submitted", agency=a) for a in ("H_CAUKE", "H_CANGLONG", "H_TIEUCAN")]
    for event in waiting:
        props = pika.BasicProperties(delivery_mode=2, message_id=event.id)
        channel.basic_publish(EXCHANGE, event.type, json.dumps(event.to_dict()).encode(), props)
    channel.basic_publish("", old.dead_letter_queue, b"{not json", pika.BasicProperties(message_id="junk"))

    assert upgrade_queues(settings) == {old.queue: 3, old.dead_letter_queue: 1}
    assert upgrade_queues(settings) == {}  # idempotent
    for name in (old.queue, old.dead_letter_queue):
        with pytest.raises(pika.exceptions.ChannelClosedByBroker):
            _channel(settings).queue_declare(name, passive=True)
    current = queue_for("aggregator")
    assert [x.message_id for x in read_dead_letters(settings, "aggregator")] == ["junk"]
    handled: list[str] = []
    with _Consumer(settings, "aggregator", lambda e: handled.append(e.id)):
        wait_for(lambda: len(handled) == 3, what="the moved events handled")
    assert handled == [e.id for e in waiting]
    assert _depth(_channel(settings), current.queue) == 0
