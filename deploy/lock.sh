#!/usr/bin/env bash
# Regenerates the lock files from pyproject.toml's pins (README "Dependencies"): requirements.lock (what the
# services run: the Dockerfile installs it) and requirements-test.lock (that and the test extra: the venv of
# deploy/run.sh and deploy/test.sh), every transitive dependency pinned with its hashes, for Python 3.11 on
# Linux x86_64. Pins already in a lock are kept; `deploy/lock.sh --upgrade` (or `--upgrade-package NAME`) moves them.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

DVCQ_UV_VERSION="0.13.8"
tools="$DVCQ_VAR/tools"
if [[ "$("$tools/bin/uv" --version 2>/dev/null || true)" != "uv $DVCQ_UV_VERSION"* ]]; then
    dvcq_log "installing uv $DVCQ_UV_VERSION into $tools"
    python3 -m venv "$tools" || dvcq_die "could not create $tools"
    "$tools/bin/python" -m pip install -q --disable-pip-version-check "uv==$DVCQ_UV_VERSION" ||
        dvcq_die "pip install uv==$DVCQ_UV_VERSION failed"
fi

# lock OUTPUT [ARGS...]: resolve pyproject.toml into OUTPUT.
lock() {
    local output=$1
    shift
    "$tools/bin/uv" pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
        --python-platform x86_64-unknown-linux-gnu --custom-compile-command deploy/lock.sh -o "$output" "$@"
    dvcq_log "wrote $output"
}

lock requirements.lock "$@"
lock requirements-test.lock --extra test "$@"
