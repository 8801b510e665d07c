"""suite.cli.container_commands: `bench docker` and `bench fleet`. Mistakes that need no engine
are refused through the installed command (exit 2, one paragraph); the fleet's summary table is
printed from a hand-built result."""

from __future__ import annotations

from console_script import installed_bench, usage_error

from suite.cli import container_commands
from suite.containers.fleet import FleetResult, HostOutcome
from suite.errors import ConfigError


def test_build_arguments_are_key_value_pairs():
    assert container_commands._kv(["A=1", "URL=https://x/y?a=b"]) == {"A": "1", "URL": "https://x/y?a=b"}
    for bad in ("NOEQUALS", "=value"):
        try:
            container_commands._kv([bad])
        except ConfigError as exc:
            assert f"--build-arg '{bad}' is not KEY=VALUE" in str(exc)
        else:
            raise AssertionError(bad)


def test_an_unknown_platform_and_a_missing_hosts_file_are_usage_errors(tmp_path):
    assert "sparc" in usage_error(installed_bench("docker", "build", "--platform", "sparc"))
    assert "hosts.toml" in usage_error(installed_bench("fleet", "run", str(tmp_path / "hosts.toml")))


def test_the_fleet_summary_names_each_host_and_the_merged_report(capsys):
    result = FleetResult(hosts=[
        HostOutcome(name="pi5", url="ssh://pi@pi5", status="ok", duration_s=61.34,
                    results_files=["/out/pi5/results-1.json"]),
        HostOutcome(name="orin", url="tcp://orin:2376", status="unreachable", duration_s=3.0,
                    error="no answer within 60 s"),
    ], out_dir="/out", report="/out/report.html", duration_s=64.0)
    container_commands._print_summary(result)
    out = capsys.readouterr().out
    rows = [[c.strip() for c in line.split("\u2502")[1:-1]] for line in out.splitlines() if "\u2502" in line]
    assert ["pi5", "ok", "61.3", "results-1.json", ""] in rows
    assert ["orin", "unreachable", "3.0", "-", "no answer within 60 s"] in rows
    assert "fleet: 2 host(s) in 64.0 s" in out
    assert "merged report: /out/report.html" in out and not result.ok
