#!/usr/bin/env bash
# Sets up Synapse with its test dependencies and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test,opt,serve,torch,train
exec .venv/bin/python -m pytest "$@"
