#!/usr/bin/env bash
# One command on a fresh machine: set up .venv, run the default (quick) benchmark, and leave
# the results JSON and the HTML report in reports/. Extra arguments go to `bench run`.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_EXTRAS=${BENCH_EXTRAS:-all} source scripts/setup.sh
exec .venv/bin/bench run -o reports "$@"
