"""Build, find and copy bench images through the Docker Engine API (the `docker` SDK).

Every function takes a `docker.DockerClient` for the engine to act on, so the same code serves
the local engine and each fleet host. Build logs go to an `on_log(line)` callback; nothing
here prints. The SDK is imported by the caller (`connect`), never at module import.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from suite.containers.platform import check_variant, platform_of
from suite.errors import BenchError, MissingDependencyError

LogFn = Callable[[str], None]
IMAGE_REPO = "bench"
# The files a build needs: the Dockerfiles' context is the project's root folder.
_MARKERS = ("Dockerfile.x86", "pyproject.toml", "suite")


class DockerError(BenchError):
    """The Docker engine is unreachable, or refused a build or a run."""


def image_tag(platform: str, variant: str = "full") -> str:
    """bench:x86-full, bench:arm64-ort, ...: compose.yaml names its images the same way."""
    return f"{IMAGE_REPO}:{platform_of(platform)}-{check_variant(variant)}"


def dockerfile_for(platform: str) -> str:
    return f"Dockerfile.{platform_of(platform)}"


# The project's one pinned stack (constraints.txt at the root): every image installs with it.
CONSTRAINTS = "constraints.txt"
STACK_PACKAGES = ("torch", "torchvision", "onnxruntime", "transformers", "numpy")


def stack_pins(context: str | os.PathLike[str]) -> dict[str, str]:
    """The pinned versions of the packages the numbers depend on, read from constraints.txt."""
    path = Path(context) / CONSTRAINTS
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DockerError(f"Cannot read the pinned stack {path}: {exc.strerror or exc}. Every image installs "
                          "with it: run from a checkout of the project.") from None
    pins: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep and name.strip().lower() in STACK_PACKAGES:
            pins[name.strip().lower()] = version.strip()
    return pins


def compose_command(flavour: str, variant: str = "full", base: str | None = None,
                    build_args: Mapping[str, str] | None = None) -> str:
    """What a person types to run the image just built: compose.yaml's variables for this flavour."""
    from shlex import quote

    env: list[str] = []
    if flavour != "x86":
        env.append(f"BENCH_PLATFORM={flavour}")
    if check_variant(variant) != "full":
        env.append(f"BENCH_VARIANT={variant}")
    if base:
        env.append(f"BENCH_BASE={quote(base)}")
    index = (build_args or {}).get("TORCH_INDEX_URL")
    if index and flavour == "x86":
        env.append(f"BENCH_TORCH_INDEX_URL={quote(index)}")
    return " ".join([*env, "docker", "compose", "run", "--rm", "bench"])


def find_context(start: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the Dockerfiles: `start` or a parent of it, else the checkout the
    suite was imported from. A pip-installed suite has no Dockerfiles: say so."""
    candidates: list[Path] = []
    if start is not None:
        p = Path(start).resolve()
        candidates += [p, *p.parents]
    candidates.append(Path(__file__).resolve().parents[2])
    for c in candidates:
        if all((c / m).exists() for m in _MARKERS):
            return c
    where = f" (looked in {Path(start)} and its parents)" if start is not None else ""
    raise DockerError(
        "Cannot find the bench source folder with Dockerfile.x86, pyproject.toml and suite/" + where
        + ": run from a checkout of the project, or pass --context PATH."
    )


def connect(url: str | None = None, timeout_s: float | None = 60.0):
    """A DockerClient for `url` (unix://, tcp://, ssh://user@host) or the environment's default,
    whose calls wait `timeout_s` for an answer (None: as long as they take).

    ssh:// goes through the system's `ssh` client (keys, agent and ~/.ssh/config apply)."""
    try:
        import docker
    except ImportError:
        raise MissingDependencyError("docker", "fleet", "driving Docker engines") from None
    from docker.errors import DockerException

    timeout = None if timeout_s is None else int(timeout_s)
    try:
        if url is None:
            client = docker.from_env(timeout=timeout)
        else:
            client = docker.DockerClient(base_url=url, timeout=timeout, use_ssh_client=url.startswith("ssh://"))
        client.ping()
    except DockerException as exc:
        raise DockerError(f"Cannot reach the Docker engine at {url or _default_url()}: {_short(exc)}") from None
    except OSError as exc:
        raise DockerError(f"Cannot reach the Docker engine at {url or _default_url()}: {exc}") from None
    return client


def _default_url() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def _short(exc: BaseException) -> str:
    """The useful end of an SDK error: the OS error under urllib3's wrapping when there is one."""
    text = str(exc).strip()
    errno = re.search(r"\[Errno -?\d+\] [^'\"()]+", text)
    if errno:
        return errno.group(0).strip()
    os_error = re.search(r"(\w+Error)\(\d+, '([^']+)'\)", text)
    if os_error:
        return f"{os_error.group(2)} ({os_error.group(1)})"
    lines = text.splitlines()
    return lines[-1] if lines else type(exc).__name__


def image_exists(client, tag: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def build_image(
    client,
    *,
    platform: str,
    variant: str = "full",
    context: str | os.PathLike[str] | None = None,
    tag: str | None = None,
    base: str | None = None,
    build_args: Mapping[str, str] | None = None,
    on_log: LogFn = lambda line: None,
) -> str:
    """Build the platform's image on `client`'s engine from the project folder; return the tag.

    Uses host networking (machines without a bridge build too) and never pulls the base when a
    local one exists. Raises DockerError with the engine's message when a step fails."""
    from docker.errors import APIError

    ctx = find_context(context)
    tag = tag or image_tag(platform, variant)
    args = {"VARIANT": check_variant(variant), **(build_args or {})}
    if base:
        args["BASE"] = base
    on_log(f"building {tag} from {ctx / dockerfile_for(platform)}")
    try:
        stream = client.api.build(
            path=str(ctx),
            dockerfile=dockerfile_for(platform),
            tag=tag,
            buildargs=args,
            network_mode="host",
            rm=True,
            forcerm=True,
            decode=True,
        )
        tail: list[str] = []
        for chunk in stream:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                last = "\n".join(tail[-15:])
                raise DockerError(f"Building {tag} failed: {detail.strip()}\n{last}".rstrip())
            for line in _lines(chunk.get("stream", "")):
                tail.append(line)
                on_log(line)
    except APIError as exc:
        raise DockerError(f"Building {tag} failed: {_short(exc)}") from None
    if not image_exists(client, tag):
        raise DockerError(f"Building {tag} ended without an image (see the build log above).")
    return tag


def ship_image(source, target, tag: str, on_log: LogFn = lambda line: None) -> None:
    """Copy an image from one engine to another (`docker save | docker load`), streamed."""
    from docker.errors import APIError, ImageNotFound

    try:
        wanted = source.images.get(tag).id
    except ImageNotFound:
        raise DockerError(f"Cannot ship {tag}: the local engine does not have it (build it first).") from None
    try:
        if target.images.get(tag).id == wanted:
            on_log(f"{tag} is already there")
            return
    except ImageNotFound:
        pass
    on_log(f"shipping {tag} to the engine")
    try:
        data = source.api.get_image(tag)
        for chunk in target.api.load_image(data):
            if isinstance(chunk, dict) and "error" in chunk:
                raise DockerError(f"Loading {tag} failed: {chunk['error']}")
    except APIError as exc:
        raise DockerError(f"Shipping {tag} failed: {_short(exc)}") from None
    if not image_exists(target, tag):
        raise DockerError(f"Shipping {tag} ended without the image on the target engine.")


def _lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        line = line.rstrip()
        if line:
            yield line
