#!/bin/sh
# The images' entrypoint: `bench` as the owner of the mounted /reports folder.
#
# Started as root (compose.yaml's default), it runs bench as the user and group that own
# /reports on the host, so results and the report belong to whoever ran `docker compose run`;
# started as another user (`--user`, BENCH_UID) it runs bench as that user. No arguments, or
# arguments starting with '-', mean `bench run --out /reports ARGS` (`compose run bench -- -m resnet18`).
set -eu
# `docker compose run bench -- ARGS` hands the `--` on: it only separates compose's options.
if [ "${1:-}" = "--" ]; then
    shift
fi
if [ "$#" = 0 ] || [ "${1#-}" != "$1" ]; then
    set -- run --out /reports "$@"
fi
if [ "$(id -u)" = 0 ] && [ -d /reports ]; then
    uid=$(stat -c %u /reports)
    gid=$(stat -c %g /reports)
    if [ "$uid" != 0 ]; then
        exec setpriv --reuid "$uid" --regid "$gid" --clear-groups -- bench "$@"
    fi
fi
exec bench "$@"
