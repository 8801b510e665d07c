"""How the fleet reaches one Docker engine: TLS, ssh, plain TCP, and host URLs fit to print.

Every host URL that is shown (log lines, errors, the summary, the fleet's outcome) goes through
`redact_url`, and every message that comes back from the docker SDK through
`EngineConnection.scrub`, so credentials written into a URL never reach the output.

The rules, checked when the hosts file is loaded (`resolve_connection`):

- `tcp://` (and `https://`) hosts use TLS when the host says `tls = true` or sets `cert_path` /
  `tls_verify`; a host with none of these keys follows DOCKER_TLS_VERIFY / DOCKER_CERT_PATH as
  `docker.from_env()` does. The certificate folder holds docker's ca.pem, cert.pem and key.pem.
- plain `tcp://` / `http://` to anything but a loopback address is refused unless the host
  says `insecure = true`: an engine's API has no authentication of its own.
- `ssh://user@host` goes to the SDK as it is, through the system's ssh client by default
  (`use_ssh_client`, as in the docker SDK).
- userinfo in a `tcp://`/`https://` URL is taken out of the URL the SDK sees and sent as HTTP
  basic authentication (an engine behind an authenticating proxy); a password in an `ssh://`
  URL is refused (use keys or the agent).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from suite.containers.calls import BACKOFF_S
from suite.containers.images import DockerError, _short
from suite.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:  # fleet imports this module to check its hosts
    from suite.containers.fleet import HostSpec

MASK = "***"
TLS_FILES = ("ca.pem", "cert.pem", "key.pem")
TLS_HINT = ("enable TLS (tls = true and cert_path = a folder with ca.pem, cert.pem and key.pem, "
            "or DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH), use ssh://user@host, or set "
            "insecure = true for this host to accept an unauthenticated connection")


# ----------------------------------------------------------------------------- URLs


def _split(url: str) -> tuple[str, str | None, str]:
    """(scheme, userinfo or None, the rest) without any URL parser's idea of where the
    authority ends: everything before the last '@' of the part after '://' is userinfo, so a
    password holding '/', '#' or '@' is still found."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", None, url
    if "@" not in rest:
        return scheme, None, rest
    userinfo, _, hostpart = rest.rpartition("@")
    return scheme, userinfo, hostpart


def redact_url(url: str) -> str:
    """`url` fit to print: userinfo becomes ***, except an ssh user name (not a secret, and it
    says which account is used), whose password part, if any, becomes ***."""
    scheme, userinfo, rest = _split(url)
    if userinfo is None:
        return url
    if scheme == "ssh":
        user, has_password, _ = userinfo.partition(":")
        return f"ssh://{user}{':' + MASK if has_password else ''}@{rest}"
    return f"{scheme}://{MASK}@{rest}"


def url_secrets(url: str) -> tuple[str, ...]:
    """The strings of `url` that must never be printed (the whole userinfo, its password, and
    their %-decoded forms), longest first. A lone password or token shorter than 4 characters
    is left out: masking it wherever it occurs would mangle messages ("u" in "unreachable"),
    and it is never put into one (the SDK sees URLs without userinfo, the output redacted ones)."""
    scheme, userinfo, _ = _split(url)
    if not userinfo:
        return ()
    user, has_password, password = userinfo.partition(":")
    found = {url}
    if scheme == "ssh":
        if has_password:
            found |= {f"{user}:{password}", password, unquote(password)}
    else:
        found |= {userinfo, unquote(userinfo), password, unquote(password)} if has_password else {userinfo, unquote(userinfo)}
    return tuple(sorted((s for s in found if len(s) >= 4 or ":" in s), key=len, reverse=True))


def scrub(text: str, url: str) -> str:
    """`text` with the raw `url` shown redacted and its secrets masked."""
    if not text:
        return text
    for secret in url_secrets(url):
        text = text.replace(secret, redact_url(url) if secret == url else MASK)
    return text


def is_loopback(hostname: str | None) -> bool:
    """127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and the name localhost. Other names are not
    resolved: a name is only loopback by what the resolver says at connect time."""
    if not hostname:
        return False
    name = hostname.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return bool(addr.is_loopback or (mapped is not None and mapped.is_loopback))


def _hostname(rest: str) -> str:
    """The host of `host:port/path`, `[v6]:port` included."""
    hostport = rest.split("/", 1)[0]
    if hostport.startswith("["):
        return hostport[1:].split("]", 1)[0]
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


# ----------------------------------------------------------------------------- connections


@dataclass(frozen=True)
class TLSFiles:
    """What docker.tls.TLSConfig gets: verify the engine against `ca` when `verify`; present
    `cert`/`key` when set. `source` says where TLS was asked for."""

    verify: bool
    ca: str | None
    cert: str | None
    key: str | None
    source: str  # "hosts file" | "DOCKER_TLS_VERIFY/DOCKER_CERT_PATH"


@dataclass(frozen=True)
class EngineConnection:
    """One host's way to its engine, resolved from hosts.toml and the environment. Its repr
    shows the redacted URL only."""

    name: str
    url: str = field(repr=False)  # raw, as written (never print it)
    base_url: str = field(repr=False)  # what the docker SDK gets: no userinfo in tcp:// and https://
    tls: TLSFiles | None = None
    auth: tuple[str, str] | None = field(default=None, repr=False)  # HTTP basic auth from the userinfo
    use_ssh_client: bool = True

    def __repr__(self) -> str:
        return (f"EngineConnection(name={self.name!r}, url={self.shown!r}, tls={self.tls!r}, "
                f"auth={'yes' if self.auth else 'no'}, use_ssh_client={self.use_ssh_client})")

    @property
    def shown(self) -> str:
        return redact_url(self.url)

    def scrub(self, text: str) -> str:
        return scrub(text, self.url)

    @property
    def needs_session_settings(self) -> bool:
        return self.auth is not None or (self.tls is not None and self.tls.ca is not None)

    def configure_session(self, api) -> None:
        """What DockerClient's arguments cannot say, set on its APIClient (a requests Session):
        the URL's credentials; and, when the engine is verified against its own CA, no CA bundle
        from the environment: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace the
        session's CA file (psf/requests#3829), and the engine would then fail verification."""
        if self.auth is not None:
            api.auth = self.auth
        if self.tls is not None and self.tls.ca is not None:
            api.trust_env = False

    def client_kwargs(self, timeout_s: float) -> dict[str, object]:
        """The keyword arguments of docker.DockerClient / docker.APIClient for this host."""
        kwargs: dict[str, object] = {"base_url": self.base_url, "timeout": max(1, int(timeout_s))}
        if self.base_url.startswith("ssh://"):
            kwargs["use_ssh_client"] = self.use_ssh_client
        if self.tls is not None:
            from docker.tls import TLSConfig

            kwargs["tls"] = TLSConfig(
                client_cert=(self.tls.cert, self.tls.key) if self.tls.cert and self.tls.key else None,
                ca_cert=self.tls.ca,
                verify=self.tls.verify,
            )
        return kwargs


def _tls_from_env(environ: Mapping[str, str]) -> tuple[bool, str | None, bool]:
    """(enabled, cert folder, verify) as docker.utils.kwargs_from_env reads them: TLS when
    DOCKER_TLS_VERIFY is set to anything but '' or DOCKER_CERT_PATH is set; verification only
    with DOCKER_TLS_VERIFY; the folder defaults to ~/.docker."""
    cert_path = environ.get("DOCKER_CERT_PATH") or None
    raw_verify = environ.get("DOCKER_TLS_VERIFY")
    verify = raw_verify is not None and raw_verify != ""
    return bool(cert_path or verify), cert_path, verify


def resolve_connection(
    host: HostSpec,
    environ: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> EngineConnection:
    """How to reach `host` (a fleet HostSpec); ConfigError naming the host when it must not or
    cannot be reached that way. A relative cert_path is taken from `base_dir` (the hosts
    file's folder), else from the current folder."""
    environ = os.environ if environ is None else environ
    who = f"host {host.name} ({redact_url(host.url)})"
    scheme, userinfo, rest = _split(host.url)
    if scheme in ("unix", "npipe"):
        return EngineConnection(host.name, host.url, host.url)
    if scheme == "ssh":
        if userinfo is not None and ":" in userinfo:
            raise ConfigError(f"{who}: an ssh:// URL cannot carry a password (the docker SDK refuses "
                              "it): use ssh keys or the agent, ssh://user@host")
        return EngineConnection(host.name, host.url, host.url, use_ssh_client=host.use_ssh_client)

    # tcp://, http:// (plain) and https:// (TLS)
    auth = None
    if userinfo is not None:
        user, _, password = userinfo.partition(":")
        auth = (unquote(user), unquote(password))
    base_url = f"{scheme}://{rest}"
    host_keys = host.tls is not None or host.cert_path is not None or host.tls_verify is not None
    if scheme == "http" and host.tls:
        raise ConfigError(f"{who}: tls = true with an http:// URL; write tcp:// (or https://)")
    if scheme == "https" and host.tls is False:
        raise ConfigError(f"{who}: tls = false with an https:// URL; write tcp:// for plain TCP")

    tls: TLSFiles | None = None
    if scheme != "http":
        if host_keys:
            if host.tls is not False:  # tls = false turns TLS off, the environment's included
                from_file = host.cert_path is not None
                folder = host.cert_path or environ.get("DOCKER_CERT_PATH") or None
                verify = True if host.tls_verify is None else host.tls_verify
                tls = _tls_files(who, folder, verify, "hosts file", base_dir if from_file else None)
        else:
            enabled, folder, verify = _tls_from_env(environ)
            if enabled:
                tls = _tls_files(who, folder, verify, "DOCKER_TLS_VERIFY/DOCKER_CERT_PATH", None)
            elif scheme == "https":  # as the SDK does: verified against the system's CAs
                tls = TLSFiles(verify=True, ca=None, cert=None, key=None, source="https:// URL")

    if tls is None and not host.insecure and not is_loopback(_hostname(rest)):
        raise ConfigError(f"{who}: plain TCP to a non-loopback address is refused: the engine's API has "
                          f"no authentication, so anyone on the way can run containers there. To fix it, {TLS_HINT}.")
    return EngineConnection(host.name, host.url, base_url, tls=tls, auth=auth)


def _tls_files(who: str, folder: str | None, verify: bool, source: str, base_dir) -> TLSFiles:
    """The certificate files in `folder` (default ~/.docker), checked: ca.pem when verifying,
    cert.pem and key.pem both or neither (neither: no client certificate is presented)."""
    explicit_folder = folder is not None
    if folder is None:
        d = Path.home() / ".docker"
    else:
        d = Path(folder).expanduser()
        if not d.is_absolute() and base_dir is not None:
            d = Path(base_dir) / d
    from_env = source.startswith("DOCKER_")
    folder_key = "DOCKER_CERT_PATH" if from_env else "cert_path"
    where = (f"{folder_key} {folder}" + (f" ({d})" if str(d) != folder else "") if explicit_folder
             else f"the default certificate folder {d}")
    if explicit_folder and not d.is_dir():
        raise ConfigError(f"{who}: TLS ({source}): {where} is not a folder; it must hold docker's "
                          "ca.pem, cert.pem and key.pem")
    ca, cert, key = (d / f for f in TLS_FILES)
    if verify and not ca.is_file():
        no_verify = "unset DOCKER_TLS_VERIFY" if from_env else "set tls_verify = false"
        raise ConfigError(f"{who}: TLS ({source}): no CA certificate {ca} to verify the engine with. "
                          f"Put the CA that signed the engine's certificate there, point {folder_key} at "
                          f"the folder that has ca.pem, or {no_verify} (not recommended: the engine "
                          "is then not verified)")
    has_cert, has_key = cert.is_file(), key.is_file()
    if has_cert != has_key:
        missing = key if has_cert else cert
        raise ConfigError(f"{who}: TLS ({source}): {missing} is missing; the client certificate needs "
                          "both cert.pem and key.pem")
    return TLSFiles(verify=verify, ca=str(ca) if verify else None,
                    cert=str(cert) if has_cert else None, key=str(key) if has_key else None,
                    source=source)


# ----------------------------------------------------------------------------- connecting


def connect_engine(conn: EngineConnection, timeout_s: float = 60.0, *, api_timeout_s: float | None = None,
                   retries: int = 0):
    """A docker.DockerClient for `conn`, pinged: the version query and the ping each answered
    within `timeout_s`, an engine too slow for that asked again `retries` times after 1, 2, 4 s;
    its later calls wait `api_timeout_s` (default `timeout_s`) for an answer. DockerError when
    the engine cannot be reached, its message scrubbed of the URL's secrets and saying what to
    change where it can tell."""
    import time

    for attempt in range(retries + 1):
        try:
            return _connect(conn, timeout_s, api_timeout_s)
        except _SlowEngine:
            if attempt == retries:
                tries = f" ({attempt + 1} attempts)" if attempt else ""
                raise DockerError(f"Cannot reach the Docker engine at {conn.shown}: no answer within {timeout_s:g} s"
                                  f"{tries} (connect_timeout_s; a busy or slow engine needs more)") from None
            time.sleep(BACKOFF_S * 2 ** attempt)
    raise AssertionError("unreachable")


class _SlowEngine(Exception):
    """The engine took the connection but did not answer in time."""


def _timed_out(exc: BaseException) -> bool:
    """Whether `exc`, or an error it wraps, is a read or connect time-out (the SDK wraps the
    version query's in a DockerException)."""
    import socket

    import requests

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (requests.exceptions.Timeout, socket.timeout)) or type(e).__name__.endswith("TimeoutError"):
            return True
        e = e.__cause__ or e.__context__
    return False


def engine_client(conn: EngineConnection, client: Any,  # a docker.DockerClient (the SDK is untyped)
                  timeout_s: float | None):
    """Another client of the engine `client` talks to, its calls waiting `timeout_s` for an
    answer (None: as long as it takes), for the calls that wait on long work (a container's log
    stream, a build, an image load): one client per thread of calls, so no call changes the
    time limit of another's."""
    import docker

    kwargs = {**conn.client_kwargs(1), "timeout": timeout_s}
    other = docker.DockerClient(**kwargs, version=client.api.api_version)
    conn.configure_session(other.api)
    return other


def _connect(conn: EngineConnection, timeout_s: float, api_timeout_s: float | None):
    try:
        import docker
    except ImportError:
        raise MissingDependencyError("docker", "fleet", "driving Docker engines") from None
    from docker.constants import MINIMUM_DOCKER_API_VERSION
    from docker.errors import DockerException


    client = None
    try:
        kwargs = conn.client_kwargs(timeout_s)
        if not conn.needs_session_settings:
            client = docker.DockerClient(**kwargs)
        else:
            # The SDK asks the engine for its API version while it is being constructed, before
            # its session can be set up: ask first with a set-up client pinned to a version.
            probe = docker.APIClient(**kwargs, version=MINIMUM_DOCKER_API_VERSION)
            try:
                conn.configure_session(probe)
                version = probe.version(api_version=False)["ApiVersion"]
            finally:
                probe.close()
            client = docker.DockerClient(**kwargs, version=version)
            conn.configure_session(client.api)
        client.ping()
    except (DockerException, OSError, KeyError) as exc:
        if client is not None:
            client.close()
        if _timed_out(exc):
            raise _SlowEngine() from exc  # asked again by connect_engine
        raise DockerError(conn.scrub(f"Cannot reach the Docker engine at {conn.shown}: "
                                     f"{_explain(conn, exc, _short(exc))}")) from None
    if api_timeout_s is not None:
        client.api.timeout = api_timeout_s  # before any other thread uses the client
    return client


def _explain(conn: EngineConnection, exc: BaseException, short: str) -> str:
    """The SDK's error, with what to do about it when it is a TLS or ssh set-up problem."""
    text = str(exc)
    if "Install paramiko" in text:
        return ("ssh:// hosts need the docker SDK's ssh support, which is missing here; install it "
                "with: pip install 'docker[ssh]' (paramiko)")
    if "Client sent an HTTP request to an HTTPS server" in text:
        return ("the engine speaks TLS and this host connects without it: set tls = true and "
                "cert_path (a folder with ca.pem, cert.pem, key.pem) for this host, or "
                "DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH")
    if conn.tls is None:
        return short
    if "CERTIFICATE_VERIFY_FAILED" in text:
        why = ("its certificate is not for this address" if "match" in text or "mismatch" in text
               else f"its certificate is not signed by {conn.tls.ca or 'a CA this machine trusts'}")
        return f"TLS: the engine could not be verified: {why} ({_ssl_reason(text)})"
    if any(s in text for s in ("CERTIFICATE_REQUIRED", "certificate required", "BAD_CERTIFICATE",
                                "bad certificate", "UNKNOWN_CA", "unknown ca")):
        which = (f"{conn.tls.cert} was not accepted" if conn.tls.cert
                 else "none was presented (no cert.pem and key.pem in the certificate folder)")
        return (f"TLS: the engine refused this client: it wants a client certificate signed by its "
                f"CA, and {which} ({_ssl_reason(text)})")
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text or "record layer failure" in text:
        return "TLS: the engine does not speak TLS on that port (tls = false, or the engine's TLS port)"
    if "SSL" in text:
        return f"TLS: {_ssl_reason(text)}"
    return short


def _ssl_reason(text: str) -> str:
    """The `[SSL: ...] reason (_ssl.c:NNN)` part of an SSL error, or its last line."""
    import re

    m = re.search(r"\[SSL[^\]]*\][^()'\"]*", text)
    if m:
        return m.group(0).strip()
    return (text.strip().splitlines() or ["?"])[-1][:300]
