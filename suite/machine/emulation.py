"""Whether this process runs under CPU emulation (qemu-user through binfmt_misc, box64, FEX,
Rosetta): an arm64 image run on an x86 machine, say. Timings from such a run measure the
emulator, not the device.

Two independent signs, both read under an injectable root so tests can point them at fake
/proc trees laid out like the real files:

- the translator: `/proc/thread-self/exe` is the program the kernel really runs for this
  thread. qemu-user answers `/proc/self/exe` (and `/proc/<pid>/exe`) itself with the guest
  program, but not the thread-self path, which the kernel answers: the binfmt interpreter
  (`/usr/libexec/qemu-binfmt/aarch64-binfmt-P`, `/usr/bin/qemu-aarch64-static`);
- the CPU: qemu-user passes the host kernel's `/proc/cpuinfo` through for arm64 guests, so an
  aarch64 process reads an x86 CPU's description (`vendor_id`, `flags`) where a real ARM board
  shows `CPU implementer` and `Features`.

A real Raspberry Pi or Jetson shows neither: its thread runs python itself and its cpuinfo is
an ARM one. Standard library only; no side effects.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# Programs that run another architecture's code in user mode, by the words in their path.
TRANSLATORS = ("qemu", "box64", "fex", "rosetta")

_ARCH_FAMILY = {"x86_64": "x86", "amd64": "x86", "i386": "x86", "i686": "x86",
                "aarch64": "arm", "arm64": "arm", "armv7l": "arm", "armv8l": "arm", "armv6l": "arm",
                "riscv64": "riscv", "ppc64le": "power", "s390x": "s390"}


@dataclass(frozen=True)
class Emulation:
    """How this process is emulated: the translator (a path, or None when only the CPU
    description gives it away) and the evidence, in words for the results file."""

    translator: str | None
    cpu_family: str | None  # the architecture the kernel's /proc/cpuinfo describes
    machine: str  # the architecture the process sees (uname -m)

    def describe(self) -> str:
        parts = []
        if self.translator:
            parts.append(f"{self.machine} code run by {self.translator}")
        if self.cpu_family:
            parts.append(f"/proc/cpuinfo describes an {self.cpu_family} CPU under an {self.machine} process")
        return "; ".join(parts)


def translator(root: Path) -> str | None:
    """The path of a user-mode translator running this thread, if any."""
    try:
        exe = os.readlink(root / "proc/thread-self/exe")
    except OSError:
        return None
    exe = exe.removesuffix(" (deleted)")
    name = exe.lower()
    return exe if any(t in name for t in TRANSLATORS) else None


def cpuinfo_family(text: str) -> str | None:
    """The CPU family a /proc/cpuinfo text describes: 'x86', 'arm', or None when unknown."""
    keys = {line.split(":", 1)[0].strip().lower() for line in text.splitlines() if ":" in line}
    if "vendor_id" in keys or ("flags" in keys and "cpu family" in keys):
        return "x86"
    if "cpu implementer" in keys or "cpu architecture" in keys or ("features" in keys and "bogomips" in keys):
        return "arm"
    if "isa" in keys and "mmu" in keys and "hart" in keys:
        return "riscv"
    return None


def machine_family(machine: str) -> str | None:
    m = machine.lower()
    return _ARCH_FAMILY.get(m) or ("arm" if re.match(r"armv\d", m) else None)


def detect_emulation(machine: str, root: str | os.PathLike[str] = "/") -> Emulation | None:
    """An Emulation when this process runs translated; None on a native machine (or when
    neither sign can be read)."""
    r = Path(root)
    exe = translator(r)
    try:
        cpuinfo = (r / "proc/cpuinfo").read_text(errors="replace")
    except OSError:
        cpuinfo = ""
    described, own = cpuinfo_family(cpuinfo), machine_family(machine)
    mismatch = described if described is not None and own is not None and described != own else None
    if exe is None and mismatch is None:
        return None
    return Emulation(translator=exe, cpu_family=mismatch, machine=machine)
