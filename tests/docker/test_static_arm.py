"""The arm64 and L4T images without an engine: versions from constraints.txt only, L4T's forced
deviation (JetPack's torch) applied by the Dockerfile's own shell to the real constraints file,
no build step that imports torch (under qemu-user it crashes: no MIDR_EL1 sysfs entry in a
build), and scripts/verify-arm64.sh giving every arm64 container the MIDR_EL1 stand-in."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARM_DOCKERFILES = ["Dockerfile.arm64", "Dockerfile.l4t", "tests/docker/l4t-standin/Dockerfile"]


def _pins(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def _instructions(text: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    out: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("#"):  # a comment, also inside a continued instruction
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        if pending.strip():
            out.append(pending.strip())
        pending = ""
    return out


def test_arm64_installs_every_version_from_the_constraints_file():
    text = (ROOT / "Dockerfile.arm64").read_text()
    assert "COPY constraints.txt /opt/bench/constraints.txt" in _instructions(text)
    assert "PIP_CONSTRAINT=/opt/bench/constraints.txt" in text
    assert not re.search(r"[A-Za-z]==[0-9$]", text)  # no version of its own
    assert not re.search(r"^ARG [A-Z_]+_VERSION", text, re.MULTILINE)
    # The CPU wheel index by default: PyPI's aarch64 torch 2.14.1 is a CUDA build (GBs of nvidia-*).
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    assert "!constraints.txt" in (ROOT / ".dockerignore").read_text().splitlines()


@pytest.mark.parametrize("dockerfile", ARM_DOCKERFILES)
def test_no_build_step_imports_torch(dockerfile):
    runs = [i for i in _instructions((ROOT / dockerfile).read_text()) if i.startswith("RUN ")]
    assert runs
    for run in runs:
        assert not re.search(r"\bimport\s+(torch|torchvision)\b|\bfrom\s+(torch|torchvision)\b", run), run


def _l4t_filter() -> str:
    """The L4T step that drops the pins JetPack (and the build arguments) decide, as written."""
    text = " ".join(_instructions((ROOT / "Dockerfile.l4t").read_text()))
    m = re.search(r"\{ (grep -v -i -E '[^']+')\s+/opt/bench-constraints\.txt;", text)
    assert m, "the L4T constraints filter is not where this test looks for it"
    return m.group(1)


def test_l4t_replaces_torch_with_the_base_images_and_keeps_the_rest(tmp_path):
    stack = (ROOT / "constraints.txt").read_text()
    (tmp_path / "stack.txt").write_text(stack)
    # the base image's `pip freeze` lines (JetPack 6.0's l4t-pytorch), appended as the Dockerfile does
    freeze = "torch==2.2.0a0+81ea7a4\ntorchvision==0.17.0a0+c1d70fe\nnumpy==1.26.4\n"
    script = f"{{ {_l4t_filter()} {tmp_path}/stack.txt; printf '{freeze}'; }} > {tmp_path}/constraints.txt"
    subprocess.run(["bash", "-o", "pipefail", "-euc", script], check=True, timeout=30)
    got, want = _pins((tmp_path / "constraints.txt").read_text()), _pins(stack)
    assert (got["torch"], got["torchvision"], got["numpy"]) == ("2.2.0a0+81ea7a4", "0.17.0a0+c1d70fe", "1.26.4")
    # PyPI torch's CUDA wheels go; onnxruntime comes from the Jetson index (or the fallback)
    dropped = {n for n in want if n in ("torch", "torchvision", "numpy", "triton", "onnxruntime", "jetson-stats")
               or n.startswith(("nvidia-", "cuda-"))}
    assert {"torch", "torchvision", "numpy", "onnxruntime"} <= dropped and any(n.startswith("nvidia-") for n in dropped)
    assert not any(n.startswith(("nvidia-", "cuda-")) or n in ("triton", "onnxruntime") for n in got)
    # everything else is the stack's, unchanged (onnx, transformers, ...)
    assert {n: v for n, v in got.items() if n not in dropped} == {n: v for n, v in want.items() if n not in dropped}
    assert got["onnx"] == want["onnx"] and got["transformers"] == want["transformers"]


def test_l4t_falls_back_to_the_stacks_cpu_onnxruntime():
    text = " ".join(_instructions((ROOT / "Dockerfile.l4t").read_text()))
    i_gpu = text.index('"onnxruntime-gpu==${ONNXRUNTIME_GPU_VERSION}"')
    i_cpu = text.index("grep -i -E '^onnxruntime==' /opt/bench-constraints.txt >> /opt/bench/constraints.txt")
    assert i_gpu < i_cpu and "falling back to PyPI's CPU onnxruntime" in text[i_gpu:i_cpu]


VERIFY = (ROOT / "scripts/verify-arm64.sh").read_text()


def test_the_midr_stand_in_is_a_cortex_a76():
    (value,) = set(re.findall(r"echo (0x[0-9a-f]+) > \"\$fakecpu/\$n/regs/identification/midr_el1\"", VERIFY))
    midr = int(value, 16)
    # MIDR_EL1 fields (Arm ARM D17.2.100): implementer [31:24], part number [15:4]
    assert (midr >> 24) & 0xFF == 0x41  # Arm Ltd
    assert (midr >> 4) & 0xFFF == 0xD0B  # Cortex-A76: the Raspberry Pi 5's core


def test_every_arm64_container_of_verify_arm64_gets_the_midr_stand_in():
    lines = [ln for ln in VERIFY.splitlines() if not ln.lstrip().startswith("#")]
    runs = [ln for ln in lines if re.search(r"docker run\b.*\"\$(IMAGE|L4T_IMAGE)\"", ln)]
    assert all('"${CPU_MOUNTS[@]}" "${ARM64_ENV[@]}"' in ln for ln in runs), runs
    assert ('arm64_run() { docker run --rm --network host --platform linux/arm64 "${CPU_MOUNTS[@]}" '
            '"${ARM64_ENV[@]}" "$@"; }') in VERIFY
    assert 'ARM64_ENV=(-e "QEMU_CPU=$QEMU_CPU_MODEL")' in VERIFY and "QEMU_CPU_MODEL=${BENCH_QEMU_CPU:-cortex-a76}" in VERIFY
    used = [ln for ln in lines if re.search(r"\barm64_run\b", ln) and "arm64_run()" not in ln]
    assert len(used) >= 4, used  # detection, the run, the L4T image's checks
    # the fleet's arm64 host, through hosts.toml's volumes
    host = VERIFY[VERIFY.index('name = "arm64-emulated"'):]
    host = host[:host.index("[[host]]")]
    assert "volumes = [${CPU_VOLUMES%, }]" in host
    assert 'env = { QEMU_CPU = "$QEMU_CPU_MODEL" }' in host


def test_l4t_jetson_stats_default_is_the_constraints_pin():
    """One stack: the jtop client's default version is constraints.txt's, overridable only to
    match a host's jtop service."""
    pin = _pins((ROOT / "constraints.txt").read_text())["jetson-stats"]
    (default,) = re.findall(r"^ARG JETSON_STATS_VERSION=(\S+)$", (ROOT / "Dockerfile.l4t").read_text(), re.MULTILINE)
    assert default == pin
