"""Aggregator's indicator totals of a period (F11): sums per content area, unit type and unit (plain Python).

Words used here: a *report* is the latest revision's content of one unit for one period, as intake stores it
(every template field present, null where the unit left it blank); a *derived* indicator (`derived: true` in
the catalogue) is never entered: it is recomputed from its formula at every level.

Rules of DOMAIN.md §4, and how this module keeps them:
- Flows are summed across units; stocks are taken at the period's end. Every report already speaks of its own
  period's end, and `period_totals` takes the reports of ONE period, so a stock is only ever added across units
  at the same instant, never across periods.
- The yearly figure is what the yearly reports say: `period_totals(plan, "2019-FY", fy_reports)` reads the FY
  reports only; there is no way to feed it quarters, so it can never be a sum of quarters (nor Q2 be H1 − Q1).
- A blank (null) value is "not reported": left out of the sum and counted in `missing`, never read as 0.
- Percentages are recomputed from summed parts, never averaged.
- "Units that stand out" are suggested by ratios, not raw counts (`suggest_standouts`); Sở Nội vụ chooses.

Modules: `formula` (the catalogue's formula syntax: tokenizer, parser, exact evaluator), `sums` (a period's
totals per content area, unit type and unit), `standouts` (ratios suggesting units that stand out).
"""
