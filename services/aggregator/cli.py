"""The aggregator's `dvcq` commands: `dvcq rebuild-read-models`."""

from __future__ import annotations

import argparse
from typing import Any

from services.aggregator import handlers
from services.aggregator.bootstrap import build_dependencies
from shared.auth import issue_token
from shared.events import Event
from shared.replay import event_feed
from shared.settings import Settings

# The producers whose event feeds hold what the read models are built from.
PRODUCERS = ("intake", "scheduler")


def _rebuild(args: argparse.Namespace) -> int:
    """Rebuild the board and the reports from the producers' feeds (writes beside the running stack)."""
    settings = Settings.from_env()
    headers = {"Authorization": "Bearer " + issue_token(settings.secret, sub="rebuild@dvcq", role="service")}
    events = [
        Event.from_dict({k: v for k, v in item.items() if k != "cursor"})
        for producer in PRODUCERS
        for item in event_feed(settings.service_urls[producer], headers)
    ]
    d = build_dependencies(settings)
    d.ensure_indexes()
    counts = handlers.rebuild(events, boards=d.boards, reports=d.reports, closings=d.closings, plan=d.rt.plan_of_event)
    done = f"{counts['boards']} periods, {counts['rows']} rows on the board"
    print(f"dvcq: read models rebuilt from {counts['events']} events ({done})")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the aggregator's commands to the `dvcq` parser."""
    rebuild = sub.add_parser(
        "rebuild-read-models",
        help="rebuild the aggregator's board and reports from the producers' event feeds (stop its consumer first)",
    )
    rebuild.set_defaults(func=_rebuild)
