"""Units that stand out: ranked by ratios over the catalogue's indicators (suggestions; Sở Nội vụ chooses)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.aggregator.totals.formula import parse_formula
from services.aggregator.totals.sums import Number, PeriodTotals

# --- units that stand out ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """A ratio units are compared by: a catalogue key and a formula over catalogue indicators."""

    key: str
    label: str
    formula: str


# Models recognised per registered has no derived line in the catalogue; it is defined here over the catalogue's
# own parts. It may exceed 100%: models registered in an earlier period are recognised later (a warning rule).
DVK_RATIO = Ratio(
    key="dvk_ty_le_cong_nhan",
    label="Tỷ lệ mô hình, điển hình 'Dân vận khéo' được công nhận trên số đăng ký",
    formula="dvk_cong_nhan / (dvk_dang_ky_tap_the + dvk_dang_ky_ca_nhan) * 100",
)
STANDOUT_RATIOS: tuple[str | Ratio, ...] = ("tthc_ty_le_dung_truoc_han", "ty_le_giai_quyet_kntc", DVK_RATIO)


@dataclass(frozen=True)
class StandoutCandidate:
    """A unit in a ratio's ranking: its rank (ties share one), the ratio, both sides of it and the parts."""

    rank: int
    agency: str
    name: str
    order: int | None
    type: str
    value: float
    numerator: float
    denominator: float
    parts: tuple[tuple[str, Number], ...]


@dataclass(frozen=True)
class StandoutRatio:
    """One ratio's suggestions, best first; `excluded` are the units left out (a part blank or absent, or a
    denominator of 0 or under the minimum), in official order."""

    key: str
    label: str
    formula: str
    candidates: tuple[StandoutCandidate, ...]
    excluded: tuple[str, ...]


def _ratio(totals: PeriodTotals, spec: str | Ratio) -> Ratio | None:
    if isinstance(spec, Ratio):
        return spec
    try:
        line = totals.indicator(spec)
    except KeyError:
        return None
    return Ratio(line.key, line.label, line.formula) if line.formula else None


def suggest_standouts(
    totals: PeriodTotals,
    *,
    ratios: Iterable[str | Ratio] = STANDOUT_RATIOS,
    min_denominator: Number = 1,
) -> tuple[StandoutRatio, ...]:
    """Units ranked by each ratio of DOMAIN.md §4 (on-time dossiers, complaints resolved, models recognised per
    registered), for Sở Nội vụ to choose from; raw counts would favour large units.

    A catalogue key names a derived indicator and its formula; a ratio whose key or parts the period's totals
    lack is skipped. A unit is excluded when a part is blank or its report absent, or when the denominator is
    0 (no ratio) or under `min_denominator` (one dossier on time is not 100% worth praising). Order: the ratio
    descending, then the larger denominator (more work behind the same rate), then the official order.
    """
    out = []
    for spec in ratios:
        ratio = _ratio(totals, spec)
        if ratio is None:
            continue
        formula = parse_formula(ratio.formula)
        try:
            parts = {k: totals.indicator(k) for k in formula.names}
        except KeyError:
            continue
        rows = {k: {r.agency: r for r in line.by_unit} for k, line in parts.items()}
        units = [r for r in parts[formula.names[0]].by_unit if all(r.agency in rows[k] for k in formula.names)]
        ranked, excluded = [], []
        for unit in units:
            values = {k: rows[k][unit.agency].value for k in formula.names}
            sides = formula.numerator_denominator(values)
            value = formula.evaluate(values)
            if sides is None or value is None or sides[1] == 0 or sides[1] < min_denominator:
                excluded.append(unit.agency)
                continue
            ranked.append((unit, value, sides, tuple((k, v) for k, v in values.items() if v is not None)))
        ranked.sort(key=lambda item: (-item[1], -item[2][1], item[0].order is None, item[0].order or 0))
        candidates = []
        for index, (unit, value, (num, den), values) in enumerate(ranked):
            rank = candidates[-1].rank if candidates and candidates[-1].value == value else index + 1
            candidates.append(
                StandoutCandidate(rank, unit.agency, unit.name, unit.order, unit.type, value, num, den, values)
            )
        out.append(StandoutRatio(ratio.key, ratio.label, ratio.formula, tuple(candidates), tuple(excluded)))
    return tuple(out)
