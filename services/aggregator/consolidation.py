"""A period's consolidated data (F12) from the aggregator's read models: the board, the reports, the totals.

Pure mapping, no I/O: what the documents show is decided here, so the archive can keep exactly these inputs
beside the bytes made from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any

from services.aggregator.documents import model as doc
from services.aggregator.totals.standouts import StandoutRatio
from services.aggregator.totals.sums import PeriodTotals, indicator_values
from shared.formatting import vn_figure
from shared.plan import Plan
from shared.timerules import local_date, parse_instant

# Sections II-IV of a unit's report (intake's content) and where each goes in the consolidated report.
TEXT_SECTIONS = (
    ("strengths", ("assessment", "strengths")),
    ("difficulties", ("assessment", "limitations")),
    ("causes", ("assessment", "causes")),
    ("next_tasks", ("next_tasks",)),
    ("recommendations", ("recommendations",)),
)


def _text(content: Mapping[str, Any], path: tuple[str, ...]) -> str:
    value: Any = content
    for step in path:
        value = value.get(step) if isinstance(value, Mapping) else None
    return " ".join(str(value).split()) if isinstance(value, str) else ""


def standout_reason(agency: str, suggestions: Sequence[StandoutRatio]) -> str:
    """Why a unit stands out, from the ratios it ranks in (the best rank first): "Tỷ lệ ...: 95,5%"."""
    found = [
        (c.rank, s.label, c.value) for s in suggestions for c in s.candidates if c.agency == agency and c.rank <= 3
    ]
    return "; ".join(f"{label}: {vn_figure(value, '%')}" for _, label, value in sorted(found)) or ""


def consolidated_data(
    plan: Plan,
    period_key: str,
    *,
    board: Mapping[str, Any],
    reports: Mapping[str, Any],
    totals: PeriodTotals,
    suggestions: Sequence[StandoutRatio] = (),
    chosen: Sequence[tuple[str, str | None]] = (),
    now: datetime,
) -> doc.ConsolidatedData:
    """The consolidated data of a period as the board shows it at `now`.

    `board` is the compliance view (`domain.compliance_view`), `reports` each unit's latest revision
    (`{agency: {"content": ...}}`), `totals` the indicator totals; `chosen` the units that stand out as Sở Nội
    vụ picked them (agency, reason or None for the reason the suggestions give). Annex I has one row per
    expected unit in official order with its figures (derived ones as the totals computed them), blank where
    not reported; Annex II the units received late and those still overdue.
    """
    period = plan.period(period_key)
    assert period is not None
    rows = [r for r in board["units"] if r["status"] not in ("waived", "closed_by_reorganisation")]
    by_agency = {r["agency"]: r for r in board["units"]}
    derived = {(line.key, u.agency): u.value for line in totals.lines() if line.derived for u in line.by_unit}
    summed = {line.key for line in totals.lines()}
    columns = doc.indicator_columns(i for i in plan.indicators if i.key in summed)
    annex = []
    for row in rows:
        content = (reports.get(row["agency"]) or {}).get("content") or {}
        values = dict(indicator_values(content))
        annex.append(
            doc.UnitRow(
                name=row["name"],
                code=row["agency"],
                values={c.key: _figure(c.key, row["agency"], values, derived) for c in columns},
            )
        )
    texts: dict[str, list[doc.UnitText]] = {name: [] for name, _ in TEXT_SECTIONS}
    for row in rows:
        content = (reports.get(row["agency"]) or {}).get("content") or {}
        for name, path in TEXT_SECTIONS:
            if text := _text(content, path):
                texts[name].append(doc.UnitText(unit=row["name"], text=text))
    return doc.ConsolidatedData(
        plan_title=plan.title,
        plan_issuer=plan.issuer,
        plan_issued_on=plan.issued_on,
        period_key=period_key,
        period_name=_period_words(period.name),
        year=local_date(now).year,  # of the blank date line ("ngày … tháng … năm …"): the year it is issued
        compliance=doc.ComplianceFigures(
            expected=board["EXPECTED_REPORTS"], actual=board["ACTUAL_REPORTS"], on_time=board["ACTUAL_REPORTS_ON_TIME"]
        ),
        deadline_day=period.deadline_day,
        as_of=local_date(now),
        data_window=period.data_window,
        estimate_note=plan.estimate_note or None,
        areas=tuple(
            doc.AreaTotals(
                number=area.area,
                name=area.name,
                rows=tuple(doc.TotalRow(line.label, line.unit, line.total, line.previous) for line in area.indicators),
            )
            for area in totals.areas
        ),
        standouts=tuple(
            doc.Standout(name=by_agency[agency]["name"], reason=reason or standout_reason(agency, suggestions))
            for agency, reason in chosen
            if agency in by_agency
        ),
        strengths=tuple(texts["strengths"]),
        difficulties=tuple(texts["difficulties"]),
        causes=tuple(texts["causes"]),
        next_tasks=tuple(texts["next_tasks"]),
        recommendations=tuple(texts["recommendations"]),
        annex_columns=columns,
        annex_rows=tuple(annex),
        late=tuple(
            doc.LateUnit(r["name"], local_date(parse_instant(r["received_at"])), int(r["days_late"] or 0))
            for r in rows
            if r["status"] == "submitted_late"
        ),
        missing=tuple(
            doc.MissingUnit(r["name"], int(r["days_overdue"] or 0)) for r in rows if r["status"] == "overdue"
        ),
    )


def _figure(key: str, agency: str, values: Mapping[str, Any], derived: Mapping[tuple[str, str], Any]) -> Any:
    """A unit's figure in Annex I: a derived one as the totals computed it, an entered number as entered, else
    None (blank: not reported)."""
    if (key, agency) in derived:
        return derived[key, agency]
    value = values.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _period_words(name: str) -> str:
    """ "Báo cáo 6 tháng đầu năm 2019" → "6 tháng đầu năm 2019" (the documents' subject says "báo cáo" itself)."""
    return name[len("Báo cáo ") :] if name.startswith("Báo cáo ") else name


def snapshot(value: Any) -> Any:
    """The data a document was made from as plain JSON-able values (dates ISO), for the archive."""
    if is_dataclass(value) and not isinstance(value, type):
        return snapshot(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): snapshot(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [snapshot(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
