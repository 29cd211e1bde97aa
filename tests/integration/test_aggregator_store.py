"""The aggregator's read models on the real store: one small document per (plan, period, unit), found by
`{board: ...}`, folded and rebuilt by the same handlers, shown as with the fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from bson import CodecOptions
from bson.raw_bson import RawBSONDocument

from services.aggregator import handlers
from services.aggregator.domain import board_key
from services.aggregator.store import MongoBoardStore, MongoClosingStore, MongoReportsStore
from shared.clock import FixedClock
from shared.events import Event
from shared.settings import Settings
from shared.store import connect
from shared.timerules import LOCAL_TZ, local_iso
from tests.support import Vhost
from tests.unit.fakes import FakeBoardStore
from tests.unit.test_aggregator_read_model_size import (
    CLOSED_AT,
    FULL_TEXT,
    LONGEST_TEXT,
    ONE_MB,
    PERIOD,
    PLAN,
    obligation_events,
    report_events,
)

UNITS = 300
NOW = datetime(2019, 7, 1, 9, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def db() -> Iterator[Any]:
    with Vhost("agg") as vhost:
        settings = Settings.from_env(vhost.env)
        client = connect(settings)
        yield client[settings.db_name("aggregator")]
        client.close()


def events() -> list[Event]:
    out = []
    for i in range(UNITS):
        agency = f"BENCH{i:05d}"
        out += obligation_events(agency)
        out += report_events(agency, LONGEST_TEXT if i == 0 else FULL_TEXT, i)
    return out


def test_rebuilt_rows_are_small_found_by_their_board_and_shown_as_with_the_fakes(db: Any) -> None:
    boards, reports, closings = MongoBoardStore(db), MongoReportsStore(db), MongoClosingStore(db)
    boards.ensure_indexes()
    reports.ensure_indexes()
    closings.close(PLAN.id, PERIOD, {"plan": PLAN.id, "period": PERIOD, "closed_at": local_iso(CLOSED_AT)})
    published = events()
    counts = handlers.rebuild(published, boards=boards, reports=reports, closings=closings, plan=PLAN)
    assert (counts["boards"], counts["rows"]) == (1, UNITS)

    for store in (boards, reports):
        collection = db[store.collection]
        assert "board_1" in collection.index_information()
        raw = collection.with_options(codec_options=CodecOptions(document_class=RawBSONDocument))
        sizes = [len(doc.raw) for doc in raw.find({})]
        assert len(sizes) == UNITS and max(sizes) < ONE_MB, max(sizes)
    assert reports.rows(PLAN.id, PERIOD, ["revision"])[0].keys() == {"_id", "agency", "revision"}
    assert boards.rows(PLAN.id, "2019-Q3") == []

    fake_boards, fake_reports = FakeBoardStore(), FakeBoardStore()
    handlers.rebuild(published, boards=fake_boards, reports=fake_reports, closings=closings, plan=PLAN)
    clock = FixedClock(NOW)

    def view(on_boards: Any, on_reports: Any) -> dict[str, Any] | None:
        return handlers.get_compliance(
            PERIOD, boards=on_boards, reports=on_reports, closings=closings, plan=PLAN, clock=clock
        )

    stored = view(boards, reports)
    assert stored == view(fake_boards, fake_reports)
    assert stored is not None and len(stored["units"]) == UNITS
    assert (stored["EXPECTED_REPORTS"], stored["ACTUAL_REPORTS"], stored["ACTUAL_REPORTS_ON_TIME"]) == (300, 300, 300)
    assert stored["units"][0]["revisions_after_close"] == [3, 4]


def test_an_event_folds_into_its_units_document_only_and_a_redelivery_changes_nothing(db: Any) -> None:
    boards, reports, closings = MongoBoardStore(db), MongoReportsStore(db), MongoClosingStore(db)
    for agency in ("BENCH00001", "BENCH00002"):
        for event in obligation_events(agency):
            assert handlers.on_obligation_event(event, boards=boards, plan=PLAN) is True
    fulfilled = obligation_events("BENCH00001")[-1]
    assert handlers.on_obligation_event(fulfilled, boards=boards, plan=PLAN) is False
    first, second = report_events("BENCH00001", FULL_TEXT, 1)[:2]
    assert handlers.on_report_event(second, reports=reports, closings=closings, plan=PLAN) is True
    assert handlers.on_report_event(first, reports=reports, closings=closings, plan=PLAN) is False

    rows = {r["agency"]: r for r in boards.rows(PLAN.id, PERIOD)}
    assert set(rows) == {"BENCH00001", "BENCH00002"}
    assert rows["BENCH00001"]["_id"] == f"{board_key(PLAN.id, PERIOD)}:BENCH00001"
    assert {r["status"] for r in rows.values()} == {"submitted_on_time"}
    kept = reports.get(PLAN.id, PERIOD, "BENCH00001")
    assert kept is not None and kept["revision"] == 2 and kept["content"]["next_tasks"] == FULL_TEXT
    assert reports.get(PLAN.id, PERIOD, "BENCH00002") is None
