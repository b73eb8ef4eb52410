"""The soak (two minutes, as CI can afford) and the placement bench, from their commands."""

from __future__ import annotations

import json
import subprocess

from tests.launcher.test_split_session import ROBOSTACK, _launch_file
from tests.transport.helpers import private_config

MEMORY_BOUND_MB = 20.0  # per process, from the first episode on (the Rerun leak grew 60 MB)


def _run(*args: str, timeout: float) -> dict:
    done = subprocess.run(
        [*ROBOSTACK, *args, "--json"], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_two_minute_soak_shows_no_late_tick_storm_and_no_memory_growth(tmp_path):
    launch = _launch_file(tmp_path, private_config())
    report = _run(
        "soak",
        "--minutes",
        "2",
        "--launch",
        str(launch),
        "--runs-dir",
        str(tmp_path / "soak"),
        "--memory-bound-mb",
        str(MEMORY_BOUND_MB),
        timeout=600,
    )
    assert report["episodes"] >= 10 and report["successes"] >= 0.9 * report["episodes"]
    # The soak's own lines (a second with > 5 % late ticks, 1 % late overall) are for a machine
    # of its own; on two shared cores, with the policy process beside the loop, a run can pass
    # them. These bounds hold there, and a decaying loop still breaks them.
    assert report["worst_second_late"] < 200, report["worst_second_late"]  # < 20 % of a second
    assert report["late_share"] < 0.05 and report["stops"] == 0
    recordings = report["recordings"]
    assert recordings["complete"] and recordings["episodes_recorded"] == report["episodes"]
    assert all(r["ticks_read"] == r["ticks_run"] > 0 for r in recordings["read_back"])
    assert report["policy_server"]["alive_to_the_end"]
    grown = {p: m["growth_mb"] for p, m in report["memory"].items()}
    assert max(grown.values()) <= MEMORY_BOUND_MB, grown


def test_bench_ipc_measures_the_policy_inline_in_a_thread_and_in_a_process(tmp_path):
    launch = _launch_file(tmp_path, private_config())
    report = _run("bench", "ipc", "--seconds", "3", "--launch", str(launch), timeout=600)
    rows = {r["placement"]: r for r in report["rows"]}
    assert list(rows) == ["inline", "thread", "process"]
    for row in rows.values():
        assert row["ticks"] >= 2900 and row["latency_ms"]["p50"] > 0
        assert row["period_ms"]["median"] > 0 and "late_ticks" in row["vs_process"]
