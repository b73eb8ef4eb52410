"""The `robostack` command as a user runs it: a real subprocess, real output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from robostack.cli.main import main


def robostack(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "robostack.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_track_json_has_the_promised_fields():
    done = robostack(
        "track",
        "--no-record",
        "--robot",
        "ur5",
        "--controller",
        "impedance",
        "--reference",
        "circle",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    for key in (
        "rms_error_rad",
        "max_error_rad",
        "ticks",
        "tick_us_median",
        "tick_us_p99",
        "overruns",
    ):
        assert key in summary
    assert len(summary["rms_error_rad"]) == 6 and summary["ok"] is True
    assert summary["ticks"] == round((6.0 + 0.5) * 1000)


def test_track_prints_a_table_per_joint_and_the_recording(tmp_path):
    done = robostack(
        "track", "--reference", "circle", "--controller", "pid", "--runs-dir", str(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    for text in ("panda_joint7", "overruns", "ok (completed)", f"recording: {tmp_path}"):
        assert text in done.stdout
    (run,) = tmp_path.iterdir()
    assert sorted(p.name for p in run.iterdir()) == ["events.jsonl", "session.rrd", "summary.json"]


def test_track_fails_when_out_of_tolerance():
    done = robostack(
        "track",
        "--reference",
        "circle",
        "--controller",
        "impedance",
        "--tolerance",
        "1e-6",
        "--no-record",
        "--json",
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["ok"] is False


@pytest.mark.parametrize(
    ("flag", "value", "known"),
    [
        ("--robot", "kuka", "panda, ur5, ur5e"),
        ("--backend", "gazebo", "mujoco"),
        ("--controller", "lqr", "pid, impedance, computed_torque"),
    ],
)
def test_unknown_names_list_the_known_ones(capsys, flag, value, known):
    with pytest.raises(SystemExit) as exit_:
        main(["track", flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"invalid choice: '{value}'" in err
    for name in known.split(", "):
        assert name in err


def test_out_of_range_speed_is_refused_with_json(capsys):
    assert main(["track", "--speed", "1.5", "--no-record", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and "speed must be in (0, 0.9], got 1.5" in out["error"]


def test_bench_control_reports_overhead_against_raw_step():
    done = robostack("bench", "control", "--ticks", "2000", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["dof"] == 7
    assert result["tick_us"]["median"] > result["raw_step_us"]["median"] > 0
    assert result["overhead_us"]["median"] > 0
    assert result["tick_over_raw_median"] > 1


def test_bench_cameras_times_every_camera_in_both_simulators():
    done = robostack("bench", "cameras", "--size", "32", "--frames", "5", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    seen = {(r["simulator"], r["camera"]) for r in rows}
    assert seen == {
        (s, c) for s in ("mujoco", "pybullet") for c in ("front", "overhead", "wrist", "all")
    }
    assert all(r["median_ms"] > 0 and r["width"] == 32 for r in rows)
    assert all(r["of_period"] > 0 for r in rows if r["camera"] == "all")


def test_help_lists_the_commands():
    done = robostack("--help")
    assert done.returncode == 0 and "track" in done.stdout and "bench" in done.stdout
