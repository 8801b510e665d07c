#!/usr/bin/env bash
# Let this machine run another architecture's programs, containers and package scripts under
# qemu-user: installs qemu-user-static, mounts binfmt_misc and registers the architecture's
# interpreter with the F flag (opened now, so containers and chroots, another root, use it
# too). Idempotent. Needs root or sudo. Prints the registered interpreter on the last line.
#
#   bash scripts/setup-emulation.sh [--arch arm64]
set -euo pipefail
cd "$(dirname "$0")/.."

ARCH=arm64
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) ARCH=$2; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "setup-emulation.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$ARCH" in
    arm64|aarch64) QEMU=aarch64
        MAGIC=':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F' ;;
    *) echo "setup-emulation.sh: --arch $ARCH: only arm64 is set up here" >&2; exit 2 ;;
esac
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

source scripts/apt-need.sh
apt_need qemu-user-static
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
entry=/proc/sys/fs/binfmt_misc/qemu-$QEMU
if [ ! -e "$entry" ]; then
    # qemu-user-static's own line (binfmt.d), else the same line written out here.
    line=$(grep -h -v '^#' "/usr/lib/binfmt.d/qemu-$QEMU.conf" 2>/dev/null | head -1)
    [ -n "$line" ] || line=$MAGIC
    printf '%s' "$line" | $SUDO tee /proc/sys/fs/binfmt_misc/register >/dev/null
fi
if ! grep -q enabled "$entry"; then
    echo "setup-emulation.sh: the binfmt entry qemu-$QEMU is registered but not enabled ($entry)" >&2
    exit 1
fi
echo "$(sed -n 's/^interpreter //p' "$entry") ($(qemu-$QEMU-static --version | head -1))"
