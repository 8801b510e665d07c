"""Energy per frame at a rate (suite/energy/paced_window.py) on a fake RAPL tree (laid out like the
real powercap files) whose counter advances at a known power: idle while the loop sleeps, busy while
the model "runs". Per frame: energy = active + idle share, exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from suite.energy import rapl
from suite.energy.options import EnergyConfig
from suite.energy.paced_window import measure_paced_energy
from suite.energy.window import measure_idle

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sysfs"
IDLE_W, BUSY_W, CALL_S = 4.0, 15.0, 0.012
UJ = 1e-6


class Machine:
    """A RAPL package counter and a clock that advance together."""

    def __init__(self, tmp_path: Path) -> None:
        root = tmp_path / "rapl"
        shutil.copytree(FIXTURES / "rapl_laptop", root)
        self.counter = root / "sys/class/powercap/intel-rapl:0/energy_uj"
        self.uj = int(self.counter.read_text())
        self.t = 1000.0
        self.meter = rapl.probe(EnergyConfig(sysfs_root=str(root)), clock=self.clock)

    def clock(self) -> float:
        return self.t

    def burn(self, watts: float, seconds: float) -> None:
        self.uj += round(watts * seconds * 1e6)
        self.counter.write_text(f"{self.uj}\n")
        self.t += seconds

    def sleep(self, seconds: float) -> None:
        self.burn(IDLE_W, seconds)

    def call(self) -> None:
        self.burn(BUSY_W, CALL_S)


@pytest.mark.parametrize("rate", [30.0, 10.0])
def test_energy_per_frame_is_the_call_plus_its_share_of_idle(tmp_path: Path, rate: float) -> None:
    m = Machine(tmp_path)
    opts = EnergyConfig(min_window_s=2.0)
    baseline = measure_idle(m.meter, opts, clock=m.clock, sleep=m.sleep, monotonic=m.clock)
    got = measure_paced_energy(m.call, rate, m.meter, opts, baseline, clock=m.clock, sleep=m.sleep)
    period = 1 / rate
    assert got.frames == round(rate * 2.0) and got.window_s == pytest.approx(got.frames * period)
    # hand derivation: each frame burns BUSY_W for the call and IDLE_W for the rest of its period; the
    # counter holds whole microjoules (RAPL's energy_uj), rounded once per burn: 1 uJ per frame at most
    assert got.gross_j_per_frame == pytest.approx(BUSY_W * CALL_S + IDLE_W * (period - CALL_S), abs=UJ)
    assert got.idle_j_per_frame == pytest.approx(IDLE_W * (period - CALL_S), abs=UJ)
    assert got.active_j_per_frame == pytest.approx(BUSY_W * CALL_S, abs=UJ)
    assert got.idle_j_per_frame + got.active_j_per_frame == pytest.approx(got.gross_j_per_frame, rel=1e-12)
    assert got.busy_s == pytest.approx(got.frames * CALL_S)
    assert got.meter == "rapl" and got.method == "counter"


def test_without_a_baseline_the_frame_is_not_split(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    got = measure_paced_energy(m.call, 20.0, m.meter, EnergyConfig(min_window_s=1.0), None, clock=m.clock,
                               sleep=m.sleep)
    assert got.idle_j_per_frame is None and got.active_j_per_frame is None
    assert got.gross_j_per_frame == pytest.approx(BUSY_W * CALL_S + IDLE_W * (0.05 - CALL_S), abs=UJ)
