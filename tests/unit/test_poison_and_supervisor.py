"""What a consumer refuses before handling (size, depth, encoding, JSON, operator keys, schema) and how the
supervisor's state file says a process is crash-looping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.events import Event, MalformedEvent
from shared.messaging import MAX_MESSAGE_DEPTH, decode_message
from shared.procs import CRASH_LOOP_EXITS, CRASH_LOOP_WINDOW_SECONDS, crash_loops

LIMIT = 1024 * 1024


def _good() -> dict:
    return Event(
        type="unit.changed",
        subject="unit:SKHDT",
        subject_version=1,
        producer="test",
        occurred_at=datetime(2019, 6, 10, 16, 59, tzinfo=UTC),
        data={"code": "SKHDT", "name": "Sở Kế hoạch và Đầu tư", "valid_from": None, "valid_until": None,
              "successors": []},
    ).to_dict()  # fmt: skip


def test_a_valid_event_decodes() -> None:
    assert decode_message(json.dumps(_good()).encode(), max_bytes=LIMIT).type == "unit.changed"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"\xff\xfe not utf-8", "UTF-8"),
        (b"{not json", "JSON"),
        (b"[" * 5000 + b"]" * 5000, "nested"),
        (json.dumps({**_good(), "type": "report.exploded"}).encode(), "type"),
        (json.dumps({**_good(), "data": {"$where": "sleep(1000)"}}).encode(), "$where"),
        (json.dumps({**_good(), "subject": "x" * (LIMIT + 1)}).encode(), "larger"),
        (b"[]", "object"),
    ],
    ids=["bad-utf8", "not-json", "deep", "unknown-type", "operator-key", "oversized", "not-an-object"],
)
def test_malformed_messages_are_refused_before_any_handler_sees_them(body: bytes, words: str) -> None:
    with pytest.raises(MalformedEvent, match=words.replace("$", r"\$")):
        decode_message(body, max_bytes=LIMIT)


def test_the_depth_limit_leaves_room_for_every_real_event() -> None:
    nested = _good()
    nested["data"]["successors"] = []
    assert MAX_MESSAGE_DEPTH >= 8
    decode_message(json.dumps(nested).encode(), max_bytes=LIMIT)


def _state(*ages: float, now: datetime) -> dict:
    exits = [{"at": (now - timedelta(seconds=age)).isoformat(), "code": 86} for age in ages]
    return {"processes": {"notifier-consumer": {"service": "notifier", "exits": exits, "restarts": len(exits)}}}


def test_exits_close_together_are_a_crash_loop_and_old_ones_are_not() -> None:
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    recent = [1.0 + i for i in range(CRASH_LOOP_EXITS)]
    assert crash_loops(_state(*recent, now=now), now) == {"notifier-consumer": CRASH_LOOP_EXITS}
    old = [CRASH_LOOP_WINDOW_SECONDS + 1 + i for i in range(CRASH_LOOP_EXITS)]
    assert crash_loops(_state(*old, now=now), now) == {}
    assert crash_loops(_state(*recent[:-1], now=now), now) == {}
    assert crash_loops({}, now) == {}
