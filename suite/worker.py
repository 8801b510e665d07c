"""Worker processes: the forkserver every case and every look at a user's file runs in, and
a small runner for short jobs with a time limit (`run_isolated`).

The forkserver has already imported torch (Linux), so a worker starts in milliseconds in a
clean process; elsewhere workers are spawned. A worker ignores Ctrl-C (the parent decides),
and dies with the forkserver when the run itself is killed. A leaf module (it imports no other
suite module at import time), so that model resolution can use it without a cycle.
"""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkServerContext, SpawnContext
    from multiprocessing.process import BaseProcess

# scipy.stats: the timed loop computes CIs with it; imported in a worker it would add ~40 MB to one
# case's peak memory and not to another's (a memory figure measured without a timed loop).
PRELOAD = ["torch", "torchvision", "scipy.stats", "suite.run.case"]


_CONTEXT: ForkServerContext | SpawnContext | None = None


def mp_context() -> ForkServerContext | SpawnContext:
    global _CONTEXT
    if _CONTEXT is None:
        if sys.platform.startswith("linux"):
            ctx: ForkServerContext | SpawnContext = mp.get_context("forkserver")
            ctx.set_forkserver_preload([m for m in PRELOAD if importlib.util.find_spec(m.split(".")[0]) is not None])
            _start_forkserver_ignoring_ctrl_c()
        else:
            ctx = mp.get_context("spawn")
        _CONTEXT = ctx
    return _CONTEXT


def _start_forkserver_ignoring_ctrl_c() -> None:
    """Start the forkserver with SIGINT ignored, which it (and every worker) inherits across
    exec. Otherwise a Ctrl-C in the first seconds of a run, while it imports torch, kills it
    with a KeyboardInterrupt traceback on the terminal. The parent ignores SIGINT only for
    the fork+exec itself (milliseconds): the import happens in the forkserver afterwards."""
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def kill_process(proc: BaseProcess) -> None:
    if proc.pid is None:  # never started
        return
    if proc.is_alive():
        proc.kill()
    proc.join(timeout=10)


def exit_with_parent() -> None:
    """Have the kernel SIGKILL this worker when its parent (the forkserver) dies: when the run
    is killed, the forkserver exits, and no orphaned case keeps the CPU busy for an hour.

    The forkserver exits once no process holds the write end of its "alive" pipe, and every
    worker inherits one (for forkservers of its own, which a case never needs): a hung
    worker would keep the forkserver, and so itself, alive. So the worker closes it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        from multiprocessing import forkserver

        server = forkserver._forkserver  # CPython 3.10-3.13: one per process
        alive_fd = getattr(server, "_forkserver_alive_fd", None)  # private, not in the stubs
        if alive_fd is not None:
            os.close(alive_fd)
            setattr(server, "_forkserver_alive_fd", None)  # noqa: B010
    except (AttributeError, OSError):
        pass
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # best effort: an exotic libc only loses this safety net
        pass


@dataclass
class IsolatedOutcome:
    # what the target sent, in order: unpickled from the pipe, so untyped until the caller checks it
    messages: list[Any] = field(default_factory=list)
    exitcode: int | None = None
    timed_out: bool = False
    entered_s: float | None = None  # seconds from the start request to the child entering its target

    @property
    def result(self) -> tuple[str, Any] | None:  # Any: the payload as unpickled (see messages)
        """The target's last ("ok", payload) or ("error", reason) message, if it sent one."""
        last = self.messages[-1] if self.messages else None
        return last if isinstance(last, tuple) and last and last[0] in ("ok", "error") else None

    def failure(self, timeout_s: float) -> tuple[str, str]:
        """(kind, message) of a worker that sent no result: it hung, was killed or exited."""
        if self.timed_out:
            return "timeout", f"did not finish within {timeout_s:g} s (killed)"
        return describe_exit(self.exitcode)


def run_isolated(target: Callable[..., None], args: tuple[object, ...], timeout_s: float,
                 name: str = "bench-worker", memory_limit_mb: int | None = None) -> IsolatedOutcome:
    """Run `target(send, *args)` in a worker process (the cases' forkserver) for at most
    `timeout_s`: `send` passes picklable messages back. A target that finishes by sending a
    message whose first item is "ok" or "error" is done; one that dies, exits or hangs is
    reported by its exit code or `timed_out` (`IsolatedOutcome.failure` says it in words),
    never by an exception here. `target` must be importable by name (a module-level function).
    The one worker runner: cases, the peak measurement, a user file's look-over and the pre-run
    checks all go through it, with one child preamble (`_isolated_main`)."""
    mpc = mp_context()
    parent, child = mpc.Pipe(duplex=False)
    proc = mpc.Process(target=_isolated_main, args=(child, target, args, memory_limit_mb), name=name)
    out = IsolatedOutcome()
    deadline = time.monotonic() + timeout_s
    wall0 = time.time()
    try:
        proc.start()
        child.close()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not parent.poll(left):
                out.timed_out = True
                break
            try:
                message = parent.recv()
            except EOFError:
                break
            if isinstance(message, tuple) and message and message[0] == ENTERED:
                out.entered_s = max(0.0, message[1] - wall0)
                continue
            out.messages.append(message)
            if out.result is not None:
                break
        proc.join(timeout=0 if out.timed_out else 10)
        if proc.is_alive():
            kill_process(proc)
    except BaseException:
        kill_process(proc)
        raise
    finally:
        parent.close()
        child.close()
    out.exitcode = proc.exitcode
    return out


ENTERED = "entered"  # the preamble's first message: when the child reached its target


def _isolated_main(conn: Connection, target: Callable[..., None], args: tuple[object, ...],
                   memory_limit_mb: int | None) -> None:
    """Every worker's preamble: no telemetry, Ctrl-C left to the parent (save, kill the worker,
    stop; a worker dying of it first would be recorded as a crashed case), death with the
    forkserver, the memory cap, then the target."""
    entered = time.time()
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()

    def send(message: object) -> None:
        try:
            conn.send(message)
        except OSError:  # the parent stopped waiting (Ctrl-C, SIGTERM): nobody to tell
            pass

    try:
        send((ENTERED, entered))
        if memory_limit_mb is not None:
            limit_memory(memory_limit_mb)
        target(send, *args)
    finally:
        conn.close()


def describe_exit(code: int | None) -> tuple[str, str]:
    if code is not None and code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
        if sig == signal.SIGKILL:
            return "oom", f"worker killed by {name} (most likely the out-of-memory killer)"
        return "crash", f"worker died from {name}"
    return "crash", f"worker exited with status {code} without a result"


def limit_memory(extra_mb: int) -> int | None:
    """Cap the memory this process may still allocate at `extra_mb` above what it holds now.

    RLIMIT_DATA (Linux >= 4.7) counts heap and private anonymous mappings, where tensors live,
    but not the shared libraries mapped in (torch maps ~3 GB of address space before a model
    exists, which an RLIMIT_AS cap would have to allow for). Past the cap an allocation fails:
    torch raises "can't allocate memory", Python MemoryError, and the case is recorded as
    'oom' instead of the machine swapping to a halt. Returns the limit set, in bytes."""
    try:
        import resource
    except ImportError:
        return None

    current = status_bytes("VmData")
    if current is None:
        return None
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = current + extra_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit

def status_bytes(key: str) -> int | None:
    """A size field of /proc/self/status (VmHWM, VmData...) in bytes; None off Linux."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
