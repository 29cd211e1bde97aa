"""JSON logs carry the correlation id; failpoints exit at their named point; `dvcq token create` signs tokens;
the services plug their own commands into `dvcq`."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys

import pytest

from shared.auth import verify_token
from shared.cli import build_parser, main
from shared.logs import JsonFormatter, correlation
from shared.settings import ROOT

SECRET = "s" * 40


def test_a_log_line_is_one_json_object_with_the_correlation_id_and_extra_fields() -> None:
    record = logging.LogRecord("dvcq.test", logging.INFO, __file__, 1, "đã nhận báo cáo %s", ("H_CAUKE",), None)
    record.event_id = "e-1"
    with correlation("req-42"):
        line = JsonFormatter("intake").format(record)
    out = json.loads(line)
    assert out["msg"] == "đã nhận báo cáo H_CAUKE"
    assert out["correlation_id"] == "req-42" and out["service"] == "intake" and out["event_id"] == "e-1"
    assert "đã" in line  # UTF-8 kept readable, not escaped


@pytest.mark.parametrize(
    ("armed", "code"), [("here", 86), ("elsewhere", 0), ("here:report.submitted", 86), ("here:report.amended", 0)]
)
def test_a_failpoint_exits_only_when_named(armed: str, code: int) -> None:
    script = "from shared.failpoints import failpoint\nfailpoint('here', 'report.submitted')\nprint('after')"
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"DVCQ_FAILPOINT": armed, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == code
    assert ("after" in proc.stdout) is (code == 0)


@pytest.mark.parametrize(
    ("armed", "code"),
    [("here:event:1", 86), ("here:event:2", 0), ("here", 86), ("elsewhere:event:1", 0)],
)
def test_a_failpoint_with_a_key_exits_only_for_that_key(armed: str, code: int) -> None:
    script = "from shared.failpoints import failpoint\nfailpoint('here', key='event:1')\nprint('after')"
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"DVCQ_FAILPOINT": armed, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == code, proc.stderr


def test_token_create_prints_a_token_every_service_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DVCQ_SECRET", SECRET)
    assert main(["token", "create", "--role", "agency", "--agency", "H_CAUKE", "--sub", "canbo@cauke"]) == 0
    principal = verify_token(SECRET, capsys.readouterr().out.strip())
    assert (principal.sub, principal.role, principal.agency) == ("canbo@cauke", "agency", "H_CAUKE")


def test_token_create_refuses_an_agency_role_without_a_unit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DVCQ_SECRET", SECRET)
    assert main(["token", "create", "--role", "agency"]) == 1
    assert "agency" in capsys.readouterr().err


def test_the_services_add_their_own_commands_to_dvcq() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    shared = {"token", "stack", "broker", "dlq", "replay"}
    assert set(sub.choices) == shared | {"user", "clock", "rebuild-read-models"}  # intake, scheduler, aggregator
    args = build_parser().parse_args(["user", "create", "--email", "a@b.example", "--agency", "H_CAUKE"])
    assert args.func.__module__ == "services.intake.cli"
    assert build_parser().parse_args(["clock", "show"]).func.__module__ == "services.scheduler.cli"
    assert build_parser().parse_args(["rebuild-read-models"]).func.__module__ == "services.aggregator.cli"
    assert build_parser().parse_args(["dlq", "list", "--queue", "notifier"]).queue == "notifier"
