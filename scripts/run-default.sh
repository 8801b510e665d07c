#!/usr/bin/env bash
# One command on a fresh machine: set up .venv, run the default (quick) benchmark, and leave
# the results JSON and the HTML report in reports/. Extra arguments go to `bench run`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv_gb=0; [ -x .venv/bin/python ] || venv_gb=8  # .venv 7.0 GB with every extra, 2026-12-04
bash scripts/check-disk.sh "the default benchmark" ".venv:$venv_gb:.venv" "${XDG_CACHE_HOME:-$HOME/.cache}/bench:1:exports and reports"
BENCH_EXTRAS=${BENCH_EXTRAS:-all} source scripts/setup.sh
exec .venv/bin/bench run -o reports "$@"
