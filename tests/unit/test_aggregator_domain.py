"""Aggregator's domain: folding obligation events into a unit's row of a period's board and the DHIS2-style figures."""

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.aggregator.domain import apply_obligation_event, compliance_view, new_board_row, row_id
from services.scheduler.domain import obligations_for_plan
from services.scheduler.handlers import created_event
from shared.events import EVENT_CLASSES, Event
from shared.plan import load_plan
from shared.timerules import LOCAL_TZ

PLAN = load_plan(Path(__file__).resolve().parents[2] / "plans" / "tra-vinh-2019")
PERIOD = "2019-H1"
DUE = datetime(2019, 6, 11, 0, 0, tzinfo=LOCAL_TZ)
DUE_TEXT = DUE.astimezone(UTC).isoformat()
ISSUED = datetime(2019, 3, 14, 1, 0, tzinfo=UTC)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def created(agency: str) -> dict:
    ob = next(o for o in obligations_for_plan(PLAN) if o.agency == agency and o.period == PERIOD)
    return created_event(ob, ISSUED).data


def fulfilled(agency: str, status: str = "submitted_on_time", received_at: datetime | None = None) -> dict:
    received = received_at or local(2019, 6, 5, 9, 0)
    return {
        "agency": agency,
        "period": PERIOD,
        "status": status,
        "received_at": received.astimezone(UTC).isoformat(),
        "due_before": DUE_TEXT,
        "generation": 1,
        "days_late": 0 if status == "submitted_on_time" else 2,
        "report_id": f"{agency}:{PERIOD}",
    }


def level(agency: str, name: str = "overdue") -> dict:
    return {
        "agency": agency,
        "period": PERIOD,
        "level": name,
        "generation": 1,
        "due_before": DUE_TEXT,
        "days_overdue": 1,
        "skipped": [],
    }


def new_board() -> dict[str, dict]:
    """A period's rows by unit code, as the store holds them."""
    return {}


def apply_event(board: dict[str, dict], event_type: str, version: int, data: dict) -> bool:
    """Fold an event of `event_type` with this JSON data (as it travels) into its unit's row of the board."""
    event = Event(event_type, f"obligation:x:{PERIOD}", version, data, "scheduler", ISSUED)
    row = board.get(data["agency"]) or new_board_row(PLAN.id, PERIOD, data["agency"])
    changed = apply_obligation_event(row, EVENT_CLASSES[event_type].of(event), version)
    if changed:
        board[data["agency"]] = row
    return changed


def view_of(board: dict[str, dict], now: datetime) -> dict:
    return compliance_view(PLAN, PERIOD, board.values(), now)


def board_with(*events: tuple[str, int, dict]) -> dict:
    board = new_board()
    for event_type, version, data in events:
        apply_event(board, event_type, version, data)
    return board


def test_a_row_is_keyed_by_plan_period_and_unit_and_found_by_its_board():
    assert row_id("tra-vinh-2019", "2019-H1", "SNV") == "tra-vinh-2019:2019-H1:SNV"
    row = new_board_row("tra-vinh-2019", "2019-H1", "SNV")
    assert (row["_id"], row["board"], row["agency"]) == ("tra-vinh-2019:2019-H1:SNV", "tra-vinh-2019:2019-H1", "SNV")


def test_created_then_fulfilled_is_submitted_on_time():
    board = new_board()
    assert apply_event(board, "obligation.created", 1, created("H_CAUKE")) is True
    assert board["H_CAUKE"]["status"] == "pending"
    assert apply_event(board, "obligation.fulfilled", 2, fulfilled("H_CAUKE")) is True
    entry = board["H_CAUKE"]
    assert entry["status"] == "submitted_on_time"
    assert entry["version"] == 2
    assert entry["due_before"] == DUE_TEXT


def test_the_same_event_twice_changes_nothing_the_second_time():
    board = board_with(("obligation.created", 1, created("H_CAUKE")))
    assert apply_event(board, "obligation.fulfilled", 2, fulfilled("H_CAUKE")) is True
    before = copy.deepcopy(board)
    assert apply_event(board, "obligation.fulfilled", 2, fulfilled("H_CAUKE")) is False
    assert board == before


def test_fulfilled_applied_before_created_ends_fulfilled():
    board = new_board()
    assert apply_event(board, "obligation.fulfilled", 2, fulfilled("H_CAUKE", "submitted_late")) is True
    assert apply_event(board, "obligation.created", 1, created("H_CAUKE")) is False
    assert board["H_CAUKE"]["status"] == "submitted_late"
    assert board["H_CAUKE"]["version"] == 2


def test_an_older_escalation_after_the_fulfilment_leaves_the_board_a_rebuild_makes():
    late = board_with(("obligation.created", 1, created("H_CAUKE")), ("obligation.fulfilled", 3, fulfilled("H_CAUKE")))
    assert apply_event(late, "obligation.escalated", 2, level("H_CAUKE", "escalation_1")) is True
    rebuild = board_with(
        ("obligation.created", 1, created("H_CAUKE")),
        ("obligation.escalated", 2, level("H_CAUKE", "escalation_1")),
        ("obligation.fulfilled", 3, fulfilled("H_CAUKE")),
    )
    assert late == rebuild and late["H_CAUKE"]["status"] == "submitted_on_time"
    again = copy.deepcopy(late)
    assert apply_event(late, "obligation.escalated", 2, level("H_CAUKE", "escalation_1")) is False
    assert late == again


def test_final_status_sticks_against_a_newer_waiver():
    board = board_with(("obligation.created", 1, created("H_CAUKE")), ("obligation.fulfilled", 2, fulfilled("H_CAUKE")))
    apply_event(board, "obligation.waived", 3, {"agency": "H_CAUKE", "period": PERIOD, "reason": "x"})
    assert board["H_CAUKE"]["status"] == "submitted_on_time"


def test_extension_moves_the_deadline_and_generation():
    new_due = local(2019, 6, 21).astimezone(UTC).isoformat()
    board = board_with(
        ("obligation.created", 1, created("H_CAUKE")),
        (
            "obligation.extended",
            2,
            {
                "agency": "H_CAUKE",
                "period": PERIOD,
                "generation": 2,
                "due_before": new_due,
                "effective_from": local(2019, 6, 5).isoformat(),
            },
        ),
    )
    view = view_of(board, local(2019, 6, 15, 9, 0))
    (row,) = view["units"]
    assert (row["status"], row["generation"], row["extended"]) == ("pending", 2, True)
    assert row["due_before"] == "2019-06-21T00:00:00+07:00"  # shown in local time


def test_level_events_set_the_escalation_level():
    board = board_with(("obligation.created", 1, created("H_CAUKE")), ("obligation.overdue", 2, level("H_CAUKE")))
    assert board["H_CAUKE"]["level"] == "overdue"


def three_unit_board() -> dict:
    return board_with(
        ("obligation.created", 1, created("H_CAUKE")),
        ("obligation.created", 1, created("SNV")),
        ("obligation.created", 1, created("VP_UBND")),
        ("obligation.fulfilled", 2, fulfilled("SNV")),
        ("obligation.fulfilled", 2, fulfilled("VP_UBND", "submitted_late", local(2019, 6, 12, 10, 0))),
    )


def test_compliance_view_computes_the_dhis2_figures():
    view = view_of(three_unit_board(), local(2019, 6, 15, 10, 0))
    assert view["EXPECTED_REPORTS"] == 3
    assert view["ACTUAL_REPORTS"] == 2
    assert view["ACTUAL_REPORTS_ON_TIME"] == 1
    assert view["REPORTING_RATE"] == 66.7
    assert view["REPORTING_RATE_ON_TIME"] == 33.3
    assert (view["plan"], view["period"]) == (PLAN.id, PERIOD)


def test_compliance_rows_come_in_official_order():
    view = view_of(three_unit_board(), local(2019, 6, 15, 10, 0))
    assert [(r["agency"], r["order"]) for r in view["units"]] == [("VP_UBND", 1), ("SNV", 2), ("H_CAUKE", 24)]
    assert view["units"][2]["name"] == PLAN.unit("H_CAUKE").name


def test_pending_unit_shows_overdue_once_due_before_is_reached():
    board = three_unit_board()
    before = view_of(board, DUE - timedelta(microseconds=1))
    at = view_of(board, DUE)
    assert before["units"][2]["status"] == "pending"
    assert before["units"][2]["days_overdue"] is None
    assert before["overdue"] == []
    assert at["units"][2]["status"] == "overdue"
    assert at["units"][2]["days_overdue"] == 1
    assert [r["agency"] for r in at["overdue"]] == ["H_CAUKE"]


def test_days_overdue_is_the_local_date_minus_the_deadline_day():
    # 01:00 local on 15/6 is still 14/6 in UTC: five local days after the deadline day 10/6.
    now = datetime(2019, 6, 14, 18, 0, tzinfo=UTC)
    view = view_of(three_unit_board(), now)
    assert view["units"][2]["days_overdue"] == 5


def test_submitted_units_are_never_shown_overdue():
    view = view_of(three_unit_board(), local(2019, 7, 1))
    statuses = {r["agency"]: r["status"] for r in view["units"]}
    assert statuses == {"VP_UBND": "submitted_late", "SNV": "submitted_on_time", "H_CAUKE": "overdue"}


def test_waived_unit_is_not_expected():
    board = three_unit_board()
    apply_event(board, "obligation.waived", 2, {"agency": "H_CAUKE", "period": PERIOD, "reason": "x"})
    view = view_of(board, local(2019, 7, 1))
    assert view["EXPECTED_REPORTS"] == 2
    assert view["REPORTING_RATE"] == 100.0
    assert view["REPORTING_RATE_ON_TIME"] == 50.0
    assert view["overdue"] == []


def test_empty_board_has_no_rates():
    view = view_of(new_board(), local(2019, 7, 1))
    assert (view["EXPECTED_REPORTS"], view["REPORTING_RATE"], view["REPORTING_RATE_ON_TIME"]) == (0, None, None)


def test_overdue_list_puts_the_longest_overdue_first():
    board = board_with(
        ("obligation.created", 1, created("H_CAUKE")),
        ("obligation.created", 1, created("SNV")),
        (
            "obligation.extended",
            2,
            {
                "agency": "SNV",
                "period": PERIOD,
                "generation": 2,
                "due_before": local(2019, 6, 14).astimezone(UTC).isoformat(),
                "effective_from": local(2019, 6, 5).isoformat(),
            },
        ),
    )
    view = view_of(board, local(2019, 6, 20, 9, 0))
    assert [(r["agency"], r["days_overdue"]) for r in view["overdue"]] == [("H_CAUKE", 10), ("SNV", 7)]


def test_overdue_level_delivered_before_created_still_shows_the_unit_overdue():
    board = new_board()
    assert apply_event(board, "obligation.overdue", 2, level("H_CAUKE")) is True
    assert apply_event(board, "obligation.created", 1, created("H_CAUKE")) is False
    view = view_of(board, local(2019, 6, 12, 9, 0))
    (row,) = view["units"]
    assert (row["status"], row["days_overdue"]) == ("overdue", 2)
    assert [r["agency"] for r in view["overdue"]] == ["H_CAUKE"]
