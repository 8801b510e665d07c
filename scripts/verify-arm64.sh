#!/usr/bin/env bash
# Build and run the arm64 image on an x86 machine under emulation (qemu-user-static + binfmt),
# check that the suite knows it runs emulated, exercise Dockerfile.l4t on an arm64 stand-in
# base, and run a fleet across architectures. Slow (tens of minutes on 2 cores: every arm64
# instruction is translated): not part of the default CI run. Its last output and the date are
# recorded in docs/devices.md.
#
#   bash scripts/verify-arm64.sh [--out DIR] [--steps run,l4t,fleet] [--skip-l4t] [--skip-fleet]
#   bash scripts/verify-arm64.sh --base-only   # steps 1-2: what emulation needs, installed where
#                                              # missing, and the arm64 base (minutes, not tens)
#
# Steps 1-4 always run (cached after the first time); --steps picks among 5 (run), 6 (l4t) and
# 7 (fleet): e.g. two invocations in parallel, `--steps run,fleet` and `--steps l4t --out DIR2`
# (start the second once the first has built the image: its build is then cached).
#
# Steps (each prints one "verify-arm64:" line; the first failure stops the script, exit 1):
#   1. the Docker engine, qemu-user-static and the aarch64 binfmt entry (registered if missing);
#   2. an arm64 Debian base with mmdebstrap (scripts/make-base-image.sh --arch arm64);
#   3. Dockerfile.arm64 built for linux/arm64 (constraints.txt: the same stack as everywhere);
#   4. inside it, suite.machine.emulation detects the emulation for real;
#      every `docker run` of the arm64 and L4T images (and the fleet's arm64 host, through
#      hosts.toml's `volumes` and `env`) gets a MIDR_EL1 stand-in per CPU and QEMU_CPU=cortex-a76,
#      see below;
#   5. `bench env` inside it lists the on-device runtimes (ExecuTorch, OpenVINO) as ready, and
#      `bench run -m mobilenet_v3_small -b 1 --backends eager,ort,executorch,openvino` inside it
#      writes a results file whose environment records the emulation and whose every case (each
#      backend ok, parity passed) and comparison carries the `emulated` flag; the report shows
#      the banner;
#   6. (unless --skip-l4t) Dockerfile.l4t built on an L4T stand-in base (a CPU torch where
#      JetPack's would be; tests/docker/l4t-standin, built only when BENCH_L4T_STANDIN is not
#      there yet): constraints, the ORT wheel choice and its fallback, jetson-stats, the non-root
#      user; then the suite's Jetson meter, as that user, against a stand-in jtop service
#      (tests/fixtures/jtop/fake_jtop_service.py, jetson-stats' own server code);
#   7. (unless --skip-fleet) one `bench fleet run` over three engines of this machine: the arm64
#      host (this engine, emulated), an x86 host (a second engine, the image shipped to it) and
#      a host whose engine is stopped while its container runs: one merged report with two
#      devices and the emulation flag on one, the lost host recorded, exit status 1.
# Environment: BENCH_PYTHON (a Python with the suite's dependencies; default .venv/bin/python),
# BENCH_ARM64_BASE, BENCH_ARM64_IMAGE, BENCH_L4T_STANDIN, BENCH_VERIFY_X86_IMAGE (the fleet's
# x86 image, default bench-test:fleet, built here when missing), BENCH_ARM64_WHEELS (the
# wheelhouse folder), BENCH_VERIFY_WHEEL_PORT, BENCH_QEMU_CPU (default cortex-a76).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${BENCH_VERIFY_OUT:-/tmp/bench-verify-arm64}
RUN=1
L4T=1
FLEET=1
BASE_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --skip-l4t) L4T=0; shift ;;
        --skip-fleet) FLEET=0; shift ;;
        --base-only) BASE_ONLY=1; shift ;;
        --steps)
            RUN=0; L4T=0; FLEET=0
            for step in ${2//,/ }; do
                case "$step" in
                    run) RUN=1 ;; l4t) L4T=1 ;; fleet) FLEET=1 ;;
                    *) echo "verify-arm64.sh: unknown step $step (run, l4t, fleet)" >&2; exit 2 ;;
                esac
            done
            shift 2 ;;
        -h|--help) sed -n '2,39p' "$0"; exit 0 ;;
        *) echo "verify-arm64.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
PY=${BENCH_PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
BASE_TAG=${BENCH_ARM64_BASE:-bench-base:bookworm-arm64}
IMAGE=${BENCH_ARM64_IMAGE:-bench:arm64-full}
L4T_STANDIN=${BENCH_L4T_STANDIN:-bench-base:l4t-standin}
L4T_IMAGE=bench:l4t-standin
ENGINE2_DIR=${BENCH_VERIFY_ENGINE2:-/tmp/bench-verify-engine2}
ENGINE2_TCP=${BENCH_VERIFY_ENGINE2_TCP:-127.0.0.1:23761}
ENGINE3_DIR=${BENCH_VERIFY_ENGINE3:-/tmp/bench-verify-engine3}
mkdir -p "$OUT"
T0=$(date +%s)
say() { echo "verify-arm64: [$(( $(date +%s) - T0 ))s] $*"; }
fail() { echo "verify-arm64: FAILED: $*" >&2; exit 1; }
# 1. engine, qemu, binfmt
bash scripts/start-docker.sh >/dev/null || fail "no Docker engine (scripts/start-docker.sh)"
binfmt=$(bash scripts/setup-emulation.sh --arch arm64 | tail -1) || fail "qemu-user-static and binfmt (scripts/setup-emulation.sh)"
say "engine up; binfmt: $binfmt"

# 2. the arm64 base
bash scripts/make-base-image.sh --arch arm64 --tag "$BASE_TAG" >/dev/null
[ "$(docker run --rm --network host --platform linux/arm64 "$BASE_TAG" uname -m)" = aarch64 ] \
    || fail "$BASE_TAG does not run as aarch64"
say "base $BASE_TAG runs as aarch64"
if [ "$BASE_ONLY" = 1 ]; then
    say "done: steps 1-2 (--base-only; $(date -u '+%Y-%m-%d %H:%M') UTC)"
    exit 0
fi

# qemu-user (7.2 here) shows an aarch64 process the x86 host's sysfs, which has no
# /sys/devices/system/cpu/cpuN/regs/identification/midr_el1: torch's oneDNN (xbyak_aarch64)
# reads it on `import torch` and crashes ("Can't open MIDR_EL1 sysfs entry", SIGSEGV). Each CPU
# folder gets a stand-in holding a Cortex-A76's MIDR (a Raspberry Pi 5's) beside a copy of the
# host's topology files, mounted read-only over the host's for every `docker run` of an
# arm64 image (CPU_MOUNTS; the fleet: hosts.toml's `volumes`). A build cannot mount, so no
# Dockerfile RUN step imports torch.
fakecpu="$OUT/fake-cpu"
CPU_MOUNTS=()
CPU_VOLUMES=""
for c in /sys/devices/system/cpu/cpu[0-9]*; do
    n=$(basename "$c")
    mkdir -p "$fakecpu/$n/regs/identification" "$fakecpu/$n/topology"
    echo 0x00000000410fd0b1 > "$fakecpu/$n/regs/identification/midr_el1"
    echo 0x0000000000000000 > "$fakecpu/$n/regs/identification/revidr_el1"
    # The mount hides the rest of the host's CPU folder: its topology is copied in (as a board has
    # it). OpenVINO's thread pool (oneTBB) asks hwloc, which reads it; without it hwloc aborts its
    # discovery and the process dies of SIGSEGV under qemu. Not the host's cache/ folder: x86 cache
    # descriptions under an aarch64 process crash torch's matmul (tried: SIGSEGV, then a hang).
    for f in "$c"/topology/*; do cat "$f" > "$fakecpu/$n/topology/$(basename "$f")" 2>/dev/null || true; done
    CPU_MOUNTS+=(-v "$fakecpu/$n:/sys/devices/system/cpu/$n:ro")
    CPU_VOLUMES+="\"$fakecpu/$n:/sys/devices/system/cpu/$n:ro\", "
done
# qemu's default CPU ("max") advertises SVE, which a Pi 5's Cortex-A76 lacks, and torch's oneDNN
# then takes an SVE path whose results are wrong under qemu 7.2 (random resnet18: 29-47% off
# from torch without oneDNN, and from ONNX Runtime; the ORT parity check fails). QEMU_CPU,
# read by qemu-user from the container's environment, makes the emulated CPU the Cortex-A76 the
# MIDR stand-in names: oneDNN then agrees with both within 1e-6.
QEMU_CPU_MODEL=${BENCH_QEMU_CPU:-cortex-a76}
ARM64_ENV=(-e "QEMU_CPU=$QEMU_CPU_MODEL")
arm64_run() { docker run --rm --network host --platform linux/arm64 "${CPU_MOUNTS[@]}" "${ARM64_ENV[@]}" "$@"; }
say "MIDR_EL1 stand-in (Cortex-A76, 0x410fd0b1) for $(( ${#CPU_MOUNTS[@]} / 2 )) CPU(s) under $fakecpu; QEMU_CPU=$QEMU_CPU_MODEL"

# 3. the arm64 image. PyPI's torch 2.14.1 for aarch64 is a CUDA build: with its nvidia-* wheels
# the big layer is ~3 GB of downloads, slow through an emulated pip. They are downloaded here
# natively (same pins: constraints.txt) and served on loopback to the build (TORCH_INDEX_URL).
# The folder and the index URL stay the same from run to run: the URL is a build argument, part
# of the build cache's key, so a second run reuses the torch layer (25 min under emulation).
wheels=${BENCH_ARM64_WHEELS:-/tmp/bench-arm64-wheels}
mkdir -p "$wheels"
plats=(--platform manylinux2014_aarch64 --platform linux_aarch64)
for v in $(seq 17 36); do plats+=(--platform "manylinux_2_${v}_aarch64"); done
"$PY" -m pip download --quiet --only-binary=:all: "${plats[@]}" --python-version 3.11 --implementation cp \
    -c constraints.txt torch torchvision onnx onnxruntime numpy setuptools -d "$wheels" 2>&1 \
    | grep -v "is ignored" || true
# A PEP 503 index of those wheels (simple/<name>/), the build's TORCH_INDEX_URL.
"$PY" - "$wheels" <<'EOF'
import html, re, sys
from pathlib import Path
d = Path(sys.argv[1])
by = {}
for w in sorted(d.glob("*.whl")):
    by.setdefault(re.sub(r"[-_.]+", "-", w.name.split("-")[0]).lower(), []).append(w.name)
for name, files in by.items():
    page = d / "simple" / name
    page.mkdir(parents=True, exist_ok=True)
    links = "".join(f'<a href="../../{html.escape(f)}">{html.escape(f)}</a>\n' for f in files)
    (page / "index.html").write_text(f"<!doctype html><html><body>\n{links}</body></html>\n")
EOF
port=${BENCH_VERIFY_WHEEL_PORT:-38765}
"$PY" -m http.server "$port" --bind 127.0.0.1 --directory "$wheels" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 1
say "wheelhouse: $(find "$wheels" -name '*.whl' | wc -l) aarch64 wheels, $(du -sh "$wheels" | cut -f1), index http://127.0.0.1:$port/simple"
start=$(date +%s)
docker build --platform linux/arm64 --network host --build-arg BASE="$BASE_TAG" -f Dockerfile.arm64 \
    --build-arg TORCH_INDEX_URL="http://127.0.0.1:$port/simple" \
    -t "$IMAGE" . > "$OUT/build-arm64.log" 2>&1 || { tail -30 "$OUT/build-arm64.log"; fail "arm64 build"; }
size=$(docker image inspect "$IMAGE" --format '{{.Size}}')
say "built $IMAGE in $(( $(date +%s) - start ))s, $(( size / 1000000 )) MB ($(docker image inspect "$IMAGE" --format '{{.Architecture}}'))"

# 4. emulation seen from inside, for real
arm64_run --entrypoint python "$IMAGE" -c '
import platform
from suite.machine.emulation import detect_emulation
e = detect_emulation(platform.machine())
assert e is not None, "emulation NOT detected"
print(platform.machine(), "emulated:", e.describe())' > "$OUT/detect.txt" 2>&1 || { cat "$OUT/detect.txt"; fail "detection"; }
say "inside $IMAGE: $(cat "$OUT/detect.txt")"

# 5. a run inside the emulated container
if [ "$RUN" = 1 ]; then
run_dir="$OUT/run"
rm -rf "$run_dir"; mkdir -p "$run_dir"; chmod 777 "$run_dir"
arm64_run -e COLUMNS=200 "$IMAGE" env > "$OUT/env.txt" 2>&1 || { cat "$OUT/env.txt"; fail "bench env inside $IMAGE"; }
for rt in executorch executorch-int8 openvino; do
    grep -Eq "^│ $rt +│.*│ ready +│" "$OUT/env.txt" || { cat "$OUT/env.txt"; fail "bench env inside $IMAGE: $rt not ready"; }
done
say "bench env inside $IMAGE: $(grep -Eo '(executorch|openvino) [0-9][^ ,│]*' "$OUT/env.txt" | sort -u | paste -sd, -) ready"
start=$(date +%s)
arm64_run -v "$run_dir:/reports" "$IMAGE" \
    run -m mobilenet_v3_small -b 1 --backends eager,ort,executorch,openvino -o /reports > "$OUT/run.log" 2>&1 \
    || { tail -40 "$OUT/run.log"; fail "bench run inside $IMAGE"; }
say "bench run under emulation took $(( $(date +%s) - start ))s; its summary:"
grep -E "mobilenet|EMULATED|(ort|executorch|openvino) .*\[" "$OUT/run.log" | sed 's/^/    /' || true
"$PY" - "$run_dir" <<'EOF' || fail "results check"
import sys
from pathlib import Path
from suite.results.io import load_results
d = Path(sys.argv[1])
(path,) = sorted(d.glob("results-*.json"))
run = load_results(path)
env = run.environment
assert env.machine == "aarch64" and env.emulation, env
assert {c.spec.backend for c in run.cases} == {"eager", "ort", "executorch", "openvino"}, run.cases
for c in run.cases:
    assert c.status == "ok", (c.spec.label, c.status, c.error)
    assert c.spec.backend == "eager" or (c.parity is not None and c.parity.passed), (c.spec.label, c.parity)
    assert any(f.kind == "emulated" and f.severity == "bad" for f in c.flags), c.spec.label
assert run.comparisons and all(any(f.kind == "emulated" for f in k.flags) for k in run.comparisons)
html = (d / "report.html").read_text()
assert 'id="emulated"' in html and "ran under emulation" in html
print(f"verify-arm64: results file {path} ({env.machine}, torch {env.packages.get('torch')}, "
      f"onnxruntime {env.packages.get('onnxruntime')}, executorch {env.packages.get('executorch')}, "
      f"openvino {env.packages.get('openvino')})")
print(f"verify-arm64: environment.emulation = {env.emulation!r}")
for c in run.cases:
    s = c.latency.summary
    print(f"verify-arm64:   {c.spec.backend:10} median {s.median_ms:.1f} ms, parity "
          f"{'-' if c.parity is None else ('passed' if c.parity.passed else 'FAILED')} "
          f"(max abs error {'-' if c.parity is None else format(c.parity.max_abs_error, '.1e')}), flags: "
          + ", ".join(sorted({f.kind for f in c.flags})))
for k in run.comparisons:
    print(f"verify-arm64:   {k.candidate_backend}/{k.baseline_backend} ratio {k.ratio:.2f}, flags: "
          + ", ".join(sorted({f.kind for f in k.flags})))
print(f"verify-arm64: report {d / 'report.html'} carries the emulation banner and the 'emulated' badges")
EOF
fi

# 6. L4T on a stand-in base
if [ "$L4T" = 1 ]; then
    start=$(date +%s)
    if docker image inspect "$L4T_STANDIN" >/dev/null 2>&1; then
        say "L4T stand-in base $L4T_STANDIN already here (torch $(docker run --rm --network host --platform linux/arm64 --entrypoint python3 "$L4T_STANDIN" -c 'from importlib.metadata import version as v; print(v("torch"))')): not rebuilt"
    else
        docker build --platform linux/arm64 --network host --build-arg TORCH_IMAGE="$IMAGE" --build-arg BASE="$BASE_TAG" \
            -t "$L4T_STANDIN" tests/docker/l4t-standin > "$OUT/build-l4t-standin.log" 2>&1 \
            || { tail -30 "$OUT/build-l4t-standin.log"; fail "L4T stand-in base"; }
        say "L4T stand-in base $L4T_STANDIN built from $IMAGE's torch in $(( $(date +%s) - start ))s"
    fi
    start=$(date +%s)
    docker build --platform linux/arm64 --network host --build-arg BASE="$L4T_STANDIN" -f Dockerfile.l4t \
        -t "$L4T_IMAGE" . > "$OUT/build-l4t.log" 2>&1 || { tail -40 "$OUT/build-l4t.log"; fail "Dockerfile.l4t"; }
    say "Dockerfile.l4t built on the stand-in in $(( $(date +%s) - start ))s; ORT wheel: $(arm64_run --entrypoint cat "$L4T_IMAGE" /opt/bench/ort-wheel.txt)"
    sed 's/\x1b\[[0-9;]*m//g' "$OUT/build-l4t.log" | grep -v '^Step' | grep -E "^JetPack torch|^WARNING: no onnxruntime-gpu" \
        | sed 's/^/    /' || true
    arm64_run --entrypoint sh "$L4T_IMAGE" -c '
        echo "user $(id -u):$(id -g)"
        python -c "import torch, onnxruntime, jtop; print(\"torch\", torch.__version__, \"from\", torch.__file__); print(\"onnxruntime\", onnxruntime.__version__, onnxruntime.get_available_providers(), \"jetson-stats\", jtop.__version__); import suite.cli"' \
        > "$OUT/l4t-check.txt" 2>&1 || { cat "$OUT/l4t-check.txt"; fail "the L4T image does not start"; }
    sed 's/^/    /' "$OUT/l4t-check.txt"
    grep -q "^user 1000:" "$OUT/l4t-check.txt" || fail "the L4T image does not run as the non-root user"
    grep -q "from /usr/local/lib/python3.11/dist-packages/torch" "$OUT/l4t-check.txt" \
        || fail "the L4T image's torch is not the base image's (system site-packages)"
    # The jtop path: the suite's Jetson meter, through jetson-stats' own client, as the image's
    # non-root user (by group permission on the socket), against a stand-in jtop service.
    name=bench-verify-jtop-$$
    docker run -d --rm --name "$name" --platform linux/arm64 --network none --user 0 "${CPU_MOUNTS[@]}" "${ARM64_ENV[@]}" \
        -v "$PWD/tests/fixtures/jtop:/jtop:ro" --entrypoint python "$L4T_IMAGE" \
        /jtop/fake_jtop_service.py --seconds 300 --gid 1000 > /dev/null || fail "the stand-in jtop service did not start"
    for _ in $(seq 1 90); do docker exec "$name" test -S /run/jtop.sock 2>/dev/null && break; sleep 2; done
    rc=0
    docker exec --user 1000 "$name" python /jtop/check_jtop_meter.py > "$OUT/jtop-check.txt" 2>&1 || rc=$?
    docker logs "$name" > "$OUT/jtop-service.log" 2>&1 || true
    docker rm -f "$name" >/dev/null 2>&1 || true
    [ "$rc" = 0 ] || { cat "$OUT/jtop-check.txt" "$OUT/jtop-service.log"; fail "the Jetson meter through jtop"; }
    say "$(tail -n 1 "$OUT/jtop-check.txt")"
fi

# 7. a fleet across architectures, with a host that goes away
if [ "$FLEET" = 1 ]; then
    x86_image=${BENCH_VERIFY_X86_IMAGE:-bench-test:fleet}
    if ! docker image inspect "$x86_image" >/dev/null 2>&1; then
        # As tests/docker's fixtures make it: the ONNX-Runtime-only x86 image with a small .onnx
        # model inside (the second engine cannot see this machine's files).
        ctx=$(mktemp -d)
        bash scripts/make-base-image.sh >/dev/null
        PYTHONPATH=$PWD/tests/fixtures/models "$PY" -c "import sys; from pathlib import Path; from make_onnx_fixtures import write_fixtures; write_fixtures(Path(sys.argv[1]))" "$ctx"
        printf 'FROM bench:x86-ort\nCOPY tiny_mlp.onnx /home/bench/tiny_mlp.onnx\n' > "$ctx/Dockerfile"
        { docker build --network host -f Dockerfile.x86 --build-arg VARIANT=ort --build-arg BASE=bench-base:bookworm \
              -t bench:x86-ort . && docker build --network host -t "$x86_image" "$ctx"; } > "$OUT/build-x86.log" 2>&1 \
            || { tail -30 "$OUT/build-x86.log"; fail "the fleet's x86 image"; }
        rm -rf "$ctx"
        say "built the fleet's x86 image $x86_image (Dockerfile.x86, VARIANT=ort, + tiny_mlp.onnx)"
    fi
    # The host that goes away runs a few-MB image of this machine's /bin/sh and /bin/sleep.
    tiny=bench-test:tiny-sleep
    if ! docker image inspect "$tiny" >/dev/null 2>&1; then
        ctx=$(mktemp -d)
        PYTHONPATH=$PWD/tests/docker "$PY" -c 'import sys, docker; from tls_engine import sleepy_image; sleepy_image(docker.from_env(), sys.argv[1], sys.argv[2])' \
            "$ctx" "$tiny" || fail "the tiny image"
        rm -rf "$ctx"
    fi
    bash scripts/start-docker.sh --socket "$ENGINE2_DIR/docker.sock" --data-root "$ENGINE2_DIR" --tcp "$ENGINE2_TCP" >/dev/null \
        || fail "second engine"
    bash scripts/start-docker.sh --socket "$ENGINE3_DIR/docker.sock" --data-root "$ENGINE3_DIR" >/dev/null \
        || fail "third engine"
    stop_engines() {
        bash scripts/start-docker.sh --stop --socket "$ENGINE2_DIR/docker.sock" --data-root "$ENGINE2_DIR" >/dev/null 2>&1 || true
        bash scripts/start-docker.sh --stop --socket "$ENGINE3_DIR/docker.sock" --data-root "$ENGINE3_DIR" >/dev/null 2>&1 || true
    }
    trap 'kill $server 2>/dev/null || true; stop_engines' EXIT
    hosts="$OUT/hosts.toml"
    cat > "$hosts" <<HOSTS
[defaults]
connect_timeout_s = 20

# The arm64 image stays on this engine (DOCKER_HOST's, as every docker command here: a fresh
# engine of its own gives a cold run; GBs: shipping it would take longer than the run). Its
# container gets the MIDR_EL1 stand-in and QEMU_CPU, as every other arm64 container here.
# No ceilings (--no-peaks): step 5 measured them already, and under emulation they are the emulator's.
[[host]]
name = "arm64-emulated"
url = "${DOCKER_HOST:-unix:///var/run/docker.sock}"
platform = "arm64"
image = "$IMAGE"
volumes = [${CPU_VOLUMES%, }]
env = { QEMU_CPU = "$QEMU_CPU_MODEL" }
args = ["run", "-m", "mobilenet_v3_small", "-b", "1", "--backends", "eager", "--no-energy", "--no-peaks"]

# The x86 image is shipped to a second engine (docker save | docker load), reached over TCP.
[[host]]
name = "x86-native"
url = "tcp://$ENGINE2_TCP"
platform = "x86"
image = "$x86_image"
ship = true
args = ["run", "--model", "/home/bench/tiny_mlp.onnx", "--backends", "ort", "--batch-sizes", "1,2", "--no-energy", "--no-peaks"]

# Goes away mid-run: its engine is stopped while its container runs.
[[host]]
name = "goes-away"
url = "unix://$ENGINE3_DIR/docker.sock"
platform = "x86"
image = "$tiny"
ship = true
meters = false
entrypoint = ["sh", "-c", "echo started; sleep 600"]
args = []
HOSTS
    ( # stop the third engine once its container runs (at most ~10 minutes of polling)
        for _ in $(seq 1 600); do
            if docker -H "unix://$ENGINE3_DIR/docker.sock" ps -q 2>/dev/null | grep -q .; then
                sleep 3
                bash scripts/start-docker.sh --stop --socket "$ENGINE3_DIR/docker.sock" --data-root "$ENGINE3_DIR" >/dev/null
                echo "verify-arm64: [$(( $(date +%s) - T0 ))s] stopped the goes-away engine while its container ran"
                break
            fi
            sleep 1
        done
    ) &
    stopper=$!
    rm -rf "$OUT/fleet"
    start=$(date +%s)
    rc=0
    "$PY" -m suite fleet run "$hosts" -o "$OUT/fleet" > "$OUT/fleet.log" 2>&1 || rc=$?
    kill "$stopper" 2>/dev/null || true
    say "bench fleet run over 3 engines exited $rc after $(( $(date +%s) - start ))s; its summary:"
    sed -n '/fleet: 3 host(s)/,$p' "$OUT/fleet.log" | sed 's/^/    /'
    [ "$rc" = 1 ] || { tail -40 "$OUT/fleet.log"; fail "the fleet with a lost host exited $rc, not 1"; }
    "$PY" - "$OUT/fleet" <<'PYEOF' || fail "fleet report check"
import sys
from pathlib import Path
from suite.report.merge import merge_results
from suite.results.io import load_results
d = Path(sys.argv[1])
assert not list((d / "goes-away").glob("results-*.json")), "the lost host brought back results"
runs = {name: [load_results(p) for p in sorted((d / name).glob("results-*.json"))] for name in ("arm64-emulated", "x86-native")}
assert all(len(r) == 1 for r in runs.values()), {k: len(v) for k, v in runs.items()}
arm, x86 = runs["arm64-emulated"][0], runs["x86-native"][0]
assert arm.environment.machine == "aarch64" and arm.environment.emulation, arm.environment
assert x86.environment.machine == "x86_64" and not x86.environment.emulation, x86.environment
assert arm.cases and all(c.status == "ok" and any(f.kind == "emulated" for f in c.flags) for c in arm.cases)
assert x86.cases and all(c.status == "ok" and not any(f.kind == "emulated" for f in c.flags) for c in x86.cases)
data = merge_results([arm, x86])
assert len(data.devices) == 2 and len(data.emulated_devices) == 1, [x.label for x in data.devices]
html = (d / "report.html").read_text()
assert 'id="emulated"' in html and "x86-native" in html and "arm64-emulated" in html
print("verify-arm64: merged report", d / "report.html", "devices:", "; ".join(
    f"{x.label} [{x.env.machine}{', EMULATED' if x.key.emulated else ''}]" for x in data.devices))
PYEOF
    grep -E '^│ +goes-away' "$OUT/fleet.log" | tr -s ' ' | sed 's/^/verify-arm64: lost host recorded: /' \
        || fail "the lost host is not in the fleet's summary"
fi
say "done ($(date -u '+%Y-%m-%d %H:%M UTC'))"
