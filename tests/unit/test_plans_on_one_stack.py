"""Several plans on one stack (issue 14, point 5): `DVCQ_PLAN` names them, `load_plans` refuses two with one id
or one unit code, and the Runtime finds each unit's plan, the plan in force today and each period's plan."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from shared.clock import FixedClock
from shared.events import Event
from shared.plan import PlansConflict, first_issued_at, load_plan, load_plans
from shared.runtime import Runtime
from shared.settings import ROOT, Settings, SettingsError
from shared.timerules import at_local

TRA_VINH, VINH_LONG = ROOT / "plans" / "tra-vinh-2019", ROOT / "plans" / "vinh-long-2026"
SECRET = {"DVCQ_SECRET": "s" * 40}


def test_dvcq_plan_names_several_plan_directories_in_order() -> None:
    conf = Settings.from_env({**SECRET, "DVCQ_PLAN": "plans/tra-vinh-2019, plans/vinh-long-2026"})
    assert conf.plan_paths == (TRA_VINH, VINH_LONG)
    assert Settings.from_env(SECRET).plan_paths == (TRA_VINH,)
    with pytest.raises(SettingsError, match="DVCQ_PLAN"):
        Settings.from_env({**SECRET, "DVCQ_PLAN": " , "})


def test_the_tra_vinh_plan_and_the_merged_province_run_together() -> None:
    plans = load_plans([TRA_VINH, VINH_LONG])
    assert [p.id for p in plans] == ["tra-vinh-2019", "vinh-long-2026"]
    assert first_issued_at(plans[::-1]) == plans[0].issued_at  # the clock starts with the earliest, wherever listed


def _copy(plan_dir: Path, where: Path, **changes: str) -> Path:
    raw = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    raw.update(changes)
    raw["templates"]["indicators"] = str((plan_dir / raw["templates"]["indicators"]).resolve())
    where.mkdir()
    (where / "plan.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return where


def test_two_plans_with_one_id_or_one_unit_code_are_refused(tmp_path: Path) -> None:
    merger = ROOT / "tests" / "plans" / "merger-2025"
    same_id = _copy(merger, tmp_path / "same-id")
    with pytest.raises(PlansConflict, match="one id"):
        load_plans([merger, same_id])
    same_units = _copy(merger, tmp_path / "same-units", id="another-2025")
    with pytest.raises(PlansConflict, match="Unit SNV is in plans merger-2025 and another-2025"):
        load_plans([merger, same_units])


def _runtime(on: date) -> Runtime:
    plans = load_plans([TRA_VINH, VINH_LONG])
    conf = Settings.from_env({**SECRET, "DVCQ_PLAN": f"{TRA_VINH},{VINH_LONG}"})
    return Runtime("scheduler", conf, None, plans, FixedClock(at_local(on, 9, 0)), None, follows_versions=False)  # type: ignore[arg-type]


def test_the_plan_in_force_today_is_the_last_listed_that_has_taken_effect() -> None:
    assert _runtime(date(2024, 5, 1)).plan.id == "tra-vinh-2019"
    assert _runtime(date(2026, 5, 1)).plan.id == "vinh-long-2026"
    assert _runtime(date(2026, 5, 1)).plan_named("tra-vinh-2019") is not None
    assert _runtime(date(2026, 5, 1)).plan_named("khong-co") is None


def test_a_unit_reports_under_the_plan_that_lists_it_whatever_the_day() -> None:
    rt = _runtime(date(2026, 5, 1))
    commune = next(u.code for u in load_plan(VINH_LONG).units if u.code.startswith("X_"))
    assert rt.plan_of("H_CAUKE").id == "tra-vinh-2019" and rt.plan_of(commune).id == "vinh-long-2026"
    assert rt.unit_plan_for("H_CAUKE", "2019-H1").id == "tra-vinh-2019"
    assert rt.plan_of("KHONG_CO").id == "vinh-long-2026"  # an unknown code: the plan in force today
    assert rt.plan_of_event(_event("obligation.overdue", agency="H_CAUKE")).id == "tra-vinh-2019"
    assert rt.plan_of_event(_event("unit.changed", code=commune)).id == "vinh-long-2026"  # a unit's own event
    assert rt.plan_of_event(_event("clock.watermark")).id == "vinh-long-2026"  # no unit: the plan in force


def _event(type_: str, **data: str) -> Event:
    return Event(type_, "subject", 1, data, "scheduler", at_local(date(2026, 5, 1), 9, 0))


def test_a_period_is_read_in_the_plan_named_else_in_the_plan_that_has_it() -> None:
    rt = _runtime(date(2026, 5, 1))
    assert rt.plan_for("2019-H1").id == "tra-vinh-2019"  # not a period of today's plan
    assert rt.plan_for("2026-Q1").id == "vinh-long-2026"
    assert rt.plan_for("2026-Q1", "tra-vinh-2019").id == "tra-vinh-2019"  # named: that plan, whatever it has
