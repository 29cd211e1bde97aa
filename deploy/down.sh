#!/usr/bin/env bash
# Stops what deploy/run.sh started: the services, the SMTP server, FerretDB, PostgreSQL and this checkout's
# RabbitMQ node (never a server another checkout or the system started).
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [[ -x "$ROOT/.venv/bin/dvcq" ]]; then
    ensure_secret # the CLI reads its settings even to stop
    "$ROOT/.venv/bin/dvcq" stack down || dvcq_log "dvcq stack down failed; stopping the rest anyway"
fi
stop_stack_deps
rm -f "$DVCQ_RUN/stack.env"
dvcq_log "stopped"
