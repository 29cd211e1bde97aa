#!/usr/bin/env bash
# The chaos run (README "Chaos"): `dvcq replay` of the 2019 plan year on a stack of its own (RabbitMQ node,
# FerretDB, SMTP server, services) while a random dvcq process is killed every 5-15 s, the broker restarted
# twice and the store once; exits non-zero unless the invariants hold at the end. Arguments go to
# tests/chaos.py (--start, --end, --seed, --broker-restarts, --store-restarts, --kill-min, --kill-max).
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# Its own components like the test command's (tests/support.py's OwnStore needs the PostgreSQL), stopped at the end.
dvcq_use_instance test
dvcq_own_instance
ensure_stack_deps
"$ROOT/.venv/bin/python" -m tests.chaos "$@"
