#!/usr/bin/env bash
# Starts the whole local stack (README "run"): RabbitMQ, FerretDB, the SMTP server, then the four services.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_stack_deps
# The Trà Vinh 2019 plan runs on the simulated clock (F14); production sets DVCQ_CLOCK=system.
export DVCQ_CLOCK="${DVCQ_CLOCK:-simulation}"

exec dvcq stack up "$@"
