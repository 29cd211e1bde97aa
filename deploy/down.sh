#!/usr/bin/env bash
# Stops what deploy/run.sh started: the services, the SMTP server, FerretDB, and RabbitMQ if dvcq started it.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [[ -x "$ROOT/.venv/bin/dvcq" ]]; then
    ensure_secret # the CLI reads its settings even to stop
    "$ROOT/.venv/bin/dvcq" stack down || dvcq_log "dvcq stack down failed; stopping the rest anyway"
fi
stop_pidfile smtp
stop_pidfile ferretdb

marker="$DVCQ_VAR/run/rabbitmq.started-by-dvcq"
if [[ -f "$marker" ]]; then
    _dvcq_sbin_on_path
    dvcq_log "stopping RabbitMQ (started by dvcq)"
    _dvcq_as_root rabbitmqctl -q stop || dvcq_log "rabbitmqctl stop failed (already stopped?)"
    rm -f "$marker"
fi
dvcq_log "stopped"
