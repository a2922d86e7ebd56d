#!/usr/bin/env bash
# make bench: install the peers into bench/.venv-peers (with our own requirements), then run every
# benchmark and write bench/RESULTS.md and bench/replay_growth.png. Extra arguments go to python -m bench.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv-peers
STAMP=$VENV/.installed
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ bench/requirements-bench.txt -nt "$STAMP" ] || [ requirements.txt -nt "$STAMP" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements-bench.txt
    touch "$STAMP"
fi
exec "$VENV/bin/python" -m bench "$@"
