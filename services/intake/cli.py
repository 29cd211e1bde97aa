"""Intake's `dvcq` commands: `dvcq user create` (the accounts people log in with)."""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

from services.intake import handlers
from services.intake.store import MongoUserStore
from shared.auth import ROLES, issue_token
from shared.clients import SchedulerClient, ServiceError
from shared.plan import Plan, load_plan, unit_from_json
from shared.plan_versions import with_units
from shared.settings import Settings
from shared.store import connect


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


def _latest_plan(settings: Settings) -> Plan:
    """The plan with the latest unit list Sở Nội vụ published (the scheduler keeps the versions), so a unit a version
    added can have its officer's account; the plan file when the scheduler cannot say (not running, another plan):
    then the handler's own refusal of an unknown unit is the one line the person reads."""
    base = load_plan(settings.plan_path)
    token = issue_token(settings.secret, sub="dvcq-cli", role="service", ttl_seconds=60)
    scheduler = SchedulerClient(settings.service_urls["scheduler"])
    try:
        numbers = [int(v["number"]) for v in scheduler.plan_versions(token, plan=base.id)]
        if not numbers:
            return base
        units = [unit_from_json(u) for u in scheduler.plan_version(token, max(numbers))["units"]]
    except (ServiceError, KeyError, TypeError, ValueError):
        return base
    return with_units(base, units)


def _user(args: argparse.Namespace) -> int:
    """Create an account in intake's store (beside the running stack, via MONGO_URL)."""
    settings = Settings.from_env()
    cmd = handlers.CreateUser(
        email=args.email,
        password=_password(args),
        role="agency" if args.agency else args.role,
        agency=args.agency,
        name=args.name,
    )
    plan = load_plan(settings.plan_path)
    if args.agency and plan.unit(args.agency) is None:
        plan = _latest_plan(settings)  # a unit a published version added
    client = connect(settings, app_name="dvcq-cli")
    try:
        user = handlers.create_user(cmd, users=MongoUserStore(client[settings.db_name("intake")]), plan=plan)
    finally:
        client.close()
    unit = f", unit {user.agency}" if user.agency else ""
    print(f"dvcq: account {user.email} created (role {user.role}{unit})")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add intake's commands to the `dvcq` parser."""
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
