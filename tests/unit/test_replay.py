"""The replay demo's synthetic units: reproducible behaviour, and bodies intake's schema accepts."""

from __future__ import annotations

import random

from services.intake.schemas import build_report_schema, load_report
from shared.plan import load_plan
from shared.replay import _behaviour, _body
from shared.settings import ROOT

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")


def test_behaviour_is_fixed_by_the_seed_and_mostly_on_time() -> None:
    assert [_behaviour(random.Random(7)) for _ in range(3)] == [_behaviour(random.Random(7)) for _ in range(3)]
    rng = random.Random(2019)
    sample = [_behaviour(rng) for _ in range(1000)]
    on_time = sum(1 for d in sample if d is not None and d <= 0)
    never = sum(1 for d in sample if d is None)
    assert 600 < on_time < 800 and 50 < never < 150


def test_synthetic_reports_pass_the_units_template() -> None:
    for agency, period in (("H_CAUKE", "2019-H1"), ("DAI_PTTH", "2019-FY"), ("TTR", "2019-STAFF")):
        template = PLAN.template_for(agency, period)
        assert template is not None
        load_report(build_report_schema(template), _body(agency, period))
