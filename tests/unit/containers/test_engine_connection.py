"""suite.containers.connection: how the fleet reaches an engine. Credentials in a URL never reach
the output; plain TCP off this machine is refused; TLS folders are checked file by file (real
files written here); a real refused connection comes back as one error without the secret."""

from __future__ import annotations

import socket

import pytest

from suite.containers.connection import (
    MASK,
    connect_engine,
    is_loopback,
    redact_url,
    resolve_connection,
    scrub,
    url_secrets,
)
from suite.containers.fleet import HostSpec
from suite.containers.images import DockerError
from suite.errors import ConfigError


@pytest.mark.parametrize("url, shown", [
    ("tcp://admin:s3cr3t@10.0.0.5:2376", f"tcp://{MASK}@10.0.0.5:2376"),
    ("https://tok/with#odd@chars@engine.lab:2376", f"https://{MASK}@engine.lab:2376"),
    ("ssh://pi@pi5.local", "ssh://pi@pi5.local"),
    ("ssh://pi:hunter22@pi5.local", f"ssh://pi:{MASK}@pi5.local"),
    ("unix:///var/run/docker.sock", "unix:///var/run/docker.sock"),
])
def test_urls_are_shown_without_their_secrets(url, shown):
    assert redact_url(url) == shown


def test_every_form_of_a_secret_is_scrubbed_from_messages():
    url = "tcp://admin:p%40ss%2Fw0rd@10.0.0.5:2376"
    assert {"admin:p%40ss%2Fw0rd", "p@ss/w0rd", "p%40ss%2Fw0rd"} <= set(url_secrets(url))
    text = f"GET {url}/info failed for admin:p@ss/w0rd (password p%40ss%2Fw0rd) unreachable"
    out = scrub(text, url)
    assert "p@ss/w0rd" not in out and "p%40ss%2Fw0rd" not in out and "unreachable" in out
    assert redact_url(url) in out


@pytest.mark.parametrize("name, loop", [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True),
                                        ("::ffff:127.0.0.1", True), ("localhost", True), ("LOCALHOST.", True),
                                        ("10.0.0.5", False), ("localhost.evil.com", False), (None, False)])
def test_loopback_by_address_never_by_a_lookup(name, loop):
    assert is_loopback(name) is loop


def _host(url: str, **kw) -> HostSpec:
    return HostSpec(name="h", url=url, **kw)


def test_plain_tcp_is_refused_off_this_machine_unless_insecure():
    with pytest.raises(ConfigError, match=r"host h \(tcp://10.0.0.5:2375\): plain TCP to a non-loopback address"):
        resolve_connection(_host("tcp://10.0.0.5:2375"), environ={})
    assert resolve_connection(_host("tcp://127.0.0.1:2375"), environ={}).tls is None
    assert resolve_connection(_host("tcp://10.0.0.5:2375", insecure=True), environ={}).base_url == "tcp://10.0.0.5:2375"
    with pytest.raises(ConfigError, match="cannot carry a password"):
        resolve_connection(_host("ssh://pi:pw@pi5"), environ={})


def test_tls_files_are_checked_and_credentials_leave_the_url(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    with pytest.raises(ConfigError, match=r"no CA certificate .*ca.pem"):
        resolve_connection(_host("tcp://engine:2376", tls=True, cert_path="certs"), environ={}, base_dir=tmp_path)
    (certs / "ca.pem").write_text("ca")
    (certs / "cert.pem").write_text("cert")
    with pytest.raises(ConfigError, match=r"key.pem is missing"):
        resolve_connection(_host("tcp://engine:2376", tls=True, cert_path="certs"), environ={}, base_dir=tmp_path)
    (certs / "key.pem").write_text("key")
    conn = resolve_connection(_host("tcp://bob:pw1234@engine:2376", tls=True, cert_path="certs"), environ={},
                              base_dir=tmp_path)
    assert conn.base_url == "tcp://engine:2376" and conn.auth == ("bob", "pw1234")
    assert (conn.tls.ca, conn.tls.cert, conn.tls.key) == tuple(str(certs / f) for f in ("ca.pem", "cert.pem", "key.pem"))
    assert "pw1234" not in repr(conn) and conn.needs_session_settings
    env_conn = resolve_connection(_host("tcp://engine:2376"), environ={"DOCKER_TLS_VERIFY": "1",
                                                                      "DOCKER_CERT_PATH": str(certs)})
    assert env_conn.tls.source == "DOCKER_TLS_VERIFY/DOCKER_CERT_PATH" and env_conn.tls.verify


def test_a_refused_connection_is_one_error_without_the_secret():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = resolve_connection(_host(f"tcp://ops:t0ps3cret@127.0.0.1:{port}"), environ={})
    with pytest.raises(DockerError) as err:
        connect_engine(conn, timeout_s=3)
    assert "t0ps3cret" not in str(err.value) and f"127.0.0.1:{port}" in str(err.value)
