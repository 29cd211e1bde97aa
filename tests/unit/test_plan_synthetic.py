"""The test plan tests/plans/synthetic-300 is what its generator writes, and it has 300 reporting units."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from shared.plan import load_plan

PLAN_DIR = Path(__file__).resolve().parents[1] / "plans" / "synthetic-300"


def test_the_synthetic_plan_is_its_generators_output_with_300_units_due_on_10_june_2025() -> None:
    spec = importlib.util.spec_from_file_location("generate", PLAN_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    assert (PLAN_DIR / "plan.json").read_text(encoding="utf-8") == generate.render()

    plan = load_plan(PLAN_DIR)
    period = plan.period("2025-H1")
    assert period is not None and [p.key for p in plan.obligation_periods()] == ["2025-H1"]
    units = plan.expected_units(period)
    assert len(units) == 300 and len({u.code for u in units}) == 300
    assert all(plan.template_for(u.code, "2025-H1") is not None for u in units)
    assert period.deadline_day.isoformat() == "2025-06-10"
