"""The soak (two minutes, as CI can afford) and the placement bench, from their commands."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.launcher.test_split_session import ROBOSTACK, _launch_file, patient_config

MEMORY_BOUND_MB = 20.0  # per process, from the first episode on (the Rerun leak grew 60 MB)
# the control loop's late ticks against an idle loop's beside it: its work each tick (the
# robot's step, the controller, the link) leaves it the longer exposed to a loaded machine's
# interruptions (3x the idle loop's share at load 13 on the 2-core machine)
LOAD_FACTOR = 4.0
# An idle loop paced at 1 kHz by the control loop's own clock (`WallClock`) until its stdin
# closes; prints its late ticks (periods over 1.5 ms): the share, and the most in a second's
# worth of ticks.
IDLE_LOOP = """
import json, sys, threading, time
from robostack.runtime.loop import WallClock
asked = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), asked.set()), daemon=True).start()
clock, starts = WallClock(0.001), []
clock.start()
while not asked.is_set():
    clock.wait_next()
    starts.append(time.perf_counter_ns())
late = [b - a > 1.5e6 for a, b in zip(starts, starts[1:])]
worst = max((sum(late[k : k + 1000]) for k in range(0, len(late), 1000)), default=0)
print(json.dumps({"late_share": sum(late) / max(1, len(late)), "worst_second": worst}))
"""


def _run(*args: str, timeout: float) -> dict:
    done = subprocess.run(
        [*ROBOSTACK, *args, "--json"], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def _idle_loop_beside() -> Iterator[dict]:
    """Runs `IDLE_LOOP` while inside; the dict it yields gets its late ticks on the way out."""
    idle = subprocess.Popen(
        [sys.executable, "-c", IDLE_LOOP], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    found: dict = {}
    try:
        yield found
    finally:
        out, _ = idle.communicate("", timeout=120)
    found.update(json.loads(out))


def test_a_two_minute_soak_shows_no_late_tick_storm_and_no_memory_growth(tmp_path):
    launch = _launch_file(tmp_path, patient_config())
    with _idle_loop_beside() as machine:
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
            timeout=900,
        )
    # the soak ran its two minutes, episode after episode (10 or more on an idle machine; a
    # loaded one stretches each, its loop falling behind real time)
    assert report["minutes"] >= 2 and report["episodes"] >= 3, report["episodes"]
    assert report["successes"] >= 0.9 * report["episodes"]
    # The soak's own lines (a second with > 5 % late ticks, 1 % late overall) are for a machine
    # of its own; on two shared cores, with the policy process beside the loop, a run can pass
    # them. These bounds hold there, with what the machine did to an idle loop beside the soak
    # on top (none on an idle machine), and a decaying loop still breaks them.
    worst = 200 + LOAD_FACTOR * machine["worst_second"]  # < 20 % of a second on an idle one
    assert report["worst_second_late"] < worst, (report["worst_second_late"], machine)
    late_share = 0.05 + LOAD_FACTOR * machine["late_share"]
    assert report["late_share"] < late_share, (report["late_share"], machine)
    assert report["stops"] == 0
    recordings = report["recordings"]
    assert recordings["complete"] and recordings["episodes_recorded"] == report["episodes"]
    assert all(r["ticks_read"] == r["ticks_run"] > 0 for r in recordings["read_back"])
    assert report["policy_server"]["alive_to_the_end"]
    grown = {p: m["growth_mb"] for p, m in report["memory"].items()}
    assert max(grown.values()) <= MEMORY_BOUND_MB, grown


def test_bench_ipc_measures_the_policy_inline_in_a_thread_and_in_a_process(tmp_path):
    launch = _launch_file(tmp_path, patient_config())
    report = _run("bench", "ipc", "--seconds", "3", "--launch", str(launch), timeout=600)
    rows = {r["placement"]: r for r in report["rows"]}
    assert list(rows) == ["inline", "thread", "process"]
    for row in rows.values():
        assert row["ticks"] >= 2900 and row["latency_ms"]["p50"] > 0
        assert row["period_ms"]["median"] > 0 and "late_ticks" in row["vs_process"]
