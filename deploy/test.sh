#!/usr/bin/env bash
# Runs every check (README "test"): lint, formatting, the import contracts, types, then pytest against the real
# broker, store and SMTP: this run's own RabbitMQ node, PostgreSQL, FerretDB and SMTP server (var/test-deps/, free
# ports), stopped when it ends, pass or fail.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

dvcq_use_instance test
dvcq_own_instance
ensure_stack_deps
ensure_chromium
ensure_axe

# run_step NAME COMMAND...: run one check and stop at the first that fails.
run_step() {
    local name=$1 rc=0
    shift
    printf '\n== %s\n' "$name"
    "$@" || rc=$?
    if ((rc == 5)) && [[ "$name" == pytest ]]; then
        printf '\ndvcq test: FAILED: pytest collected no tests\n'
        exit 5
    fi
    if ((rc != 0)); then
        printf '\ndvcq test: FAILED at %s (exit %d)\n' "$name" "$rc"
        exit "$rc"
    fi
}

lint_dirs=()
for dir in shared services tests deploy bench; do
    if [[ -d "$dir" ]]; then
        lint_dirs+=("$dir")
    fi
done

run_step ruff ruff check "${lint_dirs[@]}"
run_step ruff-format ruff format --check "${lint_dirs[@]}"
run_step import-contracts lint-imports
# Strict typing over the files [tool.mypy] names in pyproject.toml (shared/, every domain.py and handlers.py).
run_step mypy mypy
# pytest runs below deploy/reap.py, a subreaper that stops whatever the tests left running when pytest ends
run_step pytest python deploy/reap.py python -m pytest -q -p no:cacheprovider "$@"
printf '\ndvcq test: PASSED (ruff, ruff format, import contracts, mypy, pytest)\n'
