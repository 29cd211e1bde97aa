#!/usr/bin/env bash
# Starts the whole local stack (README "run"): this checkout's RabbitMQ node, PostgreSQL, FerretDB on it, the SMTP
# server, then the four services. Refuses to start, naming the port and its owner, when another checkout's or the
# system's server holds one of its ports (deploy/lib.sh). `--rabbitmq-cluster` (first argument) runs the stack on
# this checkout's three-node RabbitMQ cluster instead of the single node (README "A RabbitMQ cluster"); the other
# arguments go to `dvcq stack up`.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [[ "${1:-}" == --rabbitmq-cluster ]]; then
    export DVCQ_RABBITMQ_CLUSTER=1
    shift
fi

ensure_stack_deps
# The addresses the stack got, for the CLI in another shell when the ports are not the defaults (README "Run it").
_dvcq_dirs
printf 'export %s=%q\n' AMQP_URL "$AMQP_URL" MONGO_URL "$MONGO_URL" SMTP_URL "$SMTP_URL" \
    RABBITMQ_NODENAME "${RABBITMQ_NODENAME:-}" >"$DVCQ_RUN/stack.env"
# The Trà Vinh 2019 plan runs on the simulated clock (F14); production sets DVCQ_CLOCK=system.
export DVCQ_CLOCK="${DVCQ_CLOCK:-simulation}"

exec dvcq stack up "$@"
