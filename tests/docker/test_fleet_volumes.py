"""hosts.toml's `volumes`: docker-style "HOST:CONTAINER[:ro|rw]" bind mounts that reach the
fleet's container beside the meter mounts (scripts/verify-arm64.sh gives the emulated arm64 host
its MIDR_EL1 stand-in this way). Parsing without an engine; the mount on a real engine."""

from __future__ import annotations

import pytest
from console_script import installed_bench, usage_error
from tls_engine import tiny_shell_image

from suite.containers.fleet import parse_hosts, parse_volume, run_fleet
from suite.containers.platform import Mount
from suite.errors import ConfigError


def _host(**keys):
    return parse_hosts({"host": [{"name": "h", "url": "unix:///var/run/docker.sock", **keys}]})[0]


@pytest.mark.parametrize("spec, mount", [
    ("/srv/data:/data", Mount("/srv/data", "/data", read_only=False)),  # rw by default, as docker -v
    ("/srv/data:/data:rw", Mount("/srv/data", "/data", read_only=False)),
    ("/srv/cpu0:/sys/devices/system/cpu/cpu0:ro", Mount("/srv/cpu0", "/sys/devices/system/cpu/cpu0", read_only=True)),
    ("/srv/data:/data/:ro", Mount("/srv/data", "/data", read_only=True)),
])
def test_parse_volume(spec, mount):
    assert parse_volume(spec) == mount


def test_hosts_take_volumes_from_defaults_and_default_to_none():
    assert _host().volumes == []
    hosts = parse_hosts({"defaults": {"volumes": ["/a:/a:ro"]},
                         "host": [{"name": "x", "url": "unix:///x"}, {"name": "y", "url": "unix:///y", "volumes": []}]})
    assert [h.volumes for h in hosts] == [["/a:/a:ro"], []]


@pytest.mark.parametrize("volumes, words", [
    (["/srv/data"], "'/srv/data' is not HOST:CONTAINER or HOST:CONTAINER:ro|rw"),
    (["/a:/b:ro:x"], "is not HOST:CONTAINER"),
    (["/a::ro"], "is not HOST:CONTAINER"),
    (["data:/data"], "the host path 'data' must be absolute"),
    (["/srv/data:data"], "the container path 'data' must be an absolute path other than /"),
    (["/srv/data:/"], "the container path '/' must be"),
    (["/srv/data:/data:rx"], "the mode 'rx' must be ro (read-only) or rw"),
    (["/a:/data", "/b:/data/:ro"], "two volumes are mounted at /data"),
    ("/a:/b", "field 'volumes'"),  # a string, not a list
])
def test_bad_volumes_name_the_host_the_entry_and_the_form(volumes, words):
    with pytest.raises(ConfigError) as err:
        _host(volumes=volumes)
    message = str(err.value)
    assert message.startswith("hosts.toml: host h: field 'volumes"), message
    assert words in message


def test_the_installed_bench_refuses_a_bad_volume_with_exit_2(tmp_path):
    hosts = tmp_path / "hosts.toml"
    hosts.write_text('[[host]]\nname = "pi5"\nurl = "unix:///var/run/docker.sock"\nvolumes = ["cpu0:/sys/cpu0:ro"]\n')
    text = usage_error(installed_bench("fleet", "run", str(hosts), "-o", str(tmp_path / "out"), timeout=120))
    assert "host pi5" in text and "'cpu0:/sys/cpu0:ro'" in text and "must be absolute" in text
    assert 'e.g. "/srv/data:/data:ro"' in text
    assert not (tmp_path / "out").exists()  # refused before anything ran


@pytest.mark.docker
def test_volumes_reach_the_container_beside_the_meter_mounts(engine, tmp_path):
    """A read-only and a read-write mount on a real engine: the container reads the one, cannot
    write to it, writes through the other; the x86 meter mounts (/host/sys/class) are still there."""
    tiny = tiny_shell_image(engine)
    src, dst = tmp_path / "in", tmp_path / "out-dir"
    src.mkdir()
    dst.mkdir()
    dst.chmod(0o777)
    (src / "note.txt").write_text("from the host\n")
    script = ('read line < /in/note.txt; echo "read: $line"; '
              'if (echo x > /in/new) 2>/dev/null; then echo "ro: writable"; else echo "ro: refused"; fi; '
              'echo written > /rw/new.txt; '
              'if [ -d /host/sys/class ]; then echo "meters: $BENCH_SYSFS_ROOT"; else echo "meters: none"; fi')
    hosts = parse_hosts({"host": [{
        "name": "vol", "url": "unix:///var/run/docker.sock", "platform": "x86", "image": tiny,
        "volumes": [f"{src}:/in:ro", f"{dst}:/rw"], "entrypoint": ["sh", "-c", script], "args": [],
    }]})
    lines: list[str] = []
    result = run_fleet(hosts, tmp_path / "fleet", merge=False, on_log=lambda host, line: lines.append(line))
    (h,) = result.hosts
    assert h.status == "ok", (h, lines)
    assert "read: from the host" in lines
    assert "ro: refused" in lines and not (src / "new").exists()
    assert (dst / "new.txt").read_text() == "written\n"
    assert "meters: /host" in lines, lines
