"""The scheduler's `dvcq` commands: `dvcq clock show|set` (the simulated clock, through its endpoint)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import requests

from shared.auth import issue_token
from shared.settings import Settings


def _clock(args: argparse.Namespace) -> int:
    """Show or set the simulated clock through the scheduler's clock endpoint."""
    settings = Settings.from_env()
    token = issue_token(settings.secret, sub="dvcq-cli", role="admin", ttl_seconds=300)
    url = f"{settings.service_urls['scheduler']}/api/v1/clock"
    headers = {"Authorization": f"Bearer {token}"}
    if args.action == "set":
        resp = requests.post(url, json={"now": args.now, "rate": args.rate}, headers=headers, timeout=10)
    else:
        resp = requests.get(url, headers=headers, timeout=10)
    print(json.dumps(resp.json(), ensure_ascii=False, indent=2))
    return 0 if resp.ok else 1


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the scheduler's commands to the `dvcq` parser."""
    clock = sub.add_parser("clock", help="the simulated clock (through the scheduler's endpoint)")
    clock.add_argument("action", choices=("show", "set"))
    clock.add_argument("now", nargs="?", help="ISO 8601 instant with offset, e.g. 2019-06-10T08:00:00+07:00")
    clock.add_argument("--rate", type=float, default=0.0, help="simulated seconds per real second (0 = frozen)")
    clock.set_defaults(func=_clock)
