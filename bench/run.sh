#!/usr/bin/env bash
# Runs one benchmark against the local store (README "Benchmarks"): bash bench/run.sh scheduler_pass [args]
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/lib.sh"
cd "$ROOT"
name=${1:?usage: bench/run.sh NAME [ARGS...]}
shift
ensure_venv
ensure_ferretdb
exec python -m "bench.$name" "$@"
