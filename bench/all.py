"""Every benchmark of SPEC "Non-functional targets" in one run, printed as one table (README "Benchmarks").

Each benchmark module runs as its own process (`python -m bench.<name> ...`, JSON on stdout) against the store
and broker that `bench/run.sh all` started for this run, at sizes chosen to keep the whole run under 20 minutes;
where a size is smaller than the SPEC asks, the table's "size" column says so. Each figure stands beside a
baseline measured in the same run, with the ratio figure / baseline and the goal, met or missed.
Run: `bash bench/run.sh all [--json | --json-file PATH] [--only NAME ...] [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.settings import ROOT


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, its baseline from the same run, their ratio and the goal."""

    figure: str
    size: str
    value: float | None
    unit: str
    baseline: str
    baseline_value: float | None
    goal: str
    met: bool | None  # None: the SPEC gives no goal for this figure (or it could not be measured)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline_value:
            return None
        return round(self.value / self.baseline_value, 3)


# name -> (arguments, timeout in seconds); sizes picked for a 2-core machine (see the README's table)
COMPLIANCE_UNITS = 10_000
SCHEDULER_UNITS, SCHEDULER_PERIODS = 10_000, 10
PAGE_UNITS = 1_000
# name -> (module, arguments, timeout in seconds); sizes picked for a 2-core machine (see the README's table)
BENCHMARKS: dict[str, tuple[str, list[str], float]] = {
    "stack_load": ("stack_load", [], 600),
    "compliance_query": (
        "compliance_query",
        ["--units", str(COMPLIANCE_UNITS), "--repeat", "40", "--seconds", "15"],
        480,
    ),
    "board_page": (
        "compliance_query",
        ["--units", str(PAGE_UNITS), "--repeat", "40", "--seconds", "15", "--page-html"],
        300,
    ),
    "scheduler_pass": ("scheduler_pass", ["--units", str(SCHEDULER_UNITS), "--periods", str(SCHEDULER_PERIODS)], 900),
    "sender": ("sender", ["--notifications", "600"], 600),
    "replay": ("replay", [], 900),
}

QUICK = {
    "stack_load": ["--revisions", "8", "--inserts", "200"],
    "compliance_query": ["--units", "100", "--repeat", "20", "--seconds", "2", "--no-http"],
    "board_page": ["--units", "100", "--repeat", "5", "--seconds", "2"],
    "scheduler_pass": ["--units", "100", "--periods", "2"],
    "sender": ["--notifications", "40"],
    "replay": ["--start", "2019-06-01", "--end", "2019-06-20", "--walk-days", "3"],
}


def run_module(name: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run `bench.<name>` as a process and return its JSON, or {"error": ...} when it failed."""
    started = time.monotonic()
    print(f"[bench] {name} {' '.join(args)}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", f"bench.{name}", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    print(f"[bench] {name} took {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    try:
        out: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"error": f"exit {done.returncode}: {(done.stderr or done.stdout)[-1500:]}"}
    if done.returncode != 0:
        out["error"] = f"exit {done.returncode}: {done.stderr[-500:]}"
    return out


def compliance_rows(r: dict[str, Any]) -> list[Row]:
    """The compliance query's p95 beside the bare find of the board's rows."""
    size = f"{r['units']:,} units (SPEC: 10,000)" if r["units"] < 10_000 else f"{r['units']:,} units"
    base = r["baseline_find_board_rows_ms"]["p95"]
    rows = [
        Row("compliance: the board's view in process (every row and the five figures), p95", size,
            r["query_ms"]["p95"], "ms", "find({board}) of the rows, p95", base, "< 50 ms",
            r["query_ms"]["p95"] < 50),
    ]  # fmt: skip
    if r.get("http_gunicorn_ms"):
        http = r["http_gunicorn_ms"]["p95"]
        rows.append(
            Row("compliance: GET /api/v1/compliance (the figures, 50 rows), one gunicorn worker, p95", size, http, "ms",
                "find({board}) of the rows, p95", base, "< 50 ms", http < 50)
        )  # fmt: skip
    return rows


def board_page_rows(r: dict[str, Any]) -> list[Row]:
    """The board page's HTML over HTTP beside the bare find of the board's rows."""
    page = r["http_gunicorn_ms"]["board_page_html"]["p95"]
    return [
        Row("compliance: the board page HTML (GET /periods/<period>), one gunicorn worker, p95",
            f"{r['units']:,} units", page, "ms", "find({board}) of the rows, p95",
            r["baseline_find_board_rows_ms"]["p95"], "< 300 ms", page < 300),
    ]  # fmt: skip


def sender_rows(r: dict[str, Any]) -> list[Row]:
    """The senders' delivery rate beside the transport's own rate to the same SMTP server."""
    rate = r["deliveries_per_second"]
    return [
        Row(f"sender: deliveries per second to the local SMTP server, {r['senders']} senders",
            f"{r['notifications']} e-mails", rate, "/s", f"SmtpTransport.send alone, {r['senders']} threads",
            r["baseline_transport_sends_per_second"], "-", None),
    ]  # fmt: skip


def replay_rows(r: dict[str, Any]) -> list[Row]:
    """The replay's wall time beside the clock walk alone over as many days."""
    return [
        Row("replay: `dvcq replay` of the plan year, wall time", f"{r['days']} simulated days, 2019 plan",
            r["replay_seconds"], "s", f"the clock walk alone ({r['walk_seconds_per_day']} s/day x days)",
            r["baseline_walk_seconds"], "-", None),
    ]  # fmt: skip


def scheduler_rows(r: dict[str, Any]) -> list[Row]:
    """The scheduler's pass and idle tick beside the full-read pass of the same data."""
    size = f"{r['obligations']:,} obligations, {r['due']:,} due"
    if r["obligations"] < 100_000:
        size += " (SPEC: 100,000 and 10,000)"
    base = r["baseline_full_read_seconds"]
    # the store's per-document floor: the design's own read of the due obligations by `_id $in`, per document
    read = r["design_steps_seconds"].get("read due obligations")
    floor_note = f"; store floor {read / r['due'] * 1000:.2f} ms/document (`_id $in` read)" if read else ""
    return [
        Row(f"scheduler: the pass with everything due{floor_note}", size, r["design_agenda_seconds"], "s",
            "full-read pass (every obligation and transition)", base, "< 5 s", r["design_agenda_seconds"] < 5),
        Row("scheduler: the idle tick (nothing new in its window)", size, r["idle_pass_seconds"] * 1000, "ms",
            "full-read pass", base * 1000, "< 50 ms", r["idle_pass_seconds"] * 1000 < 50),
    ]  # fmt: skip


def stack_rows(r: dict[str, Any]) -> list[Row]:
    """Intake throughput, corrections, submission to board and peak RSS, from one running stack."""
    rows: list[Row] = []
    load = r.get("intake")
    if load:
        size = f"{load['clients']} clients, {load['reports']} first reports ({r['plan']})"
        rate, raw = load["reports_per_second"], load["store_inserts_per_second"]
        rows += [
            Row("intake: first reports accepted per second through gunicorn", size, rate, "/s",
                f"store's raw insert_one/s, {load['clients']} clients", raw, "ratio >= 0.7",
                rate / raw >= 0.7 if raw else None),
            Row("intake: POST latency p50", size, load["latency_ms"]["p50"], "ms", "insert_one p50",
                load["store_insert_ms"]["p50"], "-", None),
            Row("intake: POST latency p99", size, load["latency_ms"]["p99"], "ms", "insert_one p99",
                load["store_insert_ms"]["p99"], "-", None),
        ]  # fmt: skip
    board = r.get("submission_to_board")
    if board:
        rows.append(
            Row("submission -> visible on the board under that load, p99", f"{board['n']} reports, polled "
                f"every {board['poll_seconds']} s", board["p99"], "ms", "p50", board["p50"], "< 1 s",
                board["p99"] < 1000)
        )  # fmt: skip
    put = r.get("corrections")
    if put and "error" in put:
        raise ValueError(f"corrections: {put['error']}")
    if put:
        ratio = put["late_ms"]["p50"] / put["early_ms"]["p50"]
        rows.append(
            Row(f"corrections: PUT at revisions {put['late']}, p50", f"{put['units']} unit(s), one client",
                put["late_ms"]["p50"], "ms", f"PUT at revisions {put['early']}, p50", put["early_ms"]["p50"],
                "the same (ratio <= 1.25)", ratio <= 1.25)
        )  # fmt: skip
    rss = r.get("peak_rss")
    if rss:
        worst = max(rss["processes"].items(), key=lambda kv: kv[1])
        rows.append(
            Row(f"peak RSS (VmHWM), largest of {len(rss['processes'])} processes: {worst[0]}", "after the load",
                worst[1], "MB", "a bare python interpreter", rss["bare_python_mb"], "< 150 MB", worst[1] < 150)
        )  # fmt: skip
    return rows


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "stack_load": stack_rows,
    "compliance_query": compliance_rows,
    "board_page": board_page_rows,
    "scheduler_pass": scheduler_rows,
    "sender": sender_rows,
    "replay": replay_rows,
}


def fmt(x: float | None) -> str:
    """A figure for the table: thousands separated, three significant digits below 100."""
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def table(rows: list[Row], errors: dict[str, str]) -> str:
    """The Markdown table (and one line per benchmark that failed)."""
    lines = [
        "| figure | size | value | baseline (same run) | ratio | goal | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        met = "-" if row.met is None else ("met" if row.met else "missed")
        lines.append(
            f"| {row.figure} | {row.size} | {fmt(row.value)} {row.unit} | {row.baseline}: "
            f"{fmt(row.baseline_value)} {row.unit} | {fmt(row.ratio)} | {row.goal} | {met} |"
        )
    lines += [f"\n{name}: FAILED ({error})" for name, error in errors.items()]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmarks, print the table (or JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the rows and every benchmark's JSON")
    parser.add_argument("--json-file", type=Path, help="print the table and write that JSON to this file")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the driver (figures meaningless)")
    args = parser.parse_args()
    started, load_before = time.monotonic(), os.getloadavg()
    results: dict[str, dict[str, Any]] = {}
    rows: list[Row] = []
    errors: dict[str, str] = {}
    for name, (module, bench_args, timeout) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        result = results[name] = run_module(module, bench_args + (QUICK[name] if args.quick else []), timeout)
        if "error" in result:
            errors[name] = result["error"]
        try:
            rows += ROWS[name](result)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            errors.setdefault(name, f"no figures: {exc!r}")
    store = next((r["store"] for r in results.values() if r.get("store")), "?")
    header = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {store}, load average "
        f"{load_before[0]:.1f} before and {os.getloadavg()[0]:.1f} after, {time.monotonic() - started:.0f} s in all"
    )
    out = {"run": header, "rows": [{**asdict(r), "ratio": r.ratio} for r in rows], "errors": errors}
    text = json.dumps({**out, "results": results}, ensure_ascii=False, indent=2)
    if args.json_file:
        args.json_file.write_text(text, encoding="utf-8")
    if args.json:
        print(text)
    else:
        print(f"{header}\n\n{table(rows, errors)}")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
