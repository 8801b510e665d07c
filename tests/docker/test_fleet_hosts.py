"""How the fleet reaches each host, without an engine: TLS settings from hosts.toml and the
environment, plain TCP refused off loopback, ssh:// as the docker SDK takes it, and a URL's
credentials never shown. (test_fleet_tls.py does the same against a real TLS engine.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docker_helpers import bench_cli
from tls_engine import free_port

from suite.containers.connection import (
    is_loopback,
    redact_url,
    resolve_connection,
    scrub,
)
from suite.containers.fleet import parse_hosts, run_fleet
from suite.errors import ConfigError

PASSWORD = "Pa55-w0rd/with#odd@chars"  # '/', '#', '@': no URL parser may cut it short


def _host(environ=None, base_dir=None, **host):
    return parse_hosts({"host": [{"name": "h", **host}]}, environ=environ or {}, base_dir=base_dir)[0]


def _conn(environ=None, base_dir=None, **host):
    return resolve_connection(_host(environ, base_dir, **host), environ or {}, base_dir)


def _certs(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_text("not read before connecting\n")
    return folder


# ----------------------------------------------------------------------------- redaction


@pytest.mark.parametrize(("url", "shown"), [
    (f"tcp://admin:{PASSWORD}@10.0.0.5:2376", "tcp://***@10.0.0.5:2376"),
    ("tcp://token-only@10.0.0.5:2376", "tcp://***@10.0.0.5:2376"),
    ("https://a:b@[::1]:2376", "https://***@[::1]:2376"),
    ("ssh://pi@pi5.local", "ssh://pi@pi5.local"),  # an ssh user is no secret; it says which account
    (f"ssh://pi:{PASSWORD}@pi5.local:2222", "ssh://pi:***@pi5.local:2222"),
    ("unix:///var/run/docker.sock", "unix:///var/run/docker.sock"),
    ("tcp://127.0.0.1:2375", "tcp://127.0.0.1:2375"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown
    assert PASSWORD not in redact_url(url)


def test_scrub_masks_the_url_and_its_password_in_any_text():
    url = f"tcp://admin:{PASSWORD}@10.0.0.5:2376"
    text = f"failed at {url}; auth admin:{PASSWORD}; again {PASSWORD}"
    out = scrub(text, url)
    assert PASSWORD not in out and "tcp://***@10.0.0.5:2376" in out
    assert scrub("unreachable", "tcp://u@127.0.0.1:1") == "unreachable"  # a 1-letter user mangles nothing


@pytest.mark.parametrize(("name", "loopback"), [
    ("127.0.0.1", True), ("127.10.20.30", True), ("::1", True), ("[::1]", True),
    ("::ffff:127.0.0.1", True), ("localhost", True), ("LocalHost.", True),
    ("10.0.0.1", False), ("0.0.0.0", False), ("192.168.1.2", False), ("::", False),
    ("pi5.local", False), ("localhost.example.com", False), ("", False),
])
def test_is_loopback(name, loopback):
    assert is_loopback(name) is loopback


# ----------------------------------------------------------------------------- plain TCP


@pytest.mark.parametrize("url", ["tcp://10.0.0.12:2375", "http://10.0.0.12:2375", "tcp://pi5.local:2375",
                                 "tcp://0.0.0.0:2375", f"tcp://admin:{PASSWORD}@10.0.0.12:2375"])
def test_plain_tcp_off_loopback_is_refused_when_loading(url):
    with pytest.raises(ConfigError) as info:
        _host(url=url)
    msg = str(info.value)
    assert "host h (" in msg and "plain TCP to a non-loopback address is refused" in msg
    assert "tls = true" in msg and "cert_path" in msg and "insecure = true" in msg and "ssh://" in msg
    assert PASSWORD not in msg


@pytest.mark.parametrize("url", ["tcp://127.0.0.1:2375", "tcp://localhost:2375", "tcp://[::1]:2375",
                                 "http://127.0.0.2:2375", "unix:///var/run/docker.sock"])
def test_loopback_and_unix_stay_allowed(url):
    conn = _conn(url=url)
    assert conn.tls is None and conn.base_url == url


def test_insecure_allows_plain_tcp_off_loopback():
    conn = _conn(url="tcp://10.0.0.12:2375", insecure=True)
    assert conn.tls is None and conn.base_url == "tcp://10.0.0.12:2375"


def test_defaults_can_set_insecure_and_tls_for_every_host(tmp_path):
    certs = _certs(tmp_path / "c", "ca.pem", "cert.pem", "key.pem")
    hosts = parse_hosts({
        "defaults": {"tls": True, "cert_path": str(certs)},
        "host": [{"name": "a", "url": "tcp://10.0.0.1:2376"}, {"name": "b", "url": "tcp://10.0.0.2:2376"}],
    }, environ={})
    assert all(resolve_connection(h, {}).tls.ca == str(certs / "ca.pem") for h in hosts)


# ----------------------------------------------------------------------------- TLS settings


def test_tls_from_the_hosts_file(tmp_path):
    certs = _certs(tmp_path / "lab-2", "ca.pem", "cert.pem", "key.pem")
    conn = _conn(url="tcp://10.0.0.12:2376", tls=True, cert_path=str(certs))
    assert conn.tls.verify and conn.tls.source == "hosts file"
    assert (conn.tls.ca, conn.tls.cert, conn.tls.key) == tuple(str(certs / f) for f in ("ca.pem", "cert.pem", "key.pem"))
    # cert_path alone means TLS too; tls_verify defaults to true.
    assert _conn(url="tcp://10.0.0.12:2376", cert_path=str(certs)).tls.verify


def test_relative_cert_path_is_taken_from_the_hosts_files_folder(tmp_path):
    _certs(tmp_path / "certs" / "lab-2", "ca.pem", "cert.pem", "key.pem")
    conn = _conn(url="tcp://10.0.0.12:2376", tls=True, cert_path="certs/lab-2", base_dir=tmp_path)
    assert conn.tls.ca == str(tmp_path / "certs/lab-2/ca.pem")


def test_missing_certificate_files_name_the_host_and_the_file(tmp_path):
    empty = _certs(tmp_path / "empty")
    with pytest.raises(ConfigError, match=r"host h \(tcp://10\.0\.0\.12:2376\).*no CA certificate .*empty/ca\.pem"):
        _conn(url="tcp://10.0.0.12:2376", tls=True, cert_path=str(empty))
    half = _certs(tmp_path / "half", "ca.pem", "cert.pem")
    with pytest.raises(ConfigError, match=r"host h .*half/key\.pem is missing"):
        _conn(url="tcp://10.0.0.12:2376", tls=True, cert_path=str(half))
    with pytest.raises(ConfigError, match=r"host h .*cert_path .*nowhere is not a folder"):
        _conn(url="tcp://10.0.0.12:2376", tls=True, cert_path=str(tmp_path / "nowhere"))


def test_a_ca_alone_is_tls_without_a_client_certificate(tmp_path):
    conn = _conn(url="tcp://10.0.0.12:2376", tls=True, cert_path=str(_certs(tmp_path / "c", "ca.pem")))
    assert conn.tls.ca and conn.tls.cert is None and conn.tls.key is None


def test_tls_without_verification_needs_no_ca(tmp_path):
    conn = _conn(url="tcp://10.0.0.12:2376", tls=True, tls_verify=False,
                 cert_path=str(_certs(tmp_path / "c", "cert.pem", "key.pem")))
    assert not conn.tls.verify and conn.tls.ca is None and conn.tls.cert


def test_the_docker_environment_variables_apply_to_hosts_without_tls_keys(tmp_path):
    certs = _certs(tmp_path / "env", "ca.pem", "cert.pem", "key.pem")
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
    conn = _conn(env, url="tcp://10.0.0.12:2376")
    assert conn.tls.verify and conn.tls.ca == str(certs / "ca.pem")
    assert conn.tls.source == "DOCKER_TLS_VERIFY/DOCKER_CERT_PATH"
    # docker.utils.kwargs_from_env: DOCKER_TLS_VERIFY='' is false; DOCKER_CERT_PATH alone is TLS
    # without verifying the engine.
    unverified = _conn({"DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": str(certs)}, url="tcp://10.0.0.12:2376")
    assert not unverified.tls.verify and unverified.tls.cert == str(certs / "cert.pem")
    # DOCKER_TLS_VERIFY without DOCKER_CERT_PATH: ~/.docker, as the SDK and CLI do.
    with pytest.raises(ConfigError, match=r"DOCKER_TLS_VERIFY/DOCKER_CERT_PATH.*\.docker/ca\.pem"):
        _conn({"DOCKER_TLS_VERIFY": "1", "HOME": str(tmp_path)}, url="tcp://10.0.0.12:2376")
    # A host's own keys win over the environment; tls = false turns it off for that host.
    own = _certs(tmp_path / "own", "ca.pem", "cert.pem", "key.pem")
    assert _conn(env, url="tcp://10.0.0.12:2376", cert_path=str(own)).tls.ca == str(own / "ca.pem")
    assert _conn(env, url="tcp://127.0.0.1:2375", tls=False).tls is None
    # Not for unix:// or ssh:// hosts (the docker CLI does not use TLS there either).
    assert _conn(env, url="ssh://pi@pi5.local").tls is None
    assert _conn(env, url="unix:///var/run/docker.sock").tls is None


def test_a_missing_env_certificate_says_which_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"point DOCKER_CERT_PATH at .*or unset DOCKER_TLS_VERIFY"):
        _conn({"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(_certs(tmp_path / "e"))},
              url="tcp://10.0.0.12:2376")


def test_https_url_is_tls_and_http_url_is_plain(tmp_path):
    conn = _conn(url="https://10.0.0.12:2376")
    assert conn.tls.verify and conn.tls.ca is None  # the system's CAs, as the SDK does
    with pytest.raises(ConfigError, match="tls = true with an http:// URL"):
        _conn(url="http://127.0.0.1:2375", tls=True)


def test_client_kwargs_give_the_sdk_a_real_tls_config(tmp_path):
    """A docker.APIClient built from them (pinned API version: nothing connects) talks https
    with the CA and client certificate of cert_path."""
    import docker
    from docker.tls import TLSConfig

    certs = _certs(tmp_path / "c", "ca.pem", "cert.pem", "key.pem")
    conn = _conn(url="tcp://10.0.0.12:2376", tls=True, cert_path=str(certs))
    kwargs = conn.client_kwargs(7)
    assert isinstance(kwargs["tls"], TLSConfig) and kwargs["timeout"] == 7
    api = docker.APIClient(**kwargs, version="1.41")
    try:
        conn.configure_session(api)
        assert api.base_url == "https://10.0.0.12:2376"
        assert api.verify == str(certs / "ca.pem")
        assert api.cert == (str(certs / "cert.pem"), str(certs / "key.pem"))
        assert api.trust_env is False  # REQUESTS_CA_BUNDLE must not replace the engine's CA
    finally:
        api.close()


# ----------------------------------------------------------------------------- ssh


def test_ssh_hosts_go_to_the_sdk_as_written():
    conn = _conn(url="ssh://pi@pi5.local")
    assert conn.client_kwargs(30) == {"base_url": "ssh://pi@pi5.local", "timeout": 30, "use_ssh_client": True}
    paramiko = _conn(url="ssh://pi@pi5.local:2222", use_ssh_client=False)
    assert paramiko.client_kwargs(30)["use_ssh_client"] is False
    with pytest.raises(ConfigError, match=r"ssh://pi:\*\*\*@pi5\.local.*cannot carry a password") as info:
        _conn(url=f"ssh://pi:{PASSWORD}@pi5.local")
    assert PASSWORD not in str(info.value)


def test_ssh_client_is_built_by_the_sdk_without_connecting():
    """use_ssh_client=True: the SDK's ssh adapter shells out to `ssh` lazily, on the first
    request, so a real client can be built here with no ssh server. (paramiko comes with the
    fleet extra, docker[ssh].)"""
    import docker
    from docker.transport import SSHHTTPAdapter

    conn = _conn(url="ssh://pi@pi5.local")
    api = docker.APIClient(**conn.client_kwargs(30), version="1.41")
    adapter = api.get_adapter("http+docker://ssh")
    assert isinstance(adapter, SSHHTTPAdapter)
    assert adapter.ssh_client is None  # shell-out mode: no paramiko connection was made
    assert adapter.ssh_host == "pi@pi5.local:22"
    api.close()


def test_ssh_without_paramiko_says_what_to_install(tmp_path):
    """Where paramiko is missing (docker installed without its ssh extra) the SDK cannot build any
    ssh:// client, not even the shell-out one: the host is reported unreachable with what to
    install, by the real SDK, in a child Python where paramiko cannot be imported."""
    import subprocess
    import sys

    from console_script import blocker, script_env

    code = ("from suite.containers.connection import connect_engine, resolve_connection\n"
            "from suite.containers.fleet import parse_hosts\n"
            "from suite.containers.images import DockerError\n"
            "host = parse_hosts({'host': [{'name': 'pi', 'url': 'ssh://pi@pi5.local'}]})[0]\n"
            "try:\n    connect_engine(resolve_connection(host, {}), timeout_s=5)\n"
            "except DockerError as exc:\n    print('DockerError:', exc)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                         env=script_env(blocker(tmp_path, "paramiko")))
    assert res.returncode == 0, res.stderr
    assert re.search(r"DockerError: .*ssh://pi@pi5\.local.*pip install 'docker\[ssh\]'", " ".join(res.stdout.split()))


# ----------------------------------------------------------------------------- credentials


def test_reprs_do_not_show_credentials():
    url = f"tcp://admin:{PASSWORD}@127.0.0.1:2375"
    host = _host(url=url)
    conn = resolve_connection(host, {})
    assert conn.auth == ("admin", PASSWORD) and conn.base_url == "tcp://127.0.0.1:2375"
    assert PASSWORD not in repr(conn) and PASSWORD not in repr(host) and PASSWORD not in str(host)


def test_an_unreachable_host_with_credentials_never_shows_them(tmp_path):
    url = f"tcp://admin:{PASSWORD}@127.0.0.1:{free_port()}"  # nothing listens there
    lines: list[str] = []
    result = run_fleet(parse_hosts({"host": [{"name": "h", "url": url, "connect_timeout_s": 3}]}), tmp_path,
                       on_log=lambda host, line: lines.append(line))
    (h,) = result.hosts
    assert h.status == "unreachable" and h.url.startswith("tcp://***@127.0.0.1:")
    everything = "\n".join(lines) + result.model_dump_json()
    assert "Cannot reach the Docker engine at tcp://***@127.0.0.1:" in everything
    assert PASSWORD not in everything and "admin" not in everything


def test_cli_refuses_plain_tcp_with_exit_2_and_no_credentials(tmp_path):
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(f'[[host]]\nname = "lab-2"\nurl = "tcp://admin:{PASSWORD}@10.0.0.12:2375"\n')
    proc = bench_cli("fleet", "run", str(hosts), "-o", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "host lab-2 (tcp://***@10.0.0.12:2375)" in proc.stderr
    assert "insecure = true" in proc.stderr and "tls = true" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    assert not (tmp_path / "out").exists()


def test_cli_names_a_missing_certificate_with_exit_2(tmp_path):
    certs = _certs(tmp_path / "certs" / "lab-2", "ca.pem", "cert.pem")
    hosts = tmp_path / "hosts.toml"
    hosts.write_text('[[host]]\nname = "lab-2"\nurl = "tcp://10.0.0.12:2376"\n'
                     'tls = true\ncert_path = "certs/lab-2"\n')  # relative to the hosts file
    proc = bench_cli("fleet", "run", str(hosts), "-o", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "host lab-2" in proc.stderr and str(certs / "key.pem") in proc.stderr.replace("\n", "")
    assert "Traceback" not in proc.stderr
