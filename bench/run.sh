#!/usr/bin/env bash
# Runs the benchmarks (README "Benchmarks"). `bash bench/run.sh all [--json]`: every benchmark in one go, one table,
# on this run's own RabbitMQ node, PostgreSQL, FerretDB and SMTP server (the test instance's way: free ports, state
# under var/bench/test-deps/, all stopped when the run ends, pass or fail; nothing another checkout started is used).
# `bash bench/run.sh NAME [ARGS...]`: one benchmark module against the run instance's store, JSON on stdout.
set -euo pipefail
if [[ "${1:-}" == all ]]; then
    # state of its own, apart from the test command's var/test-deps/ (which would stop this run's components)
    DVCQ_VAR="${DVCQ_VAR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)/var/bench}"
    export DVCQ_VAR
fi
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/lib.sh"
cd "$ROOT"
name=${1:?usage: bench/run.sh all [--json] | bench/run.sh NAME [ARGS...]}
shift
if [[ "$name" == all ]]; then
    dvcq_use_instance test
    dvcq_own_instance
    ensure_stack_deps
    python -m bench.all "$@" # not exec: the EXIT trap stops the components
    exit
fi
ensure_venv
ensure_ferretdb
exec python -m "bench.$name" "$@"
