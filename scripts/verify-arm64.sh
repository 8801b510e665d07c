#!/usr/bin/env bash
# Build and run the arm64 image on an x86 machine under emulation (qemu-user-static + binfmt),
# check that the suite knows it runs emulated, exercise Dockerfile.l4t on an arm64 stand-in
# base, and run a fleet across architectures. Slow (tens of minutes on 2 cores: every arm64
# instruction is translated): not part of the default CI run. Its last output and the date are
# recorded in docs/devices.md.
#
#   bash scripts/verify-arm64.sh [--out DIR] [--steps run,l4t,fleet] [--skip-l4t] [--skip-fleet]
#
# Steps 1-4 always run (cached after the first time); --steps picks among 5 (run), 6 (l4t) and
# 7 (fleet): e.g. two invocations in parallel, `--steps run,fleet` and `--steps l4t --out DIR2`
# (give the second BENCH_VERIFY_WHEEL_PORT=8766).
#
# Steps (each prints one "verify-arm64:" line; the first failure stops the script, exit 1):
#   1. the Docker engine, qemu-user-static and the aarch64 binfmt entry (registered if missing);
#   2. an arm64 Debian base with mmdebstrap (scripts/make-base-image.sh --arch arm64);
#   3. Dockerfile.arm64 built for linux/arm64 (constraints.txt: the same stack as everywhere);
#   4. inside it, suite.emulation detects the emulation for real;
#   5. `bench run -m mobilenet_v3_small -b 1 --backends eager,ort` inside it writes a results
#      file whose environment records the emulation and whose every case and comparison carries
#      the `emulated` flag; the report shows the banner;
#   6. (unless --skip-l4t) Dockerfile.l4t built on tests/docker/l4t-standin (a CPU torch where
#      JetPack's would be): constraints, the ORT wheel choice and its fallback, jetson-stats,
#      the non-root user;
#   7. (unless --skip-fleet) `bench fleet run` with an x86 host (a third engine of this machine)
#      and the arm64 host (this engine, emulated): one merged report, two devices, the emulation
#      flag on one; then again with the x86 engine stopped mid-run: it is recorded, the arm64
#      host completes.
# Environment: BENCH_PYTHON (a Python with the suite's dependencies; default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${BENCH_VERIFY_OUT:-/tmp/bench-verify-arm64}
RUN=1
L4T=1
FLEET=1
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --skip-l4t) L4T=0; shift ;;
        --skip-fleet) FLEET=0; shift ;;
        --steps)
            RUN=0; L4T=0; FLEET=0
            for step in ${2//,/ }; do
                case "$step" in
                    run) RUN=1 ;; l4t) L4T=1 ;; fleet) FLEET=1 ;;
                    *) echo "verify-arm64.sh: unknown step $step (run, l4t, fleet)" >&2; exit 2 ;;
                esac
            done
            shift 2 ;;
        -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
        *) echo "verify-arm64.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
PY=${BENCH_PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
BASE_TAG=${BENCH_ARM64_BASE:-bench-base:bookworm-arm64}
IMAGE=${BENCH_ARM64_IMAGE:-bench:arm64-full}
L4T_STANDIN=bench-l4t-standin:arm64
L4T_IMAGE=bench:l4t-standin
ENGINE3_DIR=${BENCH_VERIFY_ENGINE3:-/tmp/bench-verify-engine3}
ENGINE3_TCP=${BENCH_VERIFY_ENGINE3_TCP:-127.0.0.1:23761}
mkdir -p "$OUT"
T0=$(date +%s)
say() { echo "verify-arm64: [$(( $(date +%s) - T0 ))s] $*"; }
fail() { echo "verify-arm64: FAILED: $*" >&2; exit 1; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

# 1. engine, qemu, binfmt
bash scripts/start-docker.sh >/dev/null || fail "no Docker engine (scripts/start-docker.sh)"
if ! command -v qemu-aarch64-static >/dev/null; then
    $SUDO apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    # The F flag opens the interpreter now, so containers (another root) can use it too.
    line=$(grep -h -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf 2>/dev/null | head -1)
    [ -n "$line" ] || line=':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F'
    printf '%s' "$line" | $SUDO tee /proc/sys/fs/binfmt_misc/register >/dev/null
fi
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || fail "binfmt entry qemu-aarch64 not enabled"
say "engine up; binfmt: $(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64) ($(qemu-aarch64-static --version | head -1))"

# 2. the arm64 base
bash scripts/make-base-image.sh --arch arm64 --tag "$BASE_TAG" >/dev/null
[ "$(docker run --rm --network host --platform linux/arm64 "$BASE_TAG" uname -m)" = aarch64 ] \
    || fail "$BASE_TAG does not run as aarch64"
say "base $BASE_TAG runs as aarch64"

# 3. the arm64 image. PyPI's torch 2.14.1 for aarch64 is a CUDA build: with its nvidia-* wheels
# the big layer is ~3 GB of downloads, slow through an emulated pip. They are downloaded here
# natively (same pins: constraints.txt) and served on loopback to the build (TORCH_INDEX_URL).
wheels="$OUT/wheels"
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
port=${BENCH_VERIFY_WHEEL_PORT:-8765}
"$PY" -m http.server "$port" --bind 127.0.0.1 --directory "$wheels" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 1
say "wheelhouse: $(find "$wheels" -name '*.whl' | wc -l) aarch64 wheels, $(du -sh "$wheels" | cut -f1), index http://127.0.0.1:$port/simple/"
start=$(date +%s)
docker build --platform linux/arm64 --network host --build-arg BASE="$BASE_TAG" -f Dockerfile.arm64 \
    --build-arg TORCH_INDEX_URL="http://127.0.0.1:$port/simple/" \
    -t "$IMAGE" . > "$OUT/build-arm64.log" 2>&1 || { tail -30 "$OUT/build-arm64.log"; fail "arm64 build"; }
size=$(docker image inspect "$IMAGE" --format '{{.Size}}')
say "built $IMAGE in $(( $(date +%s) - start ))s, $(( size / 1000000 )) MB ($(docker image inspect "$IMAGE" --format '{{.Architecture}}'))"

# 4. emulation seen from inside, for real
docker run --rm --network host --platform linux/arm64 --entrypoint python "$IMAGE" -c '
import platform
from suite.emulation import detect_emulation
e = detect_emulation(platform.machine())
assert e is not None, "emulation NOT detected"
print(platform.machine(), "emulated:", e.describe())' > "$OUT/detect.txt" 2>&1 || { cat "$OUT/detect.txt"; fail "detection"; }
say "inside $IMAGE: $(cat "$OUT/detect.txt")"

# 5. a run inside the emulated container
if [ "$RUN" = 1 ]; then
run_dir="$OUT/run"
rm -rf "$run_dir"; mkdir -p "$run_dir"; chmod 777 "$run_dir"
start=$(date +%s)
docker run --rm --network host --platform linux/arm64 -v "$run_dir:/reports" "$IMAGE" \
    run -m mobilenet_v3_small -b 1 --backends eager,ort -o /reports > "$OUT/run.log" 2>&1 \
    || { tail -40 "$OUT/run.log"; fail "bench run inside $IMAGE"; }
say "bench run under emulation took $(( $(date +%s) - start ))s; its summary:"
grep -E "mobilenet|EMULATED|ort .*\[" "$OUT/run.log" | sed 's/^/    /' || true
"$PY" - "$run_dir" <<'EOF' || fail "results check"
import sys
from pathlib import Path
from suite.results.io import load_results
d = Path(sys.argv[1])
(path,) = sorted(d.glob("results-*.json"))
run = load_results(path)
env = run.environment
assert env.machine == "aarch64" and env.emulation, env
for c in run.cases:
    assert c.status == "ok", (c.spec.label, c.status, c.error)
    assert any(f.kind == "emulated" and f.severity == "bad" for f in c.flags), c.spec.label
assert run.comparisons and all(any(f.kind == "emulated" for f in k.flags) for k in run.comparisons)
html = (d / "report.html").read_text()
assert 'id="emulated"' in html and "ran under emulation" in html
print(f"verify-arm64: results file {path} ({env.machine}, torch {env.packages.get('torch')}, "
      f"onnxruntime {env.packages.get('onnxruntime')})")
print(f"verify-arm64: environment.emulation = {env.emulation!r}")
for c in run.cases:
    s = c.latency.summary
    print(f"verify-arm64:   {c.spec.backend:5} median {s.median_ms:.1f} ms, flags: "
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
    docker build --platform linux/arm64 --network host --build-arg TORCH_IMAGE="$IMAGE" --build-arg BASE="$BASE_TAG" \
        -t "$L4T_STANDIN" tests/docker/l4t-standin > "$OUT/build-l4t-standin.log" 2>&1 \
        || { tail -30 "$OUT/build-l4t-standin.log"; fail "L4T stand-in base"; }
    docker build --platform linux/arm64 --network host --build-arg BASE="$L4T_STANDIN" -f Dockerfile.l4t \
        -t "$L4T_IMAGE" . > "$OUT/build-l4t.log" 2>&1 || { tail -40 "$OUT/build-l4t.log"; fail "Dockerfile.l4t"; }
    say "Dockerfile.l4t built on the stand-in in $(( $(date +%s) - start ))s; ORT wheel: $(docker run --rm --platform linux/arm64 --entrypoint cat "$L4T_IMAGE" /opt/bench/ort-wheel.txt)"
    grep -E "JetPack torch|WARNING: no onnxruntime-gpu" "$OUT/build-l4t.log" | sed 's/^/    /' || true
    docker run --rm --network host --platform linux/arm64 --entrypoint sh "$L4T_IMAGE" -c '
        echo "user $(id -u):$(id -g)"; bench --version
        python -c "import torch, onnxruntime, jtop; print(\"torch\", torch.__version__, \"onnxruntime\", onnxruntime.__version__, \"jetson-stats\", jtop.__version__)"' \
        > "$OUT/l4t-check.txt" 2>&1 || { cat "$OUT/l4t-check.txt"; fail "the L4T image does not start"; }
    grep -q "^user 1000:" "$OUT/l4t-check.txt" || fail "the L4T image does not run as the non-root user"
    sed 's/^/    /' "$OUT/l4t-check.txt"
fi

# 7. a fleet across architectures
if [ "$FLEET" = 1 ]; then
    bash scripts/start-docker.sh --socket "$ENGINE3_DIR/docker.sock" --data-root "$ENGINE3_DIR" --tcp "$ENGINE3_TCP" >/dev/null \
        || fail "third engine"
    x86_image=${BENCH_VERIFY_X86_IMAGE:-bench-test:fleet}
    docker image inspect "$x86_image" >/dev/null 2>&1 || fail "no $x86_image (the docker tests build it: pytest tests/docker)"
    # The x86 engine gets its image from this one; the model is the .onnx file in that image.
    hosts="$OUT/hosts.toml"
    cat > "$hosts" <<EOF
[defaults]
connect_timeout_s = 20

[[host]]
name = "x86-native"
url = "tcp://$ENGINE3_TCP"
platform = "x86"
image = "$x86_image"
ship = true
args = ["run", "--model", "/home/bench/tiny_mlp.onnx", "--backends", "ort", "--batch-sizes", "1,2", "--no-energy"]

[[host]]
name = "arm64-emulated"
url = "unix:///var/run/docker.sock"
platform = "arm64"
image = "$IMAGE"
args = ["run", "-m", "mobilenet_v3_small", "-b", "1", "--backends", "eager", "--no-energy"]
EOF
    rm -rf "$OUT/fleet"
    start=$(date +%s)
    "$PY" -m suite fleet run "$hosts" -o "$OUT/fleet" > "$OUT/fleet.log" 2>&1 || { tail -40 "$OUT/fleet.log"; fail "fleet run"; }
    say "fleet across architectures took $(( $(date +%s) - start ))s:"
    sed -n '/fleet: 2 host(s)/,$p' "$OUT/fleet.log" | sed 's/^/    /'
    "$PY" - "$OUT/fleet" <<'EOF' || fail "fleet report check"
import sys
from pathlib import Path
from suite.report.merge import merge_results
from suite.results.io import load_results
d = Path(sys.argv[1])
runs = [load_results(p) for p in sorted(d.glob("*/results-*.json"))]
data = merge_results(runs)
assert len(data.devices) == 2, [x.label for x in data.devices]
assert [x.label for x in data.emulated_devices] and len(data.emulated_devices) == 1
html = (d / "report.html").read_text()
assert 'id="emulated"' in html
print("verify-arm64: merged report", d / "report.html", "devices:", "; ".join(
    f"{x.label} [{x.env.machine}{', EMULATED' if x.key.emulated else ''}]" for x in data.devices))
EOF
    # The x86 engine goes away while its container runs: recorded; the arm64 host completes.
    sed -i 's/"--batch-sizes", "1,2"/"--batch-sizes", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16"/' "$hosts"
    rm -rf "$OUT/fleet-lost"
    "$PY" -m suite fleet run "$hosts" -o "$OUT/fleet-lost" > "$OUT/fleet-lost.log" 2>&1 &
    fleet_pid=$!
    for _ in $(seq 1 240); do
        grep -q "^\[x86-native *\].*\(mobilenet\|tiny_mlp\|case\|1/\)" "$OUT/fleet-lost.log" 2>/dev/null && break
        sleep 1
    done
    sleep 2
    bash scripts/start-docker.sh --stop --socket "$ENGINE3_DIR/docker.sock" --data-root "$ENGINE3_DIR" >/dev/null
    say "stopped the x86 engine mid-run"
    rc=0; wait "$fleet_pid" || rc=$?
    [ "$rc" = 1 ] || { tail -40 "$OUT/fleet-lost.log"; fail "fleet with a lost host exited $rc, not 1"; }
    sed -n '/fleet: 2 host(s)/,$p' "$OUT/fleet-lost.log" | sed 's/^/    /'
    ls "$OUT"/fleet-lost/arm64-emulated/results-*.json >/dev/null || fail "the arm64 host did not complete"
fi
say "done ($(date -u '+%Y-%m-%d %H:%M UTC'))"
