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
FEED_START = "events_start"  # one document, `_id: "first"`: the earliest slot of the log (`mark_feed_start`)
BATCH = 100
SLOT_NS = 3600 * 10**9  # the feed's buckets: the hour of the relay's stamp
MAX_EMPTY_SLOTS = 24 * 31  # a feed read that meets more empty hours in a row falls back to the range query


def pending_document(event: Event, *more: Event) -> dict[str, Any]:
    """The fields to add to a stored document so that it carries `event` (and `more`, in order) to the relay."""
    for each in (event, *more):
        check_event(each)
    doc: dict[str, Any] = {"event": event.to_dict(), "pending": True, "queued_at": datetime.now(UTC)}
    if more:
        doc["more_events"] = [each.to_dict() for each in more]
    return doc


def ensure_indexes(db: Any, collections: Sequence[str]) -> None:
    """Indexes for the relay's query (`pending`) and the feed's (`slot`), equalities FerretDB pushes down, and
    `key`, the feed's order and its fallback range (README "Growth and retention")."""
    for name in collections:
        db[name].create_index([("pending", ASCENDING)])
    db[EVENT_LOG].create_index([("slot", ASCENDING)])
    db[EVENT_LOG].create_index([("key", ASCENDING)])


def log_document(event: dict[str, Any], stamp_ns: int) -> dict[str, Any]:
    """An event as the feed keeps it: `key` = `<stamp ns>:<event id>` (the cursor, in feed order) and `slot`,
    the hour of the stamp, by which `read_events` finds it."""
    return {"_id": event["id"], "key": f"{stamp_ns:020d}:{event['id']}", "slot": stamp_ns // SLOT_NS, "event": event}


def backfill_slots(db: Any) -> int:
    """Give a `slot` to logged events written before the feed had slots (a scan, once per relay start); how many
    were given one. The relay is the log's one writer, so nothing races it."""
    done = 0
    for doc in db[EVENT_LOG].find({"slot": {"$exists": False}}, {"key": 1}):
        stamp = int(doc["key"].split(":", 1)[0])
        db[EVENT_LOG].update_one({"_id": doc["_id"]}, {"$set": {"slot": stamp // SLOT_NS}})
        done += 1
    return done


def relay_once(db: Any, collections: Sequence[str], publisher: Publisher) -> int:
    """Publish every pending event of `collections`; return how many went out. Raises PublishFailed."""
    sent = 0
    for name in collections:
        for doc in db[name].find({"pending": True}).sort("queued_at", ASCENDING).limit(BATCH):
            for event in (doc["event"], *doc.get("more_events", ())):
                publisher.publish(event)
                failpoint("relay.after_publish", event["type"])
                insert_once(db[EVENT_LOG], log_document(event, time.time_ns()))
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
    backfilled = marked = False
    while True:
        try:
            if not backfilled:
                backfill_slots(db)
                marked = mark_feed_start(db)
                backfilled = True
            queried_at = watermark.sample() if watermark is not None else 0.0
            sent = relay_once(db, collections, publisher)
            delay = idle_seconds
            if sent and not marked:
                marked = mark_feed_start(db)
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

    The log is kept whole (it rebuilds the read models). A page is read hour by hour from the cursor's hour
    (`slot`, an equality FerretDB pushes down; the cursor and the order apply to that hour's rows only), so it
    costs the hours it spans rather than the whole log; after MAX_EMPTY_SLOTS empty hours in a row (a cursor from
    long before the next event, or one that is not a feed key) it reads by the range `key > after` instead,
    which FerretDB answers by reading the whole log (README "Growth and retention"). Either way the same
    events, in order."""
    log_ = db[EVENT_LOG]
    slot = _slot_of(after) if after else _first_slot(db)
    found: list[dict[str, Any]] = []
    empty = 0
    last = time.time_ns() // SLOT_NS + 1  # a relay's clock may run a little ahead of this one
    while slot is not None and slot <= last and len(found) < limit and empty <= MAX_EMPTY_SLOTS:
        query: dict[str, Any] = {"slot": slot, "key": {"$gt": after}} if after else {"slot": slot}
        docs = list(log_.find(query).sort("key", ASCENDING).limit(limit - len(found)))
        found += docs
        empty = 0 if docs else empty + 1
        slot += 1
    if slot is None or empty > MAX_EMPTY_SLOTS:
        since = found[-1]["key"] if found else after
        found += log_.find({"key": {"$gt": since}} if since else {}).sort("key", ASCENDING).limit(limit - len(found))
    return [{"cursor": d["key"], **d["event"]} for d in found]


def _slot_of(key: str) -> int | None:
    """The slot of a feed key, None when it is not one."""
    try:
        return int(key.split(":", 1)[0]) // SLOT_NS
    except ValueError:
        return None


def _first_slot(db: Any) -> int | None:
    """The earliest slot of the log: the relay's mark (`mark_feed_start`, one `_id` read), else a sorted read of
    the log (a scan on FerretDB: only before the relay's first start of this release or its first event)."""
    mark = db[FEED_START].find_one({"_id": "first"})
    if mark is not None:
        return int(mark["slot"])
    return _earliest_logged_slot(db)


def _earliest_logged_slot(db: Any) -> int | None:
    """The smallest `slot` of the log, by a sorted read."""
    query = {"slot": {"$exists": True}}
    doc = next(iter(db[EVENT_LOG].find(query, {"slot": 1}).sort("slot", ASCENDING).limit(1)), None)
    return int(doc["slot"]) if doc else None


def mark_feed_start(db: Any) -> bool:
    """Store the log's earliest slot as the feed's start mark, so a read from the start finds it by `_id`; False
    while the log is empty. The relay, the log's one writer, calls it at its start (after `backfill_slots`, which
    may give older events earlier slots) and after its first event; the log only grows, so the mark then holds."""
    first = _earliest_logged_slot(db)
    if first is None:
        return False
    db[FEED_START].replace_one({"_id": "first"}, {"_id": "first", "slot": first}, upsert=True)
    return True
