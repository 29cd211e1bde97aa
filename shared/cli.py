"""The `dvcq` command line: tokens, the local stack, the broker, dead letters, the replay; each registered
service adds its own commands (shared.registry: accounts, the simulated clock, the read models' rebuild)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.auth import ROLES, issue_token
from shared.registry import services
from shared.settings import ROOT, Settings

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


def _stack_dirs() -> tuple[Path, Path]:
    """The run and log directories of the local stack (DVCQ_RUN_DIR names another stack's, e.g. a test's)."""
    if os.environ.get("DVCQ_RUN_DIR"):
        run_dir = Path(os.environ["DVCQ_RUN_DIR"])
        return run_dir, run_dir.parent / "log"
    return VAR / "run" / "stack", VAR / "log"


def _stack(args: argparse.Namespace) -> int:
    from shared.edge import edge_from_env
    from shared.procs import Stack, process_alive, process_report, read_state, run_supervisor, supervisor_pid

    settings = Settings.from_env()  # fail fast on a missing variable before starting anything
    run_dir, log_dir = _stack_dirs()
    edge = edge_from_env()
    stack = Stack(dict(os.environ), run_dir, log_dir, edge=edge)
    if args.action == "supervise":
        run_supervisor(stack)
        return 0
    if args.action == "down":
        _stop_supervisor(run_dir)
        stack.stop()
        print("dvcq: services stopped")
        return 0
    if args.action == "status":
        report = process_report(run_dir)
        # the daemon's pid file, else whoever wrote the state (a test process supervising its own stack)
        watcher = supervisor_pid(run_dir) or read_state(run_dir).get("supervisor_pid")
        if watcher and not process_alive(int(watcher)):
            watcher = None
        if args.json:
            print(json.dumps({"supervisor_pid": watcher, "processes": report}, ensure_ascii=False))
            return 0
        for name in stack.table:
            pid = stack.pid(name)
            seen = report.get(name) or {}
            line = f"{name:22} {'running pid ' + str(pid) if pid else 'stopped':18} restarts {seen.get('restarts', 0)}"
            if seen.get("last_exit"):
                line += f"  last exit {seen['last_exit']['code']} at {seen['last_exit']['at']}"
            if seen.get("crash_loop"):
                line += "  CRASH LOOP"
            print(line)
        if not watcher:
            print("dvcq: no supervisor is running (`dvcq stack up` starts one); exited processes stay down")
        return 0
    _upgrade_broker()
    missing = [name for name in stack.table if not stack.pid(name)]
    if len(missing) < len(stack.table):
        print(f"dvcq: {len(stack.table) - len(missing)} processes already running; `deploy/down.sh` stops them")
    if supervisor_pid(run_dir) is None:
        run_dir.mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)
        out = open(log_dir / "supervisor.log", "ab")  # noqa: SIM115 - handed to the child
        subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "stack", "supervise"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
    stack.wait_ready(timeout=90)
    print(f"\ndvcq is up (plans: {', '.join(p.name for p in settings.plan_paths)}, clock: {settings.clock_mode})")
    print(f"\n  Open {edge.url}/   (every page and API; http://{edge.host}:{edge.http_port}/ redirects there)")
    print(f"  Its certificate is from the stack's local CA: accept it in the browser, or trust {edge.root_certificate}")
    print("\nEach service on its own port (probes, metrics, API descriptions):")
    for svc in services():
        url = stack.url(svc.name)
        print(f"  {svc.name:11} {url}/   (health {url}/readyz, API {url}/openapi.json)")
    print("\nA token for the Sở Nội vụ specialist (use it as 'Authorization: Bearer <token>'):")
    print("  .venv/bin/dvcq token create --role home_affairs --sub chuyenvien@snv")
    print("A district officer's token:  .venv/bin/dvcq token create --role agency --agency H_CAUKE")
    for svc in services():
        if svc.banner:
            print(svc.banner.format(url=edge.url))  # its routes are at the one address
    print(f"Logs: {log_dir}   Status: .venv/bin/dvcq stack status   Stop: deploy/down.sh")
    return 0


def _stop_supervisor(run_dir: Path) -> None:
    """SIGTERM the stack's supervisor (it stops every process it started) and wait until it has exited."""
    from shared.procs import supervisor_pid

    pid = supervisor_pid(run_dir)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while supervisor_pid(run_dir) == pid and time.monotonic() < deadline:
        time.sleep(0.2)


def _upgrade_broker() -> dict[str, int]:
    from shared.messaging import upgrade_queues

    moved = upgrade_queues(Settings.from_env())
    for queue, count in moved.items():
        print(f"dvcq: old queue {queue} drained ({count} messages moved) and deleted")
    return moved


def _broker(args: argparse.Namespace) -> int:
    if not _upgrade_broker():
        print("dvcq: the broker's queues are current; nothing to upgrade")
    return 0


def _consumers() -> list[str]:
    """The services that consume events (each has a work queue and a dead-letter queue)."""
    return [svc.name for svc in services() if svc.consumer is not None]


def _dlq(args: argparse.Namespace) -> int:
    from shared.messaging import read_dead_letters, settle_dead_letters
    from shared.topology import queue_for

    settings = Settings.from_env()
    if args.action == "list":
        for service in [args.queue] if args.queue else _consumers():
            letters = read_dead_letters(settings, service, limit=args.limit)
            if args.json:
                for letter in letters:
                    print(json.dumps(letter.summary(), ensure_ascii=False))
                continue
            print(f"{queue_for(service).dead_letter_queue}: {len(letters)} message(s)")
            for letter in letters:
                row = letter.summary()
                print(
                    f"  {row['id'] or '-'}  {row['type'] or '-'}  {row['reason']}  {row['died_at']}  {row['bytes']} B"
                )
        return 0
    if not args.queue:
        raise ValueError(f"dlq {args.action} needs --queue")
    wanted = set(args.ids or [])
    if args.action == "show":
        if not wanted:
            raise ValueError("dlq show needs --id")
        letters = [x for x in read_dead_letters(settings, args.queue, limit=args.limit) if x.message_id in wanted]
        for letter in letters:
            print(json.dumps({**letter.summary(), "headers": letter.headers}, ensure_ascii=False, default=str))
            print(letter.body[:65536].decode("utf-8", errors="replace"))
        return 0 if letters else 1
    if not wanted and not args.all:
        raise ValueError(f"dlq {args.action} needs --id (repeatable) or --all")
    done = settle_dead_letters(
        settings, args.queue, lambda x: args.all or x.message_id in wanted, replay=args.action == "replay"
    )
    verb = "replayed to " + queue_for(args.queue).queue if args.action == "replay" else "dropped"
    for letter in done:
        print(f"dvcq: {letter.message_id or '-'} {verb}")
    missing = wanted - {x.message_id for x in done}
    if missing:
        print(f"dvcq: not in {queue_for(args.queue).dead_letter_queue}: {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    return 0


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

    stack = sub.add_parser("stack", help="the local stack's service processes, kept running by a supervisor")
    stack.add_argument(
        "action",
        choices=("up", "down", "status", "supervise"),
        help="supervise: run the supervisor in the foreground (`up` starts it in the background)",
    )
    stack.add_argument("--json", action="store_true", help="status as JSON")
    stack.set_defaults(func=_stack)

    broker = sub.add_parser("broker", help="the broker's topology")
    broker.add_argument(
        "action", choices=("upgrade",), help="move what is left in older queue versions into the current ones"
    )
    broker.set_defaults(func=_broker)

    dlq = sub.add_parser("dlq", help="dead-letter queues: list, show, replay or drop what consumers refused")
    dlq.add_argument("action", choices=("list", "show", "replay", "drop"))
    dlq.add_argument("--queue", choices=_consumers(), help="the consuming service (list: every one by default)")
    dlq.add_argument("--id", action="append", dest="ids", help="a message (event) id; repeatable")
    dlq.add_argument("--all", action="store_true", help="replay or drop every message of the queue")
    dlq.add_argument("--limit", type=int, default=1000, help="list and show read at most this many messages")
    dlq.add_argument("--json", action="store_true", help="list: one JSON object per message")
    dlq.set_defaults(func=_dlq)

    replay = sub.add_parser("replay", help="replay the plan year on the running local stack (a demo)")
    replay.add_argument("--start", default="2019-03-14", help="first simulated day (YYYY-MM-DD)")
    replay.add_argument("--end", default="2019-12-31", help="last simulated day (YYYY-MM-DD)")
    replay.add_argument("--pause", type=float, default=0.0, help="real seconds to wait after each simulated day")
    replay.add_argument("--seed", type=int, default=2019, help="seed of the synthetic units' behaviour")
    replay.set_defaults(func=_replay)
    for svc in services():
        if svc.commands is not None:
            importlib.import_module(svc.commands).register(sub)
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
