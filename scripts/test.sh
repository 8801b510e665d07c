#!/usr/bin/env bash
# One command on a fresh machine: set up .venv, install and start what the tests need
# (headless Chromium, a Docker engine and a local base image), run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Disk first, so that a small disk stops here in one paragraph, not 20 minutes in with ENOSPC.
# Measured 2026-12-04 (a whole fresh-clone run): .venv 7.0 GB, the tests' temporary files 3.3 GB
# at their peak before the registry test dropped its exports, the full x86 image 7.1 GB.
venv_gb=0; [ -x .venv/bin/python ] || venv_gb=8
image_gb=0
if [ $# -eq 0 ] && ! docker image inspect bench:x86-full >/dev/null 2>&1; then image_gb=8; fi
docker_root=$(docker info -f '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)
bash scripts/check-disk.sh "the tests" ".venv:$venv_gb:.venv" \
    "${TMPDIR:-/tmp}/pytest-of-$(id -un):4:the tests' temporary files" "$docker_root:$image_gb:the full x86 image"
source scripts/setup.sh
if [ -f scripts/install-chromium.sh ]; then
    bash scripts/install-chromium.sh || echo "warning: Chromium could not be installed; browser tests will fail under CI=true (skip otherwise)"
fi
if [ -f scripts/start-docker.sh ]; then
    bash scripts/start-docker.sh || echo "warning: no Docker engine could be started; container tests will fail under CI=true (skip otherwise)"
fi
base_ok=0
if [ -f scripts/make-base-image.sh ]; then
    bash scripts/make-base-image.sh && base_ok=1 || echo "warning: no local base image; image build tests will fail"
fi
# The whole suite builds the full x86 image (PyPI's CUDA torch: ~9 min cold, mostly downloading
# and unpacking). Start that build now, beside the tests; tests/docker/test_full_image.py (run
# last) waits for it and reports its time and size. Only for a whole-suite run.
if [ $# -eq 0 ] && [ "$base_ok" = 1 ] && [ "${BENCH_PREBUILD_FULL:-1}" = 1 ] && docker info >/dev/null 2>&1; then
    prebuild=$(mktemp -d "${TMPDIR:-/tmp}/bench-prebuild.XXXXXX")
    (
        start=$(date +%s)
        rc=0
        env BENCH_VARIANT=full BENCH_BASE=bench-base:bookworm BENCH_TORCH_INDEX_URL=https://pypi.org/simple \
            docker compose build bench > "$prebuild/build.log" 2>&1 || rc=$?
        echo "$rc $(( $(date +%s) - start ))" > "$prebuild/status.tmp" && mv "$prebuild/status.tmp" "$prebuild/status"
    ) &
    export BENCH_FULL_IMAGE_PREBUILD="$prebuild"
    echo "==> building the full x86 image in the background (log: $prebuild/build.log)"
fi
# The type checker first (zero errors over suite/, strict on run/, backends/, results/, metrics/;
# configured in pyproject.toml), for a whole-suite run; then the tests, whatever it said.
mypy_rc=0
if [ $# -eq 0 ]; then
    echo "==> mypy (pyproject.toml [tool.mypy])"
    .venv/bin/python -m mypy || mypy_rc=$?
fi
test_rc=0
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=40 "$@" || test_rc=$?
if [ "$mypy_rc" != 0 ]; then
    echo "mypy found type errors (above): the test command fails" >&2
    [ "$test_rc" != 0 ] || test_rc=$mypy_rc
fi
exit "$test_rc"
