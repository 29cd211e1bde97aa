"""`dvcq user create --agency` knows the units Sở Nội vụ published (services/intake/cli.py `_latest_plan`): the
scheduler's latest version when it answers for the same plan, the plan file otherwise."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from services.intake import cli
from shared.clients import SchedulerClient, ServiceError
from shared.plan import load_plan
from shared.plan_versions import unit_json
from shared.settings import ROOT, Settings

BASE = load_plan(ROOT / "plans" / "tra-vinh-2019")
SETTINGS = Settings.from_env({"DVCQ_SECRET": "s" * 40, "SCHEDULER_URL": "http://127.0.0.1:9"})
NEW = replace(BASE.units[0], code="S_MOI", name="Sở Mới", valid_from=date(2019, 7, 1), valid_until=None, order=99)


def test_a_unit_of_the_latest_published_version_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Any] = []

    def versions(self: SchedulerClient, token: str, *, plan: str | None = None) -> list[dict[str, Any]]:
        asked.append(plan)
        return [{"number": 1}, {"number": 2}]

    def version(self: SchedulerClient, token: str, number: int) -> dict[str, Any]:
        asked.append(number)
        return {"units": [unit_json(u) for u in (*BASE.units, NEW)]}

    monkeypatch.setattr(SchedulerClient, "plan_versions", versions)
    monkeypatch.setattr(SchedulerClient, "plan_version", version)
    plan = cli._latest_plan(SETTINGS)
    assert asked == ["tra-vinh-2019", 2]
    assert plan.unit("S_MOI") is not None and BASE.unit("S_MOI") is None


def test_the_plan_file_when_the_scheduler_does_not_answer() -> None:
    assert cli._latest_plan(SETTINGS) is BASE  # nothing listens on port 9


def test_the_plan_file_when_nothing_is_published(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SchedulerClient, "plan_versions", lambda self, token, plan=None: [])
    assert cli._latest_plan(SETTINGS) is BASE


def test_a_scheduler_running_another_plan_is_not_asked_for_units(monkeypatch: pytest.MonkeyPatch) -> None:
    paths: list[str] = []

    def answer(self: SchedulerClient, method: str, path: str, token: str, **kwargs: Any) -> dict[str, Any]:
        paths.append(path)
        return {"plan": "vinh-long-2026", "items": [{"number": 1}]}

    monkeypatch.setattr(SchedulerClient, "json", answer)
    assert cli._latest_plan(SETTINGS) is BASE
    assert paths == ["/api/v1/plan/versions"]
    with pytest.raises(ServiceError):
        SchedulerClient("http://x").plan_versions("t", plan="tra-vinh-2019")
