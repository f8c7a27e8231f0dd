#!/usr/bin/env bash
# Creates .venv (once) and installs Synapse into it in editable mode with the given extras.
# Usage: scripts/setup.sh [EXTRAS]   e.g. scripts/setup.sh test,opt
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-opt}"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=".venv/.synapse-installed-$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
    touch "$stamp"
fi
