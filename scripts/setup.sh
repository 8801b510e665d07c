#!/usr/bin/env bash
# Create .venv and install the suite with everything it measures with (idempotent: re-installs
# only when pyproject.toml changed). Sourced by run-default.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${BENCH_EXTRAS:-all,executorch,openvino,test}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $($PY --version)"
    "$PY" -m venv .venv
fi
stamp=.venv/.bench-installed
# Re-install when the dependencies or the pinned stack change.
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1) $EXTRAS"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing bench-suite[$EXTRAS] into .venv (first time: several minutes)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    # One pinned stack on every machine and in every image: constraints.txt (its comments list
    # each platform's forced deviations). x86_64 and aarch64 both take torch 2.14.1 from PyPI.
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[$EXTRAS]"
    echo "$want" > "$stamp"
fi
export ORT_DISABLE_TELEMETRY=1
