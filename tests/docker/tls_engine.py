"""A CA, server and client certificates made on the spot, and a Docker engine that only takes
TLS clients with a certificate from that CA (`dockerd --tlsverify`), for the fleet's TLS tests."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificates(out: Path) -> dict[str, Path]:
    """out/ca/{ca.pem,ca-key.pem}, out/server/{ca,cert,key}.pem (for 127.0.0.1 and localhost),
    out/client/{ca,cert,key}.pem (docker's client layout), out/ca-only/ca.pem and
    out/other-client/ (a client signed by another CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def name(cn: str):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def ca(cn: str):
        k = key()
        cert = (
            x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
            .public_key(k.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(k, hashes.SHA256())
        )
        return cert, k

    def leaf(ca_cert, ca_key, cn: str, usage, sans=None):
        k = key()
        b = (
            x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca_cert.subject)
            .public_key(k.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return b.sign(ca_key, hashes.SHA256()), k

    def write(folder: Path, **items) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for fname, obj in items.items():
            if hasattr(obj, "private_bytes"):
                data = obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
            else:
                data = obj.public_bytes(serialization.Encoding.PEM)
            path = folder / f"{fname.replace('_', '-')}.pem"
            path.write_bytes(data)
            if hasattr(obj, "private_bytes"):
                path.chmod(0o600)

    ca_cert, ca_key = ca("bench test CA")
    server_cert, server_key = leaf(ca_cert, ca_key, "bench test engine", ExtendedKeyUsageOID.SERVER_AUTH,
                                   [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client_cert, client_key = leaf(ca_cert, ca_key, "bench test client", ExtendedKeyUsageOID.CLIENT_AUTH)
    other_ca, other_ca_key = ca("some other CA")
    other_cert, other_key = leaf(other_ca, other_ca_key, "stranger", ExtendedKeyUsageOID.CLIENT_AUTH)

    write(out / "ca", ca=ca_cert, ca_key=ca_key)
    write(out / "server", ca=ca_cert, cert=server_cert, key=server_key)
    write(out / "client", ca=ca_cert, cert=client_cert, key=client_key)
    write(out / "ca-only", ca=ca_cert)
    write(out / "other-client", ca=ca_cert, cert=other_cert, key=other_key)
    return {k: out / k for k in ("ca", "server", "client", "ca-only", "other-client")}


@dataclass
class TLSEngine:
    address: str  # 127.0.0.1:PORT
    certs: dict[str, Path]
    root: Path
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"tcp://{self.address}"

    @property
    def socket_url(self) -> str:
        return f"unix://{self.root / 'docker.sock'}"


def start_tls_engine(root: Path, wait_s: float = 60.0) -> TLSEngine:
    """dockerd with --tlsverify on a free loopback port, its own data root, exec root, pidfile,
    unix socket and daemon.json (no bridge, no iptables) under `root`. AssertionError, with the
    end of its log, when it does not answer over TLS in time."""
    dockerd = shutil.which("dockerd")
    assert dockerd, "dockerd is not installed (scripts/start-docker.sh installs docker.io)"
    certs = make_certificates(root / "certs")
    port = free_port()
    config = root / "daemon.json"
    config.write_text(json.dumps({"bridge": "none", "iptables": False, "ip-masq": False,
                                  "ip6tables": False}))
    # dockerd's --exec-root holds containerd's socket, whose path must stay short.
    for d in ("data", "exec"):
        (root / d).mkdir(parents=True, exist_ok=True)
    log = open(root / "dockerd.log", "wb")
    args = [
        dockerd, "--config-file", str(config),
        "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
        "--pidfile", str(root / "docker.pid"),
        "-H", f"unix://{root / 'docker.sock'}", "-H", f"tcp://127.0.0.1:{port}",
        "--tlsverify", "--tlscacert", str(certs["server"] / "ca.pem"),
        "--tlscert", str(certs["server"] / "cert.pem"), "--tlskey", str(certs["server"] / "key.pem"),
    ]
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    log.close()
    engine = TLSEngine(f"127.0.0.1:{port}", certs, root, proc)
    deadline = time.monotonic() + wait_s
    import docker
    from docker.constants import MINIMUM_DOCKER_API_VERSION
    from docker.tls import TLSConfig

    tls = TLSConfig(client_cert=(str(certs["client"] / "cert.pem"), str(certs["client"] / "key.pem")),
                    ca_cert=str(certs["client"] / "ca.pem"), verify=True)
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            api = docker.APIClient(base_url=engine.url, tls=tls, timeout=5, version=MINIMUM_DOCKER_API_VERSION)
            api.trust_env = False  # else REQUESTS_CA_BUNDLE replaces the test CA
            try:
                api.ping()
            finally:
                api.close()
            return engine
        except Exception as exc:  # not up yet
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.3)
    stop_tls_engine(engine)
    tail = (root / "dockerd.log").read_text(errors="replace")[-3000:]
    raise AssertionError(f"the TLS engine did not answer within {wait_s:.0f} s (exit {proc.returncode}; "
                         f"last error {last}); its log:\n{tail}")


def stop_tls_engine(engine: TLSEngine, wait_s: float = 30.0) -> None:
    """SIGTERM to dockerd (it stops its containerd and containers), SIGKILL if it lingers."""
    proc = engine.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


TINY_TAG = "bench-test:tiny-sh"


def tiny_shell_image(client, tag: str = TINY_TAG) -> str:
    """An image of this machine's /bin/sh and the libraries it loads, plus an empty /reports:
    a few MB, made from local files in a second (no base image, no registry), enough for a
    container that runs `sh -c ...` and leaves files in /reports."""
    import io
    import re
    import tarfile

    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
        return tag  # made by an earlier run: importing again would leave the old one dangling
    except ImageNotFound:
        pass
    sh = os.path.realpath("/bin/sh")
    ldd = subprocess.run(["ldd", sh], capture_output=True, text=True, check=True).stdout
    files = {sh} | {os.path.realpath(p) for p in re.findall(r"(/\S+) \(0x", ldd)}
    links = {p: os.path.realpath(p) for p in re.findall(r"(/\S+) \(0x", ldd) if os.path.realpath(p) != p}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("reports", "tmp", "bin"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d in ("reports", "tmp") else 0o755
            tar.addfile(info)
        for path in sorted(files):
            tar.add(path, arcname=path.lstrip("/"))
        for link, target in {**links, "/bin/sh": sh}.items():
            if link != target:
                info = tarfile.TarInfo(link.lstrip("/"))
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
    repo, _, name = tag.partition(":")
    client.api.import_image_from_data(buf.getvalue(), repository=repo, tag=name or "latest")
    return tag


def sleepy_image(client, tmp_path, tag: str = "bench-test:tiny-sleep") -> str:
    """The few-MB shell image plus this machine's /bin/sleep (it needs only the C library): a
    container that runs for as long as asked (a fleet host that goes away mid-run, here and in
    scripts/verify-arm64.sh). `tmp_path` is the build context's folder."""
    from pathlib import Path

    ctx = Path(tmp_path)
    shutil.copy("/bin/sleep", ctx / "sleep")
    (ctx / "Dockerfile").write_text(f"FROM {tiny_shell_image(client)}\nCOPY sleep /bin/sleep\n")
    client.images.build(path=str(ctx), tag=tag, rm=True, network_mode="host")
    return tag
