"""The fleet against a real Docker engine that takes only TLS clients with a certificate from
its CA (`dockerd --tlsverify`, certificates made here): a host with `tls = true` and
`cert_path` connects, gets an image shipped and runs a container over TLS; a host without a
client certificate, with another CA's certificate, or without TLS is refused by the engine and
reported as that host's error; credentials in the URL are shown nowhere.

Like the other docker tests these skip only when no engine can be started at all (the
`engine` fixture); a TLS engine that does not start fails them."""

from __future__ import annotations

import time

import pytest
from docker_helpers import bench_cli
from tls_engine import TINY_TAG, start_tls_engine, stop_tls_engine, tiny_shell_image

from suite.containers.connection import connect_engine, resolve_connection
from suite.containers.fleet import parse_hosts
from suite.containers.images import DockerError

pytestmark = pytest.mark.docker

PASSWORD = "tls-Pa55word-never-shown"


@pytest.fixture(scope="module")
def tls_engine(engine, tmp_path_factory):
    # A short root: dockerd puts containerd's socket under its exec root (108-byte limit).
    root = tmp_path_factory.mktemp("tlsd", numbered=True)
    t0 = time.monotonic()
    started = start_tls_engine(root)
    started.startup_s = time.monotonic() - t0
    yield started
    stop_tls_engine(started)
    assert started.proc.returncode is not None


@pytest.fixture(scope="module")
def tiny_image(engine) -> str:
    return tiny_shell_image(engine)


def _conn(environ=None, **host):
    spec = parse_hosts({"host": [{"name": "h", "connect_timeout_s": 10, **host}]}, environ=environ or {})[0]
    return resolve_connection(spec, environ or {})


def test_tls_host_connects_and_version_works(tls_engine, monkeypatch):
    # The machine's CA bundle in the environment must not replace the engine's CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    conn = _conn(url=tls_engine.url, tls=True, cert_path=str(tls_engine.certs["client"]))
    client = connect_engine(conn, timeout_s=10)
    try:
        assert client.api.base_url == f"https://{tls_engine.address}"
        assert client.version()["ApiVersion"]
    finally:
        client.close()


def test_docker_tls_environment_variables_are_honoured(tls_engine):
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tls_engine.certs["client"])}
    client = connect_engine(_conn(env, url=tls_engine.url), timeout_s=10)
    try:
        assert client.version()["ApiVersion"]
    finally:
        client.close()


@pytest.mark.parametrize(("certs", "tls", "expected"), [
    (None, False, "the engine speaks TLS and this host connects without it"),
    ("ca-only", True, "TLS: the engine refused this client"),  # no client certificate
    ("other-client", True, "TLS: the engine refused this client"),  # signed by another CA
])
def test_clients_without_the_engines_certificates_are_refused(tls_engine, certs, tls, expected):
    conn = _conn(url=tls_engine.url, tls=tls, **({"cert_path": str(tls_engine.certs[certs])} if certs else {}))
    with pytest.raises(DockerError) as info:
        connect_engine(conn, timeout_s=10)
    assert f"Cannot reach the Docker engine at {tls_engine.url}: {expected}" in str(info.value)


def test_fleet_over_tls_and_refused_hosts_through_the_cli(tls_engine, tiny_image, tmp_path):
    """One `bench fleet run`: the TLS host gets the image shipped and runs a container, whose
    /reports comes back; the host without a client certificate and the plain one are refused
    by the engine and reported per host. Every URL carries a password, which appears in no
    output and no file."""
    port = tls_engine.address.rsplit(":", 1)[1]
    url = f"tcp://fleet:{PASSWORD}@127.0.0.1:{port}"  # the engine ignores the basic auth
    certs = tls_engine.certs
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(
        "[defaults]\n"
        f'platform = "x86"\nimage = "{tiny_image}"\nconnect_timeout_s = 10\nmeters = false\n'
        'entrypoint = ["sh", "-c", "echo hello over TLS; echo done > /reports/tls.txt"]\nargs = []\n\n'
        f'[[host]]\nname = "tls-ok"\nurl = "{url}"\ntls = true\ncert_path = "{certs["client"]}"\nship = true\n\n'
        f'[[host]]\nname = "no-cert"\nurl = "{url}"\ntls = true\ncert_path = "{certs["ca-only"]}"\n\n'
        f'[[host]]\nname = "plain"\nurl = "{url}"\n'
    )
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = bench_cli("fleet", "run", str(hosts), "-o", str(out), timeout=300)
    elapsed = time.monotonic() - t0
    text = proc.stdout + proc.stderr
    # Exit 1: two hosts failed (and nothing to merge: the container wrote no results file).
    assert proc.returncode == 1, text[-4000:]
    assert "Traceback" not in text
    assert "[tls-ok ] hello over TLS" in proc.stdout
    assert f"shipping {TINY_TAG}" in proc.stdout
    assert (out / "tls-ok" / "tls.txt").read_text() == "done\n"
    summary = proc.stdout[proc.stdout.index("fleet: 3 host(s)"):]
    rows = {line.split()[1]: line for line in summary.splitlines() if line.startswith("│ ")}
    assert " ok " in rows["tls-ok"]
    assert "unreachable" in rows["no-cert"] and "unreachable" in rows["plain"]
    flat = " ".join(proc.stdout.split())  # the table wraps long errors
    assert "TLS: the engine refused this client: it wants a client certificate signed by its CA" in flat
    assert "the engine speaks TLS and this host connects without it: set tls = true and cert_path" in flat
    assert "tcp://***@127.0.0.1:" in proc.stdout
    # The password: nowhere.
    assert PASSWORD not in text
    for f in out.rglob("*"):
        if f.is_file():
            assert PASSWORD.encode() not in f.read_bytes(), f
    print(f"TLS engine started in {tls_engine.startup_s:.1f} s; fleet CLI over TLS took {elapsed:.1f} s")
