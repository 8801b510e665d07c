#!/usr/bin/env bash
# Create .venv and install the suite with everything it measures with (idempotent: re-installs
# only when pyproject.toml changed). Sourced by run-default.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${BENCH_EXTRAS:-all,test}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $($PY --version)"
    "$PY" -m venv .venv
fi
stamp=.venv/.bench-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $EXTRAS"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing bench-suite[$EXTRAS] into .venv (first time: several minutes)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    # x86_64: torch 2.14.1 + torchvision 0.29.1 is the tested pair; arm64 (Raspberry Pi) takes
    # the matching CPU wheels. Other platforms take what pip resolves.
    case "$(uname -m)" in
        x86_64) pins=(torch==2.14.1 torchvision==0.29.1) ;;
        aarch64) pins=(torch==2.9.1 torchvision==0.24.1) ;;
        *) pins=() ;;
    esac
    .venv/bin/python -m pip install --quiet "${pins[@]}" -e ".[$EXTRAS]"
    echo "$want" > "$stamp"
fi
export ORT_DISABLE_TELEMETRY=1
