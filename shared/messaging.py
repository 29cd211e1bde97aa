"""Messaging over RabbitMQ: the only pika code of dvcq.

One connection per process (or thread), to one of the broker addresses of AMQP_URL (a cluster's nodes): a
publisher or consumer whose node goes down reconnects to another; the topology of shared.topology declared
before anything publishes; publishers use confirms, persistent messages and `mandatory`; consumers ack after
their effect is stored, dead-letter malformed messages at once, retry a failing handler a few times before
dead-lettering, and hold a message (backing off) while their own store is down. Dead letters are read,
replayed and dropped here (`dvcq dlq`), and the queues of an earlier topology version drained into the current
ones (`dvcq broker upgrade`).
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPChannelError, AMQPConnectionError, AMQPError, NackError, UnroutableError
from prometheus_client import Counter

from shared.catalogue import validate_envelope
from shared.events import Event, EventData, MalformedEvent
from shared.failpoints import failpoint
from shared.jsontext import forbidden_key, json_depth_exceeds
from shared.logs import correlation
from shared.retry import backoff
from shared.settings import Settings
from shared.topology import DEAD_LETTER_EXCHANGE, EXCHANGE, ConsumerQueue, queue_for, queues, routed_types

log = logging.getLogger(__name__)

BROKER_ERRORS: tuple[type[Exception], ...] = (AMQPError, OSError)


class PublishFailed(RuntimeError):
    """The broker did not take the message (down, unroutable or nacked): it stays pending."""


def parameters(settings: Settings) -> list[pika.URLParameters]:
    """Connection parameters for each broker address of AMQP_URL (one node, or a cluster's), in a fresh random
    order: the processes spread over a cluster's nodes, and one whose node went down tries the others. Each
    with a heartbeat and short timeouts, one attempt per address."""
    chosen = []
    for url in random.sample(settings.amqp_urls, len(settings.amqp_urls)):
        params = pika.URLParameters(url)
        params.heartbeat = 30
        params.blocked_connection_timeout = 30
        params.socket_timeout = 5
        params.connection_attempts = 1
        params.client_properties = {"connection_name": f"dvcq pid {os.getpid()}"}
        chosen.append(params)
    return chosen


def connect(settings: Settings) -> pika.BlockingConnection:
    """Open a blocking connection to the first broker address that answers, AMQP_URL's tried in turn (call it in
    the process that uses it, never before a fork); raises the last address's error when none does."""
    return pika.BlockingConnection(parameters(settings))


def declare_topology(channel: BlockingChannel) -> None:
    """Declare the whole topology of shared.topology (idempotent)."""
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
    for q in queues():
        channel.queue_declare(q.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(q.dead_letter_queue, DEAD_LETTER_EXCHANGE, routing_key=q.dead_letter_key)
        channel.queue_declare(q.queue, durable=True, arguments=q.arguments)
        for key in q.bindings:
            channel.queue_bind(q.queue, EXCHANGE, routing_key=key)
        for key in q.retired_bindings:  # RabbitMQ treats unbinding a missing binding as done
            channel.queue_unbind(q.queue, EXCHANGE, routing_key=key)


class Publisher:
    """Publishes events with confirms and persistence, on one lazily opened connection.

    An event of a type some queue binds is published `mandatory`: if the broker cannot route it (a queue
    missing or unbound) it is returned and stays pending. A type no service consumes (`unit.changed`,
    `notification.*` today) has nowhere to go by design: it is published without `mandatory`
    and kept in its producer's event feed, where a rebuild or a future consumer reads it.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._conn: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self.connected_in_pid: int | None = None

    def _open(self) -> BlockingChannel:
        if self._channel is None or self._channel.is_closed or self._conn is None or self._conn.is_closed:
            self.close()
            self._conn = connect(self._settings)
            self.connected_in_pid = os.getpid()
            channel = self._conn.channel()
            declare_topology(channel)
            channel.confirm_delivery()
            self._channel = channel
        return self._channel

    def publish(self, event: dict[str, Any]) -> None:
        """Publish one envelope; raise PublishFailed unless the broker confirmed it was routed."""
        try:
            channel = self._open()
            channel.basic_publish(
                EXCHANGE,
                routing_key=event["type"],
                body=json.dumps(event, ensure_ascii=False).encode("utf-8"),
                properties=pika.BasicProperties(
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=event["id"],
                    correlation_id=event.get("correlation_id"),
                    type=event["type"],
                ),
                mandatory=event["type"] in routed_types(),
            )
        except (UnroutableError, NackError) as exc:
            raise PublishFailed(f"{event['type']} {event['id']}: {exc.__class__.__name__}") from exc
        except BROKER_ERRORS as exc:
            self.close()
            raise PublishFailed(f"{event['type']} {event['id']}: broker unavailable ({exc!r})") from exc

    def ping(self) -> None:
        """Check the broker on this publisher's connection (opened here if needed), servicing its heartbeats.

        An idle connection the broker has dropped is replaced once before the check counts as failed.
        """
        for attempt in (1, 2):
            try:
                self._open()
                assert self._conn is not None
                self._conn.process_data_events(time_limit=0)
                return
            except BROKER_ERRORS:
                self.close()
                if attempt == 2:
                    raise

    def queue_depths(self, names: list[str]) -> dict[str, int]:
        """Messages ready in each named queue of the topology, read on this publisher's connection (an idle
        connection the broker has dropped is replaced once, as in `ping`)."""
        for attempt in (1, 2):
            try:
                return queue_depths(self._open(), names)
            except BROKER_ERRORS:
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def sleep(self, seconds: float) -> None:
        """Wait while keeping the connection's heartbeat going."""
        if self._conn is not None and self._conn.is_open:
            try:
                self._conn.sleep(seconds)
                return
            except BROKER_ERRORS:
                self.close()
        time.sleep(seconds)

    def close(self) -> None:
        """Close the connection if open (errors ignored: the broker may be gone)."""
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except BROKER_ERRORS:
                pass


Handler = Callable[[Event], object]
EventHandlers = Mapping[type[EventData], Sequence[Callable[..., object]]]

UNHANDLED = Counter(
    "dvcq_unhandled_events_total",
    "Events that reached a consumer whose EVENT_HANDLERS table has no handler for their type (logged, acked)",
    ["service", "type"],
)

# A handler error that is not a store outage (a bug, a value the code did not expect) is tried this many times
# in place, backing off, then dead-lettered: a transient fault gets a second chance, a poison message does
# not block the queue. A store outage is different: the message is good, so it is held for as long as it lasts.
HANDLER_ATTEMPTS = 3
# No event nests deeper than a few levels (envelope, data, content, a contact); 32 leaves room and stops
# `json.loads` from recursing on hostile input.
MAX_MESSAGE_DEPTH = 32


def max_message_bytes(settings: Settings) -> int:
    """The largest message a consumer decodes: a report event carries a request body of up to
    DVCQ_MAX_BODY_BYTES, so four times that, and never less than 1 MiB."""
    return max(1024 * 1024, 4 * settings.max_body_bytes)


def decode_message(body: bytes, *, max_bytes: int) -> Event:
    """One message body as a validated event; MalformedEvent for anything else (size, depth, encoding, JSON,
    operator keys, envelope or data schema), each checked before the next step can be hurt by it."""
    if len(body) > max_bytes:
        raise MalformedEvent(f"message of {len(body)} bytes is larger than {max_bytes}")
    if json_depth_exceeds(body, MAX_MESSAGE_DEPTH):
        raise MalformedEvent(f"JSON nested deeper than {MAX_MESSAGE_DEPTH}")
    try:
        raw = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedEvent(f"not UTF-8 JSON: {exc.__class__.__name__}: {str(exc)[:200]}") from exc
    bad_key = forbidden_key(raw)
    if bad_key is not None:
        raise MalformedEvent(f"operator or dotted key {bad_key[:100]!r}")
    return validate_envelope(raw)


@dataclass(frozen=True)
class Live:
    """A dependency read again for each event, from the event (`bind_handlers`): e.g. the plan of the event's unit
    with the latest unit list published (`Runtime.plan_of_event`), which a consumer must not freeze at its start."""

    read: Callable[[Event], object]


def bind_handlers(table: EventHandlers, dependencies: Mapping[str, object]) -> dict[str, list[Handler]]:
    """A consumer's EVENT_HANDLERS table keyed by event type, each handler's keyword arguments taken from
    `dependencies` by name (cosmicpython's bootstrap), a `Live` one read at each call; a handler missing a
    required one fails here, at start."""
    bound: dict[str, list[Handler]] = {}
    for event_class, handlers in table.items():
        for handler in handlers:
            kwargs: dict[str, object] = {}
            live: dict[str, Callable[[Event], object]] = {}
            for param in inspect.signature(handler).parameters.values():
                if param.kind is not inspect.Parameter.KEYWORD_ONLY:
                    continue
                if param.name in dependencies:
                    value = dependencies[param.name]
                    if isinstance(value, Live):
                        live[param.name] = value.read
                    else:
                        kwargs[param.name] = value
                elif param.default is param.empty:
                    raise TypeError(f"{handler.__qualname__} needs the dependency {param.name!r}")
            call = functools.partial(handler, **kwargs)
            bound.setdefault(event_class.TYPE, []).append(_with_live(call, live) if live else call)
    return bound


def _with_live(call: Callable[..., Any], live: Mapping[str, Callable[[Event], object]]) -> Handler:
    def handle(event: Event) -> Any:
        return call(event, **{name: read(event) for name, read in live.items()})

    return handle


def dispatch(service: str, event: Event, handlers: Mapping[str, Sequence[Handler]]) -> None:
    """Run every handler bound to the event's type (handlers are idempotent: a retry runs them all again); an
    event no handler takes is logged and counted in `dvcq_unhandled_events_total` (it reached the queue by a
    replay or an old binding), then acked."""
    chosen = handlers.get(event.type)
    if not chosen:
        UNHANDLED.labels(service=service, type=event.type).inc()
        log.warning("event with no handler acked", extra={"event_id": event.id, "event_type": event.type})
        return
    for handle in chosen:
        handle(event)


def run_consumer(
    settings: Settings,
    queue: ConsumerQueue,
    handlers: Mapping[str, Sequence[Handler]],
    *,
    store_errors: tuple[type[Exception], ...],
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Consume the service's queue forever: decode, dispatch to `handlers` (from bind_handlers), then ack;
    one bad message never stops the queue.

    A message that is not a valid event is rejected without requeue (dead-lettered) on its first delivery.
    While a handler raises one of `store_errors` the message is held and retried with capped backoff
    (heartbeats keep flowing). Any other handler error is retried HANDLER_ATTEMPTS times, then the message is
    dead-lettered. A message that kills the process is dead-lettered by the broker after DELIVERY_LIMIT
    redeliveries. The failpoint `<service>.consume:<event id>` kills the process on one event (tests).
    """
    max_bytes = max_message_bytes(settings)
    reconnect_delay = 0.5
    while not should_stop():
        conn: pika.BlockingConnection | None = None
        try:
            conn = connect(settings)
            channel = conn.channel()
            declare_topology(channel)
            channel.basic_qos(prefetch_count=1)
            reconnect_delay = 0.5
            log.info("consuming", extra={"queue": queue.queue})
            for method, props, body in channel.consume(queue.queue, inactivity_timeout=1.0):
                if should_stop():
                    break
                if method is None:
                    continue
                delivery = Delivery(queue.service, method, props, body, max_bytes)
                _deliver(conn, channel, delivery, lambda event: dispatch(queue.service, event, handlers), store_errors)
            channel.cancel()
        except (AMQPConnectionError, AMQPChannelError, OSError) as exc:
            log.warning("broker unavailable, reconnecting", extra={"error": repr(exc), "delay": reconnect_delay})
            time.sleep(reconnect_delay)
            reconnect_delay = backoff(reconnect_delay, cap=10.0)
        finally:
            if conn is not None and conn.is_open:
                try:
                    conn.close()
                except BROKER_ERRORS:
                    pass


@dataclass(frozen=True)
class Delivery:
    """One message as the consumer received it."""

    service: str
    method: Any
    props: pika.BasicProperties
    body: bytes
    max_bytes: int

    @property
    def delivery_count(self) -> int:
        """How many times the broker delivered it before (quorum queues count them)."""
        return int((self.props.headers or {}).get("x-delivery-count", 0))


def _deliver(
    conn: pika.BlockingConnection,
    channel: BlockingChannel,
    delivery: Delivery,
    handle: Handler,
    store_errors: tuple[type[Exception], ...],
) -> None:
    tag = delivery.method.delivery_tag
    try:
        event = decode_message(delivery.body, max_bytes=delivery.max_bytes)
    except Exception as exc:  # whatever decoding raises, the message is at fault: dead-letter it now
        log.error(
            "malformed message dead-lettered",
            extra={"message_id": delivery.props.message_id, "bytes": len(delivery.body), "error": str(exc)[:500]},
        )
        channel.basic_reject(tag, requeue=False)
        return
    failpoint(f"{delivery.service}.consume", key=event.id)
    delay = 0.5
    failures = 0
    with correlation(event.correlation_id or event.id):
        while True:
            try:
                handle(event)
                break
            except store_errors as exc:
                log.warning("store unavailable, holding message", extra={"event_id": event.id, "error": repr(exc)})
                conn.sleep(delay)
                delay = backoff(delay, cap=15.0)
            except Exception:
                failures += 1
                if failures >= HANDLER_ATTEMPTS:
                    log.exception(
                        "handler failed, message dead-lettered", extra={"event_id": event.id, "attempts": failures}
                    )
                    channel.basic_reject(tag, requeue=False)
                    return
                log.warning("handler failed, retrying", exc_info=True, extra={"event_id": event.id})
                conn.sleep(delay)
                delay = backoff(delay, cap=15.0)
        channel.basic_ack(tag)
        log.info(
            "event handled",
            extra={"event_id": event.id, "event_type": event.type, "delivery_count": delivery.delivery_count},
        )


# --- dead letters and the topology upgrade (the `dvcq dlq` and `dvcq broker upgrade` commands) -----------


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter queue, read without removing it."""

    service: str
    message_id: str | None
    type: str | None
    reason: str | None
    died_at: datetime | None
    headers: dict[str, Any]
    body: bytes

    def summary(self) -> dict[str, Any]:
        """The message as one JSON-friendly line of `dvcq dlq list`."""
        return {
            "queue": queue_for(self.service).dead_letter_queue,
            "id": self.message_id,
            "type": self.type,
            "reason": self.reason,
            "died_at": self.died_at.isoformat() if self.died_at else None,
            "bytes": len(self.body),
        }


def _dead_letter(service: str, props: pika.BasicProperties, body: bytes) -> DeadLetter:
    headers = dict(props.headers or {})
    deaths = headers.get("x-death") or [{}]
    died_at = deaths[0].get("time")
    return DeadLetter(
        service=service,
        message_id=props.message_id,
        type=props.type,
        reason=deaths[0].get("reason") or headers.get("x-first-death-reason"),
        died_at=died_at if isinstance(died_at, datetime) else None,
        headers=headers,
        body=body,
    )


def _republished(props: pika.BasicProperties) -> pika.BasicProperties:
    """The same message's properties for a new queue: its id, type and death history kept, the source queue's
    delivery count dropped, persistent."""
    headers = {k: v for k, v in (props.headers or {}).items() if k != "x-delivery-count"}
    return pika.BasicProperties(
        content_type=props.content_type,
        content_encoding=props.content_encoding,
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=props.message_id,
        correlation_id=props.correlation_id,
        type=props.type,
        timestamp=props.timestamp,
        headers=headers or None,
    )


def queue_depths(channel: BlockingChannel, names: list[str]) -> dict[str, int]:
    """Messages ready in each named queue (the queues must exist: a passive declare of a missing one closes
    the channel)."""
    return {name: channel.queue_declare(name, passive=True).method.message_count for name in names}


def dead_letter_depths(settings: Settings) -> dict[str, int]:
    """Messages in every dead-letter queue, by queue name."""
    conn = connect(settings)
    try:
        channel = conn.channel()
        declare_topology(channel)
        return queue_depths(channel, [q.dead_letter_queue for q in queues()])
    finally:
        conn.close()


def read_dead_letters(settings: Settings, service: str, *, limit: int = 1000) -> list[DeadLetter]:
    """Up to `limit` messages of a service's dead-letter queue, left in it (taken unacked, then released)."""
    dlq = queue_for(service).dead_letter_queue
    conn = connect(settings)
    try:
        channel = conn.channel()
        declare_topology(channel)
        out: list[DeadLetter] = []
        for _ in range(min(limit, queue_depths(channel, [dlq])[dlq])):
            method, props, body = channel.basic_get(dlq)
            if method is None:
                break
            out.append(_dead_letter(service, props, body))
        return out
    finally:
        conn.close()  # every message taken is returned to the queue


def settle_dead_letters(
    settings: Settings, service: str, select: Callable[[DeadLetter], bool], *, replay: bool
) -> list[DeadLetter]:
    """Replay (or, with `replay=False`, drop) the dead letters `select` chooses; the others stay.

    Replay republishes a message to its service's work queue (the default exchange, so no other service gets
    it again) with its own message id and death history; it leaves the dead-letter queue only once the
    broker has confirmed the republish. Consumers dedupe by event id, so replaying twice applies once.
    """
    definition = queue_for(service)
    conn = connect(settings)
    done: list[DeadLetter] = []
    try:
        channel = conn.channel()
        declare_topology(channel)
        channel.confirm_delivery()
        for _ in range(queue_depths(channel, [definition.dead_letter_queue])[definition.dead_letter_queue]):
            method, props, body = channel.basic_get(definition.dead_letter_queue)
            if method is None:
                break
            letter = _dead_letter(service, props, body)
            if not select(letter):
                continue  # left unacked: released when the connection closes
            if replay:
                channel.basic_publish("", definition.queue, body, _republished(props), mandatory=True)
            channel.basic_ack(method.delivery_tag)
            done.append(letter)
        return done
    finally:
        if conn.is_open:
            conn.close()


def _queue_exists(conn: pika.BlockingConnection, name: str) -> bool:
    probe = conn.channel()  # a passive declare of a missing queue closes its channel
    try:
        probe.queue_declare(name, passive=True)
    except AMQPChannelError:
        return False
    if probe.is_open:
        probe.close()
    return True


def upgrade_queues(settings: Settings) -> dict[str, int]:
    """Move what is left in earlier topology versions' queues into this version's, then delete them.

    Each old queue is first unbound (new events then reach only the new queue), then drained message by
    message (each acked once the new queue has confirmed it), then deleted once empty with no consumer. An
    event routed to both queues before the unbind arrives twice; consumers dedupe by event id. Idempotent: a
    second run finds no old queue. Run it with the old version's processes stopped (`dvcq stack up` runs it
    before starting anything).
    """
    moved: dict[str, int] = {}
    conn = connect(settings)
    try:
        channel = conn.channel()
        declare_topology(channel)
        channel.confirm_delivery()
        channel.basic_qos(prefetch_count=100)
        for q in queues():
            for old in q.legacy():
                pairs = ((old.queue, q.queue), (old.dead_letter_queue, q.dead_letter_queue))
                for source, target in pairs:
                    if not _queue_exists(conn, source):
                        continue
                    if source == old.queue:
                        for key in old.bindings:
                            channel.queue_unbind(source, EXCHANGE, routing_key=key)
                    else:
                        channel.queue_unbind(source, DEAD_LETTER_EXCHANGE, routing_key=old.dead_letter_key)
                    count = 0
                    # consume rather than basic.get: a single-active-consumer queue refuses basic.get
                    for method, props, body in channel.consume(source, inactivity_timeout=1.0):
                        if method is None:
                            break
                        channel.basic_publish("", target, body, _republished(props), mandatory=True)
                        channel.basic_ack(method.delivery_tag)
                        count += 1
                    channel.cancel()
                    left = channel.queue_declare(source, passive=True).method
                    if left.message_count or left.consumer_count:
                        # quorum queues refuse delete-if-empty: check, and leave a queue still in use alone
                        raise RuntimeError(
                            f"{source} still has {left.message_count} messages and {left.consumer_count} "
                            "consumers: stop the old version's processes, then run `dvcq broker upgrade` again"
                        )
                    channel.queue_delete(source)
                    moved[source] = count
                    log.info("legacy queue drained", extra={"queue": source, "into": target, "messages": count})
    finally:
        if conn.is_open:
            conn.close()
    return moved
