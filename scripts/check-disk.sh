#!/usr/bin/env bash
# Stop at once, in one paragraph, when the disk cannot hold what the next steps will write, rather
# than minutes later with "No space left on device" in the middle of a test or a pip install.
#
#   bash scripts/check-disk.sh "WHAT" PATH:GB[:LABEL] ...
#
# Each PATH:GB says "GB (GiB) more will be written under PATH" (PATH need not exist yet). Needs on the
# same filesystem are added up before they are compared with its free space. Exit 0 when all fit,
# 2 otherwise. BENCH_DISK_CHECK=0 skips the check (say, on a disk you know is large enough).
set -euo pipefail
what=$1; shift
if [ "${BENCH_DISK_CHECK:-1}" = 0 ]; then
    exit 0
fi
declare -A need free labels
for spec in "$@"; do
    IFS=: read -r path gb label <<< "$spec"
    [ "$gb" = 0 ] && continue
    probe=$path
    while [ ! -e "$probe" ]; do probe=$(dirname "$probe"); done
    dev=$(stat -c %d "$probe")
    need[$dev]=$(( ${need[$dev]:-0} + gb ))
    free[$dev]=$(df -P -k "$probe" | awk 'NR==2 {print int($4 / 1024)}')  # MiB, rounded down (-BG rounds up)
    labels[$dev]="${labels[$dev]:+${labels[$dev]}, }${label:-$path} ${gb} GB"
done
short=""
for dev in "${!need[@]}"; do
    if [ $(( ${need[$dev]} * 1024 )) -gt "${free[$dev]}" ]; then
        short="$short ${need[$dev]} GB needed (${labels[$dev]}) where $(awk "BEGIN {printf \"%.1f\", ${free[$dev]} / 1024}") GB are free;"
    fi
done
if [ -n "$short" ]; then
    echo "error: not enough disk for $what:${short%;}. Free some space (old clones, \`docker image prune\`," \
         "\`docker builder prune\`, /tmp/pytest-of-$(id -un)) or set TMPDIR to a larger disk, then run it again;" \
         "BENCH_DISK_CHECK=0 skips this check." >&2
    exit 2
fi
