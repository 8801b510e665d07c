"""Each meter's real reading code pointed at fake sysfs trees laid out like the real devices
(tests/fixtures/sysfs/README.md says which device each copies), or at recorded command output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from suite.energy import (
    MeterError,
    MeterUnavailable,
    jetson,
    nvml,
    probe_meter,
    rapl,
    rpi,
)
from suite.energy.options import EnergyConfig

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sysfs"
REPO = Path(__file__).resolve().parents[3]
NO_VCGENCMD = "/nonexistent/vcgencmd"


def opts_for(tree: str | Path, **kw) -> EnergyConfig:
    root = tree if isinstance(tree, Path) else FIXTURES / tree
    kw.setdefault("vcgencmd", NO_VCGENCMD)
    return EnergyConfig(sysfs_root=str(root), **kw)


def copy_tree(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(FIXTURES / name, target, symlinks=True)
    return target


class FakeClock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


# ----------------------------------------------------------------------------- RAPL


def test_rapl_two_socket_counts_packages_and_dram():
    domains, skipped = rapl.find_domains(FIXTURES / "rapl_xeon_2socket")
    assert [d.label for d in domains] == ["package-0", "dram-0", "package-1", "dram-1"]
    assert domains[0].max_range_uj == 262143328850 and domains[1].max_range_uj == 65712999613
    assert skipped == []
    values = rapl.read_energy_j(domains)
    assert values["package-1"] == pytest.approx(79876.543210)  # 79876543210 uJ


def test_rapl_laptop_skips_psys_subzones_and_mmio_duplicate():
    domains, skipped = rapl.find_domains(FIXTURES / "rapl_laptop")
    assert [d.label for d in domains] == ["package-0"]
    assert str(domains[0].path).endswith("intel-rapl:0")  # the MSR zone, not the MMIO copy
    assert any(s.startswith("psys") for s in skipped)
    assert any("duplicate" in s and "intel-rapl-mmio:0" in s for s in skipped)
    meter = rapl.probe(opts_for("rapl_laptop"))
    assert any("psys" in a for a in meter.assumptions)


def _write_uj(zone: Path, value: int) -> None:
    (zone / "energy_uj").write_text(f"{value}\n")


def test_rapl_window_with_wrap_around_gives_exact_joules(tmp_path):
    root = copy_tree("rapl_xeon_2socket", tmp_path)
    pc = root / "sys/class/powercap"
    clock = FakeClock()
    meter = rapl.probe(opts_for(root), clock=clock)
    assert meter.method == "counter" and meter.name == "rapl"
    # package-0 sits 1 J below its wrap point and wraps during the window; the others advance.
    _write_uj(pc / "intel-rapl:0", 262143328850 - 1_000_000)
    _write_uj(pc / "intel-rapl:0:0", 5_000_000)
    _write_uj(pc / "intel-rapl:1", 10_000_000)
    _write_uj(pc / "intel-rapl:1:0", 65712999613 - 500_000)
    meter.start()
    clock.t += 2.0
    _write_uj(pc / "intel-rapl:0", 2_000_000)  # 1 J to the wrap + 2 J after = 3 J
    _write_uj(pc / "intel-rapl:0:0", 6_500_000)  # 1.5 J
    _write_uj(pc / "intel-rapl:1", 14_000_000)  # 4 J
    _write_uj(pc / "intel-rapl:1:0", 250_000)  # wraps: 0.5 + 0.25 = 0.75 J
    reading = meter.stop()
    assert reading.duration_s == pytest.approx(2.0)
    assert reading.energy_j == pytest.approx(3.0 + 1.5 + 4.0 + 0.75)
    assert reading.rails_w == pytest.approx({"package-0": 1.5, "dram-0": 0.75, "package-1": 2.0, "dram-1": 0.375})


def test_rapl_counter_vanishing_mid_window_is_a_meter_error(tmp_path):
    root = copy_tree("rapl_xeon_2socket", tmp_path)
    meter = rapl.probe(opts_for(root))
    meter.start()
    (root / "sys/class/powercap/intel-rapl:1/energy_uj").unlink()
    with pytest.raises(MeterError, match=r"rapl: energy counter disappeared .*intel-rapl:1/energy_uj"):
        meter.stop()


def test_rapl_missing_says_why_and_how(tmp_path):
    with pytest.raises(MeterUnavailable) as info:
        probe_meter("rapl", opts_for(tmp_path))
    assert "no RAPL package zones" in info.value.reason
    assert "modprobe intel_rapl_msr" in str(info.value)


_UNREADABLE_PROBE = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    from suite.energy.options import EnergyConfig
    from suite.energy import MeterUnavailable, probe_meter
    try:
        probe_meter("rapl", EnergyConfig(sysfs_root={root!r}))
    except MeterUnavailable as exc:
        print("UNAVAILABLE", exc)
    else:
        print("USABLE")
""")


def test_rapl_root_only_counters_give_the_permission_fix():
    # Real permissions: as root (CI) the check runs in a child process dropped to 'nobody'.
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        root = copy_tree("rapl_laptop", Path(tmp))
        for p in root.rglob("*"):
            os.chmod(p, 0o755 if p.is_dir() else 0o444)
        os.chmod(root / "sys/class/powercap/intel-rapl:0/energy_uj", 0o400)
        code = _UNREADABLE_PROBE.format(repo=str(REPO), root=str(root))
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("needs setpriv to drop root privileges")
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code]
        else:
            cmd = [sys.executable, "-c", code]
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": tmp})
    assert out.returncode == 0, out.stderr
    assert "UNAVAILABLE" in out.stdout
    assert "intel-rapl:0/energy_uj is not readable" in out.stdout
    assert "chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj" in out.stdout
    assert "-e BENCH_SYSFS_ROOT=/host" in out.stdout


# ----------------------------------------------------------------------------- Jetson


def test_jetson_orin_total_is_the_input_rail_not_the_sum():
    meter = probe_meter("jetson", opts_for("jetson_orin_nano_jp5"))
    reading = jetson.read_hwmon(jetson.find_channels(FIXTURES / "jetson_orin_nano_jp5"))
    # VDD_IN: 5072 mV x 1072 mA; the sub-rails are reported beside it, not added.
    assert reading.total_w == pytest.approx(5.072 * 1.072)
    assert reading.rails_w == pytest.approx({"VDD_IN": 5.072 * 1.072, "VDD_CPU_GPU_CV": 5.064 * 0.240,
                                             "VDD_SOC": 5.064 * 0.248})
    assert meter.name == "jetson" and meter.method == "sampled"
    assert any("VDD_IN input rail" in a and "not added" in a for a in meter.assumptions)
    assert any("jtop service socket" in a for a in meter.assumptions)


def test_jetson_agx_orin_skips_nc_and_sums_rails_without_input_rail():
    channels = jetson.find_channels(FIXTURES / "jetson_agx_orin_jp5")
    names = [c.name for c in channels]
    assert "NC" not in names and len(names) == 4
    reading = jetson.read_hwmon(channels)
    expected = 19.128 * 0.408 + 19.128 * 0.144 + 4.968 * 0.584 + 4.976 * 0.216
    assert reading.total_w == pytest.approx(expected)
    meter = jetson.probe(opts_for("jetson_agx_orin_jp5"))
    assert any("no input rail" in a and "sum of the monitored rails" in a for a in meter.assumptions)


def test_jetson_nano_jp4_iio_prefers_the_power_register():
    reading = jetson.read_hwmon(jetson.find_channels(FIXTURES / "jetson_nano_jp4"))
    assert reading.total_w == pytest.approx(2.064)  # in_power0_input, not 5.000 V x 0.412 A
    assert reading.rails_w == pytest.approx({"POM_5V_IN": 2.064, "POM_5V_GPU": 0.119, "POM_5V_CPU": 0.479})


def test_ina238_input_rail_in_microwatts():
    reading = jetson.read_hwmon(jetson.find_channels(FIXTURES / "ina238"))
    assert reading.rails_w == pytest.approx({"VIN": 28.21824})
    assert reading.total_w == pytest.approx(19.872 * 1.420)


def test_jetson_nano_2gb_says_it_has_no_sensor():
    with pytest.raises(MeterUnavailable, match="Nano 2GB Developer Kit.*no INA3221") as info:
        jetson.probe(opts_for("jetson_nano_2gb"))
    assert "estimate" in info.value.fix


def test_jtop_power_dict_total_and_rails():
    # The shape of jetson-stats' `jetson.power` on an Orin Nano (mW); 'tot' is VDD_IN.
    power = {"rail": {"VDD_CPU_GPU_CV": {"volt": 5064, "curr": 240, "power": 1215, "avg": 1100},
                      "VDD_SOC": {"volt": 5064, "curr": 248, "power": 1255, "avg": 1250}},
             "tot": {"volt": 5072, "curr": 1072, "power": 5437, "avg": 5000, "name": "VDD_IN"}}
    reading = jetson.parse_jtop_power(power)
    assert reading.total_w == pytest.approx(5.437)
    assert reading.rails_w == pytest.approx({"VDD_CPU_GPU_CV": 1.215, "VDD_SOC": 1.255, "VDD_IN": 5.437})


def test_jetson_rail_vanishing_mid_window_is_a_meter_error(tmp_path):
    root = copy_tree("jetson_orin_nano_jp5", tmp_path)
    meter = jetson.probe(opts_for(root, sample_hz=50))
    meter.start()
    time.sleep(0.1)
    (root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/curr1_input").unlink()
    deadline = time.monotonic() + 2
    while meter.failure() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "disappeared" in (meter.failure() or "")
    with pytest.raises(MeterError, match="curr1_input"):
        meter.stop()
    meter.close()


# ----------------------------------------------------------------------------- Raspberry Pi 5


def test_pmic_parsing_pairs_volts_and_amps():
    parsed = rpi.parse_pmic_adc((FIXTURES / "rpi5/pmic_read_adc.txt").read_text())
    assert parsed["3V7_WL_SW"] == {"A": 0.00390372, "V": 3.685258}
    assert parsed["EXT5V"] == {"V": 5.1266}
    watts = rpi.rails_power_w(parsed)
    assert len(watts) == 12 and "EXT5V" not in watts and "BATT" not in watts
    assert watts["VDD_CORE"] == pytest.approx(0.76405 * 0.8127002)
    assert sum(watts.values()) == pytest.approx(1.75691154, rel=1e-7)


def test_rpi5_meter_runs_the_command_and_states_the_estimate():
    meter = probe_meter("rpi5", EnergyConfig(vcgencmd=str(FIXTURES / "rpi5/vcgencmd"), sample_hz=20))
    assert meter.name == "rpi5-pmic" and meter.method == "sampled"
    assert any("sum of V x A" in a and "not a wall-power measurement" in a for a in meter.assumptions)
    assert any("EXT5V" in a for a in meter.assumptions)
    meter.start()
    time.sleep(0.3)
    reading = meter.stop()
    # Constant recorded output: the integral is that power times the window.
    assert reading.energy_j == pytest.approx(1.75691154 * reading.duration_s, rel=1e-6)
    assert reading.samples >= 3


def test_rpi5_command_from_environment(monkeypatch):
    monkeypatch.setenv("BENCH_VCGENCMD", str(FIXTURES / "rpi5/vcgencmd"))
    meter = probe_meter("rpi5-pmic", EnergyConfig())
    assert meter.detail == "PMIC rails: 12 with V and A"


def test_rpi4_has_no_pmic_readings():
    with pytest.raises(MeterUnavailable, match="gave no PMIC rail readings") as info:
        rpi.probe(EnergyConfig(vcgencmd=str(FIXTURES / "rpi4/vcgencmd")))
    assert "Pi 4" in info.value.fix


def test_vcgencmd_missing():
    with pytest.raises(MeterUnavailable, match="not found"):
        rpi.probe(EnergyConfig(vcgencmd=NO_VCGENCMD))


def test_vcgencmd_vanishing_mid_window_is_a_meter_error(tmp_path):
    shutil.copytree(FIXTURES / "rpi5", tmp_path / "rpi5")
    meter = rpi.probe(EnergyConfig(vcgencmd=str(tmp_path / "rpi5/vcgencmd"), sample_hz=50))
    meter.start()
    (tmp_path / "rpi5/vcgencmd").unlink()
    with pytest.raises(MeterError, match="not found"):
        meter.stop()
    meter.close()


# ----------------------------------------------------------------------------- NVML


class FakeNvml:
    """Stands in for the pynvml module (no GPU here), raising pynvml's own error classes."""

    def __init__(self, energy_mj: list[int], power_mw: list[int], counter: bool = True):
        import pynvml

        self.NVMLError = pynvml.NVMLError
        self._not_supported = pynvml.NVMLError_NotSupported
        self.energy_mj = energy_mj
        self.power_mw = power_mw
        self.counter = counter
        self.shutdowns = 0

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.energy_mj)

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetName(self, h):
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        if not self.counter:
            raise self._not_supported(3)
        return self.energy_mj[h]

    def nvmlDeviceGetPowerUsage(self, h):
        return self.power_mw[h]


def test_nvml_energy_counter_in_millijoules():
    lib = FakeNvml(energy_mj=[1_000_000, 5_000_000], power_mw=[0, 0])
    clock = FakeClock()
    meter = nvml.probe(EnergyConfig(), lib=lib, clock=clock)
    assert meter.method == "counter" and meter.period_s == pytest.approx(0.1)
    meter.start()
    lib.energy_mj[0] += 600_000  # 600 J over 2 s on gpu0
    lib.energy_mj[1] += 300_000
    clock.t += 2.0
    reading = meter.stop()
    assert reading.energy_j == pytest.approx(900.0)
    assert reading.rails_w == pytest.approx({"gpu0": 300.0, "gpu1": 150.0})
    meter.close()
    assert lib.shutdowns == 1


def test_nvml_without_counter_samples_power():
    lib = FakeNvml(energy_mj=[0], power_mw=[75_500], counter=False)
    meter = nvml.probe(EnergyConfig(sample_hz=50), lib=lib)
    assert meter.method == "sampled"
    meter.start()
    time.sleep(0.2)
    reading = meter.stop()
    assert reading.energy_j == pytest.approx(75.5 * reading.duration_s)
    meter.close()


def test_nvml_here_reports_no_driver(no_nvidia_driver):
    with pytest.raises(MeterUnavailable, match="no NVIDIA driver"):
        probe_meter("nvml", EnergyConfig())


def test_jtop_socket_without_a_working_jtop_falls_back_to_sysfs(tmp_path):
    root = copy_tree("jetson_orin_nano_jp5", tmp_path)
    (root / "run").mkdir()
    (root / "run/jtop.sock").touch()
    meter = jetson.probe(opts_for(root))
    # jetson-stats missing (here) or its service not answering: the hwmon files are read instead.
    assert any("reading the power monitors directly" in a for a in meter.assumptions)
    assert meter.detail.startswith("INA power monitor rails: VDD_IN")


# ----------------------------------------------------------------------------- meters from other packages

_PLUGIN = textwrap.dedent('''
    from suite.energy.meter import CounterMeter, MeterUnavailable

    def probe(opts):
        if opts.region == "NOWHERE":
            raise MeterUnavailable("usbmeter", "no USB power meter plugged in.", "plug it in")
        total = [0.0]

        def read():
            total[0] += 1.5
            return {"usb": total[0]}

        return CounterMeter("usbmeter", read, period_s=0.01, detail="fake USB meter on /dev/ttyUSB0")
''')


@pytest.fixture
def meter_plugin(tmp_path, monkeypatch):
    """A distribution installed on sys.path that declares meters in the `bench.meters` group:
    one that works, one whose module is missing, and one that tries to take a built-in name."""
    site = tmp_path / "site"
    dist = site / "fake_bench_meter-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-bench-meter\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bench.meters]\nUSBMeter = fake_bench_meter:probe\n"
                                           "broken = fake_bench_meter_gone:probe\nrapl = fake_bench_meter:probe\n")
    (site / "fake_bench_meter.py").write_text(_PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    return site


def test_a_meter_from_another_package(meter_plugin, tmp_path):
    from suite.config.bench_config import validate_config
    from suite.energy import (
        ENTRY_POINT_GROUP,
        canonical_meter_name,
        describe_meters,
        known_meters,
        select_meter,
    )

    assert ENTRY_POINT_GROUP == "bench.meters"
    meters = known_meters()
    assert list(meters) == ["rapl", "nvml", "jetson", "rpi5-pmic", "broken", "usbmeter", "estimate"]
    assert meters["rapl"] == "suite.energy.rapl:probe"  # a plug-in cannot take a built-in name
    assert canonical_meter_name("UsbMeter") == "usbmeter"
    assert validate_config({"models": ["resnet18"], "energy": {"meter": "usbmeter"}}).energy.meter == "usbmeter"

    meter = select_meter(EnergyConfig(meter="usbmeter"))
    meter.start()
    assert meter.stop().energy_j == pytest.approx(1.5)
    meter.close()
    with pytest.raises(MeterUnavailable, match="fake_bench_meter_gone:probe cannot be loaded"):
        probe_meter("broken", EnergyConfig())

    # auto: the built-in sensors first (none in an empty tree), then the plug-ins, the estimate last
    empty = opts_for(tmp_path / "empty")
    assert select_meter(empty).name in ("nvml", "usbmeter")  # nvml only where an NVIDIA driver runs
    rows = {s.name: s for s in describe_meters(empty.model_copy(update={"region": "NOWHERE"}))}
    assert not rows["usbmeter"].usable and rows["usbmeter"].reason == "no USB power meter plugged in. Fix: plug it in"
    assert not rows["broken"].usable and "cannot be loaded" in rows["broken"].reason


def test_a_plugin_meter_name_is_unknown_once_its_package_is_gone(tmp_path):
    from suite.config.bench_config import validate_config
    from suite.errors import ConfigError

    with pytest.raises(ConfigError, match="Unknown energy meter 'usbmeter'"):
        validate_config({"models": ["resnet18"], "energy": {"meter": "usbmeter"}})
