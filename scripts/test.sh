#!/usr/bin/env bash
# One command on a fresh machine: set up .venv, install and start what the tests need
# (headless Chromium, a Docker engine and a local base image), run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
if [ -f scripts/install-chromium.sh ]; then
    bash scripts/install-chromium.sh || echo "warning: Chromium could not be installed; browser tests will fail under CI=true (skip otherwise)"
fi
if [ -f scripts/start-docker.sh ]; then
    bash scripts/start-docker.sh || echo "warning: no Docker engine could be started; container tests will fail under CI=true (skip otherwise)"
fi
if [ -f scripts/make-base-image.sh ]; then
    bash scripts/make-base-image.sh || echo "warning: no local base image; image build tests will skip"
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
