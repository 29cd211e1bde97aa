"""The transactional outbox: events are stored with the change that caused them and published later.

A producer stores each event inside the document its change writes (`event` plus `pending: True`), in one
insert, so an accepted change is never lost whatever the broker does. The relay (a process of its own)
publishes pending events with confirms, keeps them in the producer's `events` log for
`GET /api/v1/events?after=`, then clears `pending`. A crash between publishing and clearing republishes:
consumers are idempotent on event id.

Order: the relay publishes pending documents oldest `queued_at` first, a document's events in the order they
were stored, on one channel with a confirm for each, so the broker queues them in that order. `queued_at` is
set by the writer just before its insert, so two writers racing can be published in the order their inserts
became visible rather than their stamps; what the ladder relies on (F17) is weaker and holds regardless: a
producer's watermark is published only after a query that found nothing pending (shared.watermark).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING

from shared.catalogue import check_event
from shared.events import Event
from shared.failpoints import failpoint
from shared.messaging import Publisher, PublishFailed
from shared.retry import backoff
from shared.settings import Settings
from shared.store import STORE_ERRORS, connect, insert_once
from shared.watermark import WatermarkEmitter

log = logging.getLogger(__name__)

EVENT_LOG = "events"
BATCH = 100


def pending_document(event: Event, *more: Event) -> dict[str, Any]:
    """The fields to add to a stored document so that it carries `event` (and `more`, in order) to the relay."""
    for each in (event, *more):
        check_event(each)
    doc: dict[str, Any] = {"event": event.to_dict(), "pending": True, "queued_at": datetime.now(UTC)}
    if more:
        doc["more_events"] = [each.to_dict() for each in more]
    return doc


def ensure_indexes(db: Any, collections: Sequence[str]) -> None:
    """Indexes for the relay's query (`pending`, an equality FerretDB pushes down) and the feed's (`key`, which
    MongoDB pages with; FerretDB reads a range over the whole log: README "Growth and retention")."""
    for name in collections:
        db[name].create_index([("pending", ASCENDING)])
    db[EVENT_LOG].create_index([("key", ASCENDING)])


def relay_once(db: Any, collections: Sequence[str], publisher: Publisher) -> int:
    """Publish every pending event of `collections`; return how many went out. Raises PublishFailed."""
    sent = 0
    for name in collections:
        for doc in db[name].find({"pending": True}).sort("queued_at", ASCENDING).limit(BATCH):
            for event in (doc["event"], *doc.get("more_events", ())):
                publisher.publish(event)
                failpoint("relay.after_publish", event["type"])
                key = f"{time.time_ns():020d}:{event['id']}"
                insert_once(db[EVENT_LOG], {"_id": event["id"], "key": key, "event": event})
            db[name].update_one({"_id": doc["_id"]}, {"$set": {"pending": False, "published_at": datetime.now(UTC)}})
            sent += 1
    return sent


def run_relay(
    settings: Settings,
    service: str,
    collections: Sequence[str],
    *,
    idle_seconds: float = 0.2,
    watermark: WatermarkEmitter | None = None,
) -> None:
    """Relay the service's pending events forever, backing off while the broker or the store is down.

    With `watermark`, each round samples business time before its query, and a round that found nothing
    pending publishes the producer's watermark when one is due (shared.watermark).
    """
    db = connect(settings, app_name=f"{service}-relay")[settings.db_name(service)]
    publisher = Publisher(settings)
    delay = idle_seconds
    while True:
        try:
            queried_at = watermark.sample() if watermark is not None else 0.0
            sent = relay_once(db, collections, publisher)
            delay = idle_seconds
            if sent:
                log.info("published", extra={"count": sent})
                continue
            mark = watermark.after_drained(queried_at) if watermark is not None else None
            if watermark is not None and mark is not None:
                publisher.publish(mark.to_dict())
                watermark.published(mark)
        except PublishFailed as exc:
            log.warning("publish failed, event stays pending", extra={"error": str(exc), "delay": delay})
            delay = backoff(delay)
        except STORE_ERRORS as exc:
            log.warning("store unavailable", extra={"error": repr(exc), "delay": delay})
            delay = backoff(delay)
        publisher.sleep(delay)


def read_events(db: Any, *, after: str | None, limit: int) -> list[dict[str, Any]]:
    """The producer's published events after cursor `after`, oldest first, each with its `cursor`.

    The log is kept whole (it rebuilds the read models). On FerretDB the `$gt` is not pushed down, so a page
    costs a read of the whole log: the price of a cursor that stays stable with several relays (README)."""
    query = {"key": {"$gt": after}} if after else {}
    docs = db[EVENT_LOG].find(query).sort("key", ASCENDING).limit(limit)
    return [{"cursor": d["key"], **d["event"]} for d in docs]
