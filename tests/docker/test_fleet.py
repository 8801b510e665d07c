"""`bench fleet run` against two real engines on separate sockets (two 'devices'): concurrent
runs, results copied back per host, one merged report, and a host that is down or fails
reported while the others finish."""

from __future__ import annotations

import pytest
from docker_helpers import (
    MODEL_IN_IMAGE,
    ROOT,
    SECOND_TCP,
    TEST_TAG,
    bench_cli,
    start_second_engine,
    stop_second_engine,
    xfail_if_onnx_needs_torch,
)

from suite.containers.fleet import parse_hosts, run_fleet
from suite.results.io import load_results

pytestmark = pytest.mark.docker

BENCH_ARGS = ["run", "--model", MODEL_IN_IMAGE, "--backends", "ort", "--batch-sizes", "1", "--no-energy"]


def _hosts(second_url: str, **common) -> list:
    return parse_hosts({
        "defaults": {"platform": "x86", "image": TEST_TAG, "connect_timeout_s": 10, **common},
        "host": [
            {"name": "dev-a", "url": "unix:///var/run/docker.sock"},
            # The second engine gets the image from this one (docker save | docker load).
            {"name": "dev-b", "url": second_url, "ship": True},
        ],
    })


def test_two_engines_one_merged_report(test_image, second_engine, tmp_path):
    lines: list[tuple[str, str]] = []
    # The second engine through TCP, the first through its unix socket.
    result = run_fleet(_hosts(f"tcp://{SECOND_TCP}", args=BENCH_ARGS), tmp_path, context=ROOT,
                       on_log=lambda host, line: lines.append((host, line)))
    # Both engines were reached, got the image and ran the container (logs from each).
    assert {host for host, _ in lines} == {"dev-a", "dev-b"}
    assert all(h.exit_code is not None for h in result.hosts), result.hosts
    xfail_if_onnx_needs_torch("\n".join(line for _, line in lines))
    assert [(h.name, h.status) for h in result.hosts] == [("dev-a", "ok"), ("dev-b", "ok")], result.hosts
    for h in result.hosts:
        assert len(h.results_files) == 1
        path = tmp_path / h.name / h.results_files[0].rsplit("/", 1)[-1]
        assert path.is_file()
        run = load_results(path)
        # Each container is named after its host, so the merged report tells them apart.
        assert run.environment.hostname == h.name
        assert [c.status for c in run.cases] == ["ok"]
    assert result.report is not None, result.report_error
    html = (tmp_path / "report.html").read_text()
    assert "dev-a" in html and "dev-b" in html


def test_hosts_run_concurrently(test_image, second_engine, tmp_path):
    """N hosts take about as long as the slowest, not the sum: measured in one run."""
    sleep_s = 4
    hosts = _hosts(f"tcp://{SECOND_TCP}", entrypoint=["sh", "-c", f"sleep {sleep_s}; echo slept"], args=[])
    result = run_fleet(hosts, tmp_path, merge=False)
    assert all(h.status == "ok" for h in result.hosts), result.hosts
    assert all(h.run_s >= sleep_s for h in result.hosts)
    per_host = [h.duration_s for h in result.hosts]  # connect + image + container
    # Serial execution would take the sum of the hosts' times; concurrent, about the longest.
    assert result.duration_s < 0.75 * sum(per_host), (result.duration_s, per_host)
    assert result.duration_s < 1.25 * max(per_host), (result.duration_s, per_host)


def test_a_failing_host_is_reported_and_the_other_finishes(test_image, second_engine, tmp_path):
    doc = {
        "defaults": {"platform": "x86", "image": TEST_TAG, "ship": True, "args": BENCH_ARGS},
        "host": [
            {"name": "good", "url": "unix:///var/run/docker.sock", "ship": False},
            {"name": "bad", "url": second_engine, "entrypoint": ["sh", "-c", "echo broken >&2; exit 7"]},
        ],
    }
    lines: list[str] = []
    result = run_fleet(parse_hosts(doc), tmp_path, on_log=lambda host, line: lines.append(line))
    by = {h.name: h for h in result.hosts}
    assert by["bad"].status == "failed" and by["bad"].exit_code == 7 and "status 7" in by["bad"].error
    assert "broken" in lines
    xfail_if_onnx_needs_torch("\n".join(lines))
    assert by["good"].status == "ok" and len(by["good"].results_files) == 1
    assert result.report is not None and not result.ok


def test_cli_with_one_engine_stopped(test_image, second_engine, tmp_path):
    """Stop one daemon first: it is reported unreachable, the other host still finishes, the
    merged report holds the one that ran, and the command exits 1."""
    hosts_file = tmp_path / "hosts.toml"
    hosts_file.write_text(
        "[defaults]\n"
        f'platform = "x86"\nimage = "{TEST_TAG}"\nconnect_timeout_s = 10\n\n'
        '[[host]]\nname = "alive"\nurl = "unix:///var/run/docker.sock"\n\n'
        f'[[host]]\nname = "stopped"\nurl = "{second_engine}"\n'
    )
    stop_second_engine()
    try:
        proc = bench_cli("fleet", "run", str(hosts_file), "-o", str(tmp_path / "out"), "--", *BENCH_ARGS)
    finally:
        start_second_engine()
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[alive  ]" in proc.stdout and "[stopped] unreachable" in proc.stdout  # prefixed log lines
    summary = proc.stdout[proc.stdout.index("fleet: 2 host(s)"):]
    rows = {line.split()[1]: line for line in summary.splitlines() if line.startswith("│ ")}
    assert "unreachable" in rows["stopped"]
    xfail_if_onnx_needs_torch(proc.stdout + proc.stderr)
    assert " ok " in rows["alive"]
    assert len(list((tmp_path / "out/alive").glob("results-*.json"))) == 1
    assert not list((tmp_path / "out").glob("stopped/results-*.json"))
    html = (tmp_path / "out/report.html").read_text()
    assert "alive" in html


def test_cli_rejects_a_bad_hosts_file(tmp_path):
    hosts_file = tmp_path / "hosts.toml"
    hosts_file.write_text('[[host]]\nname = "x"\n')
    proc = bench_cli("fleet", "run", str(hosts_file))
    assert proc.returncode == 2
    assert "field 'url'" in proc.stderr and "Traceback" not in proc.stderr
