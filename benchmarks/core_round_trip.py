"""Why a 2-thread figure moves between two speeds on a VM: the cores' round trip, alternated with
ONNX Runtime calls, in the same seconds.

Each round, in order: the C round trip (benchmarks/core_round_trip.c, compiled here with cc), the
suite's Python probe (suite/machine/core_latency.py), then a fresh process timing an ORT session at
2 threads and one at 1 thread (batch 1, random input of side --size, the given ONNX file, median of N calls),
then the C round trip again. For the 2-thread process: each busiest thread's CPU time over the timed
loop's wall time, the CPUs they last ran on, and the machine's steal ticks (from /proc). One line
per round; a summary groups the rounds by the C figure.

    .venv/bin/python benchmarks/core_round_trip.py --onnx ~/.cache/bench/onnx/mobilenet_v3_small-*/model.onnx
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ORT_LOOP = r"""
import json, os, sys, time
import numpy as np, onnxruntime as ort
path, threads, calls, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
so = ort.SessionOptions(); so.intra_op_num_threads = threads
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
shape = [d if isinstance(d, int) else (1 if i == 0 else size) for i, d in enumerate(inp.shape)]
x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
for _ in range(30):
    sess.run(None, {inp.name: x})
def threads_cpu():  # per thread: CPU seconds so far (utime + stime) and the CPU it last ran on
    out = {}
    for tid in os.listdir("/proc/self/task"):
        f = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        out[tid] = ((int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"), int(f[36]))
    return out
def steal():
    return sum(int(line.split()[8]) for line in open("/proc/stat") if line[:3] == "cpu" and line[3].isdigit())
c0, s0, w0 = threads_cpu(), steal(), time.perf_counter()
ts = []
for _ in range(calls):
    t = time.perf_counter(); sess.run(None, {inp.name: x}); ts.append(time.perf_counter() - t)
wall, c1, s1 = time.perf_counter() - w0, threads_cpu(), steal()
busy = sorted(((c1[t][0] - c0.get(t, (0.0, 0))[0]) / wall, c1[t][1]) for t in c1)[::-1][:threads]
print(json.dumps({"median_ms": sorted(ts)[len(ts) // 2] * 1e3, "busy": [round(b, 2) for b, _ in busy],
                  "cpus": sorted({c for _, c in busy}), "steal_ticks": s1 - s0}))
"""


def c_trip(exe: Path) -> float:
    return float(subprocess.run([str(exe), "50000"], capture_output=True, text=True, check=True).stdout.split()[1])


def ort_loop(onnx: str, threads: int, calls: int, size: int) -> dict:
    out = subprocess.run([sys.executable, "-c", ORT_LOOP, onnx, str(threads), str(calls), str(size)], capture_output=True,
                         text=True, check=True, env={"ORT_DISABLE_TELEMETRY": "1", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--calls", type=int, default=1500)
    ap.add_argument("--size", type=int, default=224, help="every dynamic axis but the batch (image side)")
    args = ap.parse_args()
    from suite.machine.core_latency import core_round_trip

    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "core_round_trip"
        src = Path(__file__).with_suffix(".c")
        subprocess.run(["cc", "-O2", "-pthread", "-o", str(exe), str(src)], check=True)
        rows = []
        print("time      C before ns  Python probe ns  ORT 2 threads ms  ORT 1 thread ms  C after ns"
              "  ORT 2 threads: each thread's CPU time / wall time, the CPUs they ran on, steal ticks")
        for _ in range(args.rounds):
            c0 = c_trip(exe)
            trip = core_round_trip()
            py = trip.ns if trip is not None else float("nan")
            r2, r1 = (ort_loop(args.onnx, n, args.calls, args.size) for n in (2, 1))
            c1 = c_trip(exe)
            o2, o1 = r2["median_ms"], r1["median_ms"]
            rows.append((c0, py, o2, o1, c1))
            print(f"{time.strftime('%H:%M:%S')}  {c0:11.1f}  {py:15.1f}  {o2:16.3f}  {o1:15.3f}  {c1:10.1f}"
                  f"  {r2['busy']} on CPUs {r2['cpus']}, steal {r2['steal_ticks']}", flush=True)
    split = 200.0  # ns: between this VM's two states (80-120 against 350-400)
    for name, keep in (("C round trip < 200 ns before and after", lambda r: r[0] < split and r[4] < split),
                       ("C round trip > 200 ns before and after", lambda r: r[0] > split and r[4] > split)):
        sel = [r for r in rows if keep(r)]
        if sel:
            med = [statistics.median(col) for col in zip(*sel)]
            print(f"{name}: {len(sel)} rounds; medians: C {med[0]:.0f} ns, Python probe {med[1]:.0f} ns, "
                  f"ORT 2 threads {med[2]:.3f} ms, ORT 1 thread {med[3]:.3f} ms")
    print(f"mixed (the state changed within the round): {sum(1 for r in rows if (r[0] < split) != (r[4] < split))}")


if __name__ == "__main__":
    main()
