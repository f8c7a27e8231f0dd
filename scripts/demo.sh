#!/usr/bin/env bash
# Sets up Synapse and runs the demo: compiles and runs every program in examples/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh opt
exec .venv/bin/syn demo "$@"
