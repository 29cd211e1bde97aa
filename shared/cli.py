"""The `dvcq` command line: tokens, accounts, the local stack, the simulated clock."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

import requests

from shared.auth import ROLES, issue_token
from shared.settings import ROOT, SERVICES, Settings

VAR = ROOT / "var"


def _token(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    token = issue_token(
        settings.secret,
        sub=args.sub or (f"{args.role}@{args.agency}" if args.agency else f"{args.role}@dvcq"),
        role=args.role,
        agency=args.agency,
        ttl_seconds=args.ttl or settings.token_ttl_seconds,
    )
    print(token)
    return 0


def _password(args: argparse.Namespace) -> str:
    """--password, else DVCQ_USER_PASSWORD, else asked twice on the terminal."""
    if args.password:
        return str(args.password)
    if os.environ.get("DVCQ_USER_PASSWORD"):
        return os.environ["DVCQ_USER_PASSWORD"]
    first = getpass.getpass("Mật khẩu: ")
    if getpass.getpass("Nhập lại mật khẩu: ") != first:
        raise ValueError("hai lần nhập mật khẩu không khớp")
    return first


def _user(args: argparse.Namespace) -> int:
    # Imported here: only this command needs intake's store (it writes beside the running stack, via MONGO_URL).
    from services.intake import handlers
    from services.intake.store import MongoUserStore
    from shared.plan import load_plan
    from shared.store import connect

    settings = Settings.from_env()
    cmd = handlers.CreateUser(
        email=args.email,
        password=_password(args),
        role="agency" if args.agency else args.role,
        agency=args.agency,
        name=args.name,
    )
    client = connect(settings, app_name="dvcq-cli")
    try:
        user = handlers.create_user(
            cmd, users=MongoUserStore(client[settings.db_name("intake")]), plan=load_plan(settings.plan_path)
        )
    finally:
        client.close()
    unit = f", unit {user.agency}" if user.agency else ""
    print(f"dvcq: account {user.email} created (role {user.role}{unit})")
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    # Imported here: only this command needs the aggregator's store (it writes beside the running stack).
    from services.aggregator import handlers
    from services.aggregator.bootstrap import build_dependencies
    from shared.events import Event
    from shared.replay import event_feed

    settings = Settings.from_env()
    headers = {"Authorization": "Bearer " + issue_token(settings.secret, sub="rebuild@dvcq", role="service")}
    events = [
        Event.from_dict({k: v for k, v in item.items() if k != "cursor"})
        for producer in ("intake", "scheduler")
        for item in event_feed(settings.service_urls[producer], headers)
    ]
    d = build_dependencies(settings)
    counts = handlers.rebuild(events, boards=d.boards, reports=d.reports, closings=d.closings, plan=d.rt.plan)
    print(f"dvcq: read models rebuilt from {counts['events']} events ({counts['boards']} periods on the board)")
    return 0


def _stack(args: argparse.Namespace) -> int:
    from shared.procs import Stack

    settings = Settings.from_env()  # fail fast on a missing variable before starting anything
    stack = Stack(dict(os.environ), VAR / "run" / "stack", VAR / "log")
    if args.action == "down":
        stack.stop()
        print("dvcq: services stopped")
        return 0
    if args.action == "status":
        for name in stack.table:
            pid = stack.pid(name)
            print(f"{name:22} {'running pid ' + str(pid) if pid else 'stopped'}")
        return 0
    missing = [name for name in stack.table if not stack.pid(name)]
    if len(missing) < len(stack.table):
        print(f"dvcq: {len(stack.table) - len(missing)} processes already running; `deploy/down.sh` stops them")
    if missing:
        stack.start(*missing)
    stack.wait_ready(timeout=90)
    print(f"\ndvcq is up (plan: {settings.plan_path.name}, clock: {settings.clock_mode})")
    for svc in SERVICES:
        url = stack.url(svc)
        print(f"  {svc:11} {url}/   (health {url}/readyz, API {url}/openapi.json)")
    print("\nA token for the Sở Nội vụ specialist (use it as 'Authorization: Bearer <token>'):")
    print("  .venv/bin/dvcq token create --role home_affairs --sub chuyenvien@snv")
    print("A district officer's token:  .venv/bin/dvcq token create --role agency --agency H_CAUKE")
    print(
        'Compliance:  curl -H "Authorization: Bearer $TOKEN" '
        f"'{stack.url('aggregator')}/api/v1/compliance?period=2019-H1'"
    )
    print(f"Logs: {VAR / 'log'}   Stop: deploy/down.sh")
    return 0


def _clock(args: argparse.Namespace) -> int:
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


def _replay(args: argparse.Namespace) -> int:
    from datetime import date

    from shared.replay import run_replay

    seconds = run_replay(
        Settings.from_env(),
        start=date.fromisoformat(args.start),
        end=date.fromisoformat(args.end),
        pause=args.pause,
        seed=args.seed,
    )
    print(f"dvcq replay: {args.start} → {args.end} in {seconds:.0f} s of wall time")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `dvcq`."""
    parser = argparse.ArgumentParser(prog="dvcq", description="dvcq: báo cáo công tác dân vận chính quyền")
    sub = parser.add_subparsers(dest="command", required=True)

    token = sub.add_parser("token", help="signed tokens")
    token_sub = token.add_subparsers(dest="action", required=True)
    create = token_sub.add_parser("create", help="print a signed bearer token")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--agency", help="the unit code, for the agency role")
    create.add_argument("--sub", help="the person (e-mail or name); defaults to role@agency")
    create.add_argument("--ttl", type=int, help="lifetime in seconds")
    create.set_defaults(func=_token)

    user = sub.add_parser("user", help="accounts people log in with (stored by intake)")
    user_sub = user.add_subparsers(dest="action", required=True)
    add = user_sub.add_parser(
        "create", help="create an account; the password comes from --password, DVCQ_USER_PASSWORD or a prompt"
    )
    add.add_argument("--email", required=True, help="the login (stored lower-case)")
    whom = add.add_mutually_exclusive_group(required=True)
    whom.add_argument("--agency", help="a reporting unit's code: the account of that unit's officer")
    whom.add_argument("--role", choices=[r for r in ROLES if r != "agency"], help="any other role")
    add.add_argument("--name", help="display name (defaults to the e-mail)")
    add.add_argument("--password", help="at least 8 characters (visible to other local users: prefer the prompt)")
    add.set_defaults(func=_user)

    stack = sub.add_parser("stack", help="the local stack's service processes")
    stack.add_argument("action", choices=("up", "down", "status"))
    stack.set_defaults(func=_stack)

    clock = sub.add_parser("clock", help="the simulated clock (through the scheduler's endpoint)")
    clock.add_argument("action", choices=("show", "set"))
    clock.add_argument("now", nargs="?", help="ISO 8601 instant with offset, e.g. 2019-06-10T08:00:00+07:00")
    clock.add_argument("--rate", type=float, default=0.0, help="simulated seconds per real second (0 = frozen)")
    clock.set_defaults(func=_clock)
    rebuild = sub.add_parser(
        "rebuild-read-models",
        help="rebuild the aggregator's board and reports from the producers' event feeds (stop its consumer first)",
    )
    rebuild.set_defaults(func=_rebuild)
    replay = sub.add_parser("replay", help="replay the plan year on the running local stack (a demo)")
    replay.add_argument("--start", default="2019-03-14", help="first simulated day (YYYY-MM-DD)")
    replay.add_argument("--end", default="2019-12-31", help="last simulated day (YYYY-MM-DD)")
    replay.add_argument("--pause", type=float, default=0.0, help="real seconds to wait after each simulated day")
    replay.add_argument("--seed", type=int, default=2019, help="seed of the synthetic units' behaviour")
    replay.set_defaults(func=_replay)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `dvcq` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:  # the CLI prints one line, not a traceback, for operator errors
        print(f"dvcq: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
