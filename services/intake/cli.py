"""Intake's `dvcq` commands: `dvcq user create` (the accounts people log in with)."""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

from services.intake import handlers
from services.intake.store import MongoUserStore
from shared.auth import ROLES
from shared.plan import load_plans
from shared.plan_follower import PLAN_VERSIONS, PlanFollower
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
    client = connect(settings, app_name="dvcq-cli")
    try:
        db = client[settings.db_name("intake")]
        # the unit lists intake has learnt (shared.plan_follower), so a unit a published version added has an account
        plans = [PlanFollower(p, db[PLAN_VERSIONS]).current() for p in load_plans(settings.plan_paths)]
        plan = next((p for p in plans if args.agency and p.unit(args.agency)), plans[0])  # the unit's plan
        user = handlers.create_user(cmd, users=MongoUserStore(db), plan=plan)
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
