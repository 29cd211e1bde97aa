"""Messaging over RabbitMQ: the only pika code of dvcq.

One connection per process (or thread); the topology of shared.topology declared before anything publishes;
publishers use confirms, persistent messages and `mandatory`; consumers ack after their effect is stored,
dead-letter malformed messages at once and hold a message (backing off) while their own store is down.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPChannelError, AMQPConnectionError, AMQPError, NackError, UnroutableError

from shared.catalogue import MalformedEvent, validate_envelope
from shared.events import Event
from shared.logs import correlation
from shared.retry import backoff
from shared.settings import Settings
from shared.topology import DEAD_LETTER_EXCHANGE, EXCHANGE, QUEUES, queue_for

log = logging.getLogger(__name__)

BROKER_ERRORS: tuple[type[Exception], ...] = (AMQPError, OSError)


class PublishFailed(RuntimeError):
    """The broker did not take the message (down, unroutable or nacked): it stays pending."""


def parameters(settings: Settings) -> pika.URLParameters:
    """Connection parameters from AMQP_URL, with a heartbeat and short timeouts."""
    params = pika.URLParameters(settings.amqp_url)
    params.heartbeat = 30
    params.blocked_connection_timeout = 30
    params.socket_timeout = 5
    params.connection_attempts = 1
    params.client_properties = {"connection_name": f"dvcq pid {os.getpid()}"}
    return params


def connect(settings: Settings) -> pika.BlockingConnection:
    """Open a blocking connection (call it in the process that uses it, never before a fork)."""
    return pika.BlockingConnection(parameters(settings))


def declare_topology(channel: BlockingChannel) -> None:
    """Declare the whole topology of shared.topology (idempotent)."""
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
    for q in QUEUES:
        channel.queue_declare(q.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(q.dead_letter_queue, DEAD_LETTER_EXCHANGE, routing_key=q.service)
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": q.service,
        }
        if q.single_active:
            arguments["x-single-active-consumer"] = True
        channel.queue_declare(q.queue, durable=True, arguments=arguments)
        for key in q.bindings:
            channel.queue_bind(q.queue, EXCHANGE, routing_key=key)


class Publisher:
    """Publishes events with confirms, `mandatory` and persistence, on one lazily opened connection."""

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
                mandatory=True,
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


Handler = Callable[[Event], None]


def run_consumer(
    settings: Settings,
    service: str,
    handle: Handler,
    *,
    store_errors: tuple[type[Exception], ...],
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Consume the service's queue forever: validate, handle, then ack.

    Malformed messages are rejected without requeue (dead-letter queue). While `handle` raises one of
    `store_errors` the message is held and retried with capped backoff (heartbeats keep flowing). Other
    handler errors dead-letter the message so it can be inspected and replayed, never requeued hot.
    """
    definition = queue_for(service)
    reconnect_delay = 0.5
    while not should_stop():
        conn: pika.BlockingConnection | None = None
        try:
            conn = connect(settings)
            channel = conn.channel()
            declare_topology(channel)
            channel.basic_qos(prefetch_count=1)
            reconnect_delay = 0.5
            log.info("consuming", extra={"queue": definition.queue})
            for method, _props, body in channel.consume(definition.queue, inactivity_timeout=1.0):
                if should_stop():
                    break
                if method is None:
                    continue
                _deliver(conn, channel, method, body, handle, store_errors)
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


def _deliver(
    conn: pika.BlockingConnection,
    channel: BlockingChannel,
    method: Any,
    body: bytes,
    handle: Handler,
    store_errors: tuple[type[Exception], ...],
) -> None:
    try:
        event = validate_envelope(json.loads(body.decode("utf-8")))
    except (ValueError, UnicodeDecodeError, MalformedEvent) as exc:
        log.error("malformed message dead-lettered", extra={"error": str(exc)[:500]})
        channel.basic_reject(method.delivery_tag, requeue=False)
        return
    delay = 0.5
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
                log.exception("handler failed, message dead-lettered", extra={"event_id": event.id})
                channel.basic_reject(method.delivery_tag, requeue=False)
                return
        channel.basic_ack(method.delivery_tag)
