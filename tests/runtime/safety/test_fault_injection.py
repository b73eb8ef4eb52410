"""Fault injection in real recorded MuJoCo sessions (`robostack.benchmarks.faults`).

For every fault: the expected check fires with the expected reaction within a stated number
of ticks, the process carries on (no exception escapes), and both the .rrd (read back with
Rerun's reader) and events.jsonl hold every tick up to the end of the session, the fault
included, and the event itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from robostack.benchmarks.faults import SCENARIOS, run_fault
from robostack.runtime.recording.reader import joint_signal, text_log

# scenario: (reaction, outcome, max ticks from fault to reaction, why that bound)
EXPECTED = {
    "nan_reference": ("HOLD", "held", 0, "checked when the chunk arrives"),
    "reference_jump_0.5rad": ("HOLD", "held", 2, "the blend's acceleration shows at once"),
    "reference_beyond_limit": ("HOLD", "held", 0, "checked when the chunk arrives"),
    "torque_spike_200Nm": ("CLAMP", "completed", 0, "the same tick's command is clamped"),
    "unstable_gains": ("STOP", "stopped", 100, "negative damping needs ~40 ms to overspeed"),
    "stale_reference": ("HOLD", "held", 1, "the watchdog compares every tick"),
    "backend_read_raises": ("STOP", "stopped", 0, "the failing read itself"),
    "operator_stop": ("STOP", "stopped", 0, "the next tick after the request"),
    "recording_disk_full": ("STOP", "stopped", 6000, "the recorder looks every 0.25 s wall"),
    "arm_into_table": ("STOP", "stopped", 5, "stopped within 5 ms of the first contact"),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fault_is_caught_recorded_and_survived(tmp_path, name):
    reaction, outcome, bound, _ = EXPECTED[name]
    result = run_fault(name, runs_dir=tmp_path)

    assert result.event is not None, f"{result.check} never fired"
    assert result.event["reaction"] == reaction
    assert 0 <= result.reaction_ticks <= bound
    assert result.outcome == outcome
    if name == "recording_disk_full":  # nothing more is written to a full disk
        _assert_the_recording_failure_is_kept(result)
        return

    ticks, q = joint_signal(result.run_dir / "session.rrd", "q")
    assert np.array_equal(ticks, np.arange(result.ticks))  # every tick, none lost
    assert ticks[-1] >= result.event["tick"] - (name == "backend_read_raises")
    assert np.isfinite(q).all()
    logged = [text for tick, _, text in text_log(result.run_dir / "session.rrd")]
    assert any(result.check in text for text in logged)

    lines = (result.run_dir / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert any(e["check"] == result.check and e["tick"] == result.event["tick"] for e in events)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["outcome"] == outcome and summary["recorded_ticks"] == result.ticks


def _assert_the_recording_failure_is_kept(result) -> None:
    assert "the recording in" in result.event["message"] and "MiB left" in result.event["message"]
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["outcome"] == "stopped" and "MiB left" in summary["recording_error"]
    assert summary["recorded_ticks"] + summary["dropped_ticks"] == result.ticks
    assert "operator_stop" in (result.run_dir / "events.jsonl").read_text()


def _recording_grows(runs_dir, *, timeout_s: float) -> bool:
    """True once a session.rrd under ``runs_dir`` has grown since first seen: ticks are being
    recorded, so the loop (and its SIGINT handler) is running."""
    deadline = time.monotonic() + timeout_s
    first = None
    while time.monotonic() < deadline:
        rrds = list(runs_dir.glob("*/session.rrd"))
        if rrds:
            size = rrds[0].stat().st_size
            if first is None:
                first = size
            elif size > first:
                return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_stops_a_running_track_and_keeps_the_recording(tmp_path, stop_signal):
    """Ctrl-C, or a `kill` (SIGTERM): the same STOP through the monitor."""
    command = [
        sys.executable,
        "-m",
        "robostack.cli.main",
        "track",
        "--realtime",
        "--reference",
        "sweep",
        "--runs-dir",
        str(tmp_path),
        "--json",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _recording_grows(tmp_path, timeout_s=120), "the session never started ticking"
    time.sleep(0.5)  # into the motion
    os.kill(process.pid, stop_signal)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert "Traceback" not in err
    summary = json.loads(out)
    assert summary["outcome"] == "stopped"
    stop = next(e for e in summary["events"] if e["check"] == "operator_stop")
    assert stop["reaction"] == "STOP" and stop["tick"] > 0
    (run,) = tmp_path.iterdir()
    ticks, _ = joint_signal(run / "session.rrd", "q")
    assert np.array_equal(ticks, np.arange(summary["ticks"]))
    assert any("operator_stop" in text for _, _, text in text_log(run / "session.rrd"))
    assert "operator_stop" in (run / "events.jsonl").read_text()
