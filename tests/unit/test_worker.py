"""suite.worker: the one worker runner. Real worker processes from the forkserver: a result comes
back with the time the child took to start, a hang is killed at the timeout, a death is described
by its signal, the memory cap stops an allocation, and the child runs with Ctrl-C ignored and no
telemetry."""

from __future__ import annotations

import os
import signal
import time

import pytest

from suite.worker import IsolatedOutcome, describe_exit, run_isolated, status_bytes


def _reply(send, value):
    send(("progress", 1))
    send(("ok", value * 2))


def _environment(send):
    send(("ok", (os.environ.get("ORT_DISABLE_TELEMETRY"), signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
                 os.getpid())))


def _hang(send):
    time.sleep(3600)


def _abort(send):
    os.abort()


def _exit_quietly(send):
    os._exit(3)


def _allocate(send, mb):
    try:
        block = bytearray(mb * 2**20)
        send(("ok", len(block)))
    except MemoryError:
        send(("error", "MemoryError"))


def test_a_result_comes_back_with_the_messages_before_it():
    out = run_isolated(_reply, (21,), timeout_s=120)
    assert out.messages == [("progress", 1), ("ok", 42)] and out.result == ("ok", 42)
    assert out.exitcode == 0 and not out.timed_out and out.entered_s is not None and out.entered_s >= 0


def test_the_child_ignores_ctrl_c_and_sends_no_telemetry(monkeypatch):
    monkeypatch.delenv("ORT_DISABLE_TELEMETRY", raising=False)
    telemetry, ignores_ctrl_c, pid = run_isolated(_environment, (), timeout_s=120).result[1]
    assert telemetry == "1" and ignores_ctrl_c and pid != os.getpid()


def test_a_hang_is_killed_at_the_timeout_and_said_in_words():
    t0 = time.monotonic()
    out = run_isolated(_hang, (), timeout_s=2)
    assert out.timed_out and out.result is None and time.monotonic() - t0 < 2 + 15
    assert out.failure(2) == ("timeout", "did not finish within 2 s (killed)")


@pytest.mark.parametrize("target, failure", [
    (_abort, ("crash", "worker died from SIGABRT")),
    (_exit_quietly, ("crash", "worker exited with status 3 without a result")),
])
def test_a_death_is_described_by_how_the_worker_ended(target, failure):
    out = run_isolated(target, (), timeout_s=120)
    assert out.result is None and out.failure(120) == failure


def test_the_memory_cap_stops_an_allocation_above_it():
    assert run_isolated(_allocate, (512,), timeout_s=120, memory_limit_mb=128).result == ("error", "MemoryError")
    assert run_isolated(_allocate, (16,), timeout_s=120, memory_limit_mb=128).result == ("ok", 16 * 2**20)


def test_exit_codes_in_words():
    assert describe_exit(-signal.SIGKILL) == ("oom", "worker killed by SIGKILL (most likely the out-of-memory killer)")
    assert describe_exit(-signal.SIGSEGV) == ("crash", "worker died from SIGSEGV")
    assert describe_exit(None) == ("crash", "worker exited with status None without a result")
    assert IsolatedOutcome(messages=[("note", 1)]).result is None


def test_status_fields_are_procs_in_bytes():
    with open("/proc/self/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    assert kb * 1024 <= status_bytes("VmHWM") <= kb * 1024 + 64 * 2**20  # a high-water mark only grows
    assert status_bytes("NoSuchField") is None
