#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the browser tests (tests/browser/).
# Idempotent: does nothing when /usr/bin/chromium is already there.
# Needs root (or sudo) and access to the Debian package mirror; downloads no browser
# builds from anywhere else.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: installing chromium needs root (run as root or install sudo)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# fonts-dejavu-core: the report uses the system font stack; without any font the
# screenshot would be tofu. --no-install-recommends keeps the install small.
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core ca-certificates

if [ ! -x /usr/bin/chromium ]; then
    echo "error: apt-get finished but /usr/bin/chromium is missing" >&2
    exit 1
fi
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
