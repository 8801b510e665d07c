"""suite.containers.images: which image and Dockerfile a platform gets, and the pinned stack. Held
against the project's own files: compose.yaml (parsed with PyYAML), the Dockerfiles and
constraints.txt (read here line by line)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from suite.containers.images import (
    DockerError,
    compose_command,
    connect,
    dockerfile_for,
    find_context,
    image_tag,
    stack_pins,
)
from suite.containers.platform import FLAVOURS, PlatformError

REPO = Path(__file__).resolve().parents[3]


def test_every_flavour_and_variant_names_composes_image_and_dockerfile():
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    for flavour in FLAVOURS:
        family = "arm64" if flavour == "rpi" else flavour
        service = services[f"bench-{family}"] if f"bench-{family}" in services else services[f"bench-{flavour}"]
        assert (REPO / dockerfile_for(flavour)).is_file()
        assert dockerfile_for(flavour) == service["build"]["dockerfile"]
        for variant in ("full", "ort"):
            assert image_tag(flavour, variant) == service["image"].replace("${BENCH_VARIANT:-full}", variant)
    with pytest.raises(PlatformError, match="Unknown platform 'riscv'"):
        image_tag("riscv")
    with pytest.raises(PlatformError, match="Unknown image variant 'lite'"):
        image_tag("x86", "lite")


def test_the_pins_are_constraints_txts_lines():
    expected = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep and name in ("torch", "torchvision", "onnxruntime", "transformers", "numpy"):
            expected[name] = version
    assert stack_pins(REPO) == expected and set(expected) == {"torch", "torchvision", "onnxruntime", "transformers",
                                                               "numpy"}


def test_a_missing_pin_file_says_to_run_from_a_checkout(tmp_path):
    with pytest.raises(DockerError, match=r"Cannot read the pinned stack .*constraints.txt.*run from a checkout"):
        stack_pins(tmp_path)


def test_the_context_is_found_from_inside_the_checkout_or_else_the_suites_own():
    assert find_context(REPO / "suite" / "report") == REPO
    assert find_context(Path("/")) == REPO  # nothing above /: the checkout this suite was imported from


@pytest.mark.parametrize("args, words", [
    (("x86",), "docker compose run --rm bench"),
    (("rpi", "ort"), "BENCH_PLATFORM=rpi BENCH_VARIANT=ort docker compose run --rm bench"),
    (("x86", "full", "bench-base:bookworm", {"TORCH_INDEX_URL": "https://pypi.org/simple"}),
     "BENCH_BASE=bench-base:bookworm BENCH_TORCH_INDEX_URL=https://pypi.org/simple docker compose run --rm bench"),
])
def test_the_run_command_sets_composes_variables(args, words):
    assert compose_command(*args) == words


def test_an_engine_that_is_not_there_is_named_with_the_os_error(tmp_path):
    url = f"unix://{tmp_path}/docker.sock"
    with pytest.raises(DockerError, match=rf"Cannot reach the Docker engine at {url}: .*(No such file|Errno)"):
        connect(url, timeout_s=5)
