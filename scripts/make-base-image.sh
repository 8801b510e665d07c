#!/usr/bin/env bash
# Make a local Debian bookworm base image with Python, for machines that cannot pull images.
#
#   bash scripts/make-base-image.sh [--tag bench-base:bookworm] [--force]
#   bash scripts/make-base-image.sh --arch arm64 --tag bench-base:bookworm-arm64
#       # another architecture's base, for builds under qemu-user-static: installs mmdebstrap,
#       # arch-test and qemu-user-static and registers binfmt (scripts/setup-emulation.sh) when
#       # missing. ~3-6 min: package scripts run emulated.
#
# The Dockerfiles start `ARG BASE=<public image>` / `FROM ${BASE}`; tests and CI build them with
# `--build-arg BASE=bench-base:bookworm`. The image is made with mmdebstrap from the same Debian
# mirror this machine's apt uses, and trusts the same CA certificates as this machine, so that
# pip inside a build reaches the package index through whatever TLS interception the network
# does. Cached: an existing image with the tag is kept unless --force. Uses DOCKER_HOST if set.
# Prints the tag on the last line.
set -euo pipefail

TAG=bench-base:bookworm
FORCE=0
SUITE=bookworm
ARCH=""
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) TAG=$2; shift 2 ;;
        --force) FORCE=1; shift ;;
        --arch) ARCH=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "make-base-image.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ "$FORCE" = 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "$TAG"
    exit 0
fi

cd "$(dirname "$0")/.."
# Everything it needs, on a fresh machine too (--no-install-recommends: each one named). Another
# architecture: mmdebstrap refuses it without arch-test ("E: install arch-test for foreign
# architecture support"), and its package scripts run under qemu-user through binfmt_misc.
source scripts/apt-need.sh
apt_need mmdebstrap
if [ -n "$ARCH" ] && [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
    apt_need arch-test
    bash scripts/setup-emulation.sh --arch "$ARCH" >/dev/null
fi

# The mirror: this machine's own Debian sources (deb822 or one-line), or the public mirror.
mirrors=()
if [ -n "${BENCH_DEBIAN_MIRROR:-}" ]; then
    mirrors=("deb $BENCH_DEBIAN_MIRROR $SUITE main")
elif [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirrors=(/etc/apt/sources.list.d/debian.sources)
elif [ -s /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
    mirrors=(/etc/apt/sources.list)
else
    mirrors=("deb http://deb.debian.org/debian $SUITE main")
fi

# Extra CA certificates this machine trusts (a TLS-intercepting proxy's, a company's):
# copied in and added to the image's bundle.
ca_dir=/usr/local/share/ca-certificates
hooks=()
if compgen -G "$ca_dir/*.crt" >/dev/null; then
    hooks+=(--customize-hook="mkdir -p \"\$1$ca_dir\" && cp $ca_dir/*.crt \"\$1$ca_dir/\" && chroot \"\$1\" update-ca-certificates >/dev/null")
fi
# Keep the image small: no apt lists, no docs.
hooks+=(--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/*')

start=$(date +%s)
if [ -n "$ARCH" ]; then
    # `docker import` cannot mark an image with another platform on every engine: build it
    # FROM scratch with --platform instead (the NOTES' recipe).
    ctx=$(mktemp -d)
    trap 'rm -rf "$ctx"' EXIT
    mmdebstrap --quiet --variant=minbase --arch="$ARCH" \
        --include=python3,python3-venv,python3-pip,ca-certificates \
        "${hooks[@]}" \
        "$SUITE" "$ctx/rootfs.tar" "${mirrors[@]}"
    cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
ADD rootfs.tar /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
DOCKERFILE
    docker build --quiet --platform "linux/$ARCH" -t "$TAG" "$ctx" >/dev/null
    echo "make-base-image.sh: built $TAG ($ARCH) in $(( $(date +%s) - start ))s" >&2
    echo "$TAG"
    exit 0
fi
mmdebstrap --quiet --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates \
    "${hooks[@]}" \
    "$SUITE" - "${mirrors[@]}" \
  | docker import \
      --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
      --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
      --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
      --change 'CMD ["python3"]' \
      - "$TAG" >/dev/null
echo "make-base-image.sh: built $TAG in $(( $(date +%s) - start ))s" >&2
echo "$TAG"
