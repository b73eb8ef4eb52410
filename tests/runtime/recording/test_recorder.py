"""Session recordings: contents of the .rrd, and nothing lost when a session dies."""

from __future__ import annotations

import json
import signal as posix_signal
import subprocess
import sys

import numpy as np
import pytest
import rerun as rr

from robostack.runtime.recording.reader import joint_signal
from robostack.sessions.tracking import TrackingOptions, run_tracking, tracking_session


def test_recording_holds_signals_model_path_chunks_and_a_blueprint(tmp_path):
    report = run_tracking(
        TrackingOptions(robot="ur5e", controller="pid", reference="circle", runs_dir=tmp_path)
    )
    rrd = report.run_dir / "session.rrd"
    for signal in ("q", "q_ref", "dq", "tau_cmd", "tau_measured"):
        ticks, values = joint_signal(rrd, signal)
        assert np.array_equal(ticks, np.arange(report.result.ticks)) and values.shape[1] == 6
    ticks, q = joint_signal(rrd, "q")
    _, q_ref = joint_signal(rrd, "q_ref")
    rms = np.sqrt(np.mean((q_ref - q) ** 2, axis=0))
    assert np.allclose(rms, report.result.error_rms)  # the recording is the session
    entities = {}
    reader = rr.chunk.RrdReader(rrd)
    for chunk in reader.store().stream():
        entities[chunk.entity_path] = entities.get(chunk.entity_path, 0) + chunk.num_rows
    assert any(path.startswith("/robot/ur5e/visual_geometries") for path in entities)
    poses = entities["/tf/shoulder_pan_joint"]
    assert poses == pytest.approx(report.result.ticks / 33, abs=2)  # ~30 Hz
    assert entities["/world/tool"] == poses and entities["/world/tool_path"] == 1
    assert entities["/world/chunk"] >= report.result.ticks // 800
    assert reader.blueprints()  # the default layout travels with the recording
    summary = json.loads((report.run_dir / "summary.json").read_text())
    assert summary["outcome"] == "completed" and summary["dropped_ticks"] == 0


class BoomError(Exception):
    pass


def test_an_exception_mid_session_loses_no_recorded_tick(tmp_path):
    options = TrackingOptions(controller="impedance", reference="sweep", runs_dir=tmp_path)
    with pytest.raises(BoomError), tracking_session(options) as session:
        next_chunk = session.loop.source.next_chunk
        calls = []

        def exploding(state):
            calls.append(state.t)
            if len(calls) == 4:  # the chunk request at tick 2400
                raise BoomError("policy crashed")
            return next_chunk(state)

        session.loop.source.next_chunk = exploding
        session.loop.run(ticks=5000)
    (run,) = tmp_path.iterdir()
    ticks, _ = joint_signal(run / "session.rrd", "q")
    assert np.array_equal(ticks, np.arange(2400))  # every tick before the crash
    summary = json.loads((run / "summary.json").read_text())
    assert summary["outcome"] == "error" and "policy crashed" in summary["error"]
    assert summary["recorded_ticks"] == 2400


def test_ring_buffer_never_sends_a_row_twice_or_torn(tmp_path):
    """A tiny buffer and a drain racing the writer: every row in the .rrd is unique and
    intact, and what is missing is counted as dropped."""
    import threading

    from robostack.core.robots import get_robot
    from robostack.core.types import JointReference, JointState
    from robostack.runtime.recording import SessionRecorder, new_run_dir

    description = get_robot("panda")
    recorder = SessionRecorder(
        run_dir=new_run_dir(tmp_path, "race"),
        description=description,
        control_rate_hz=1000.0,
        capacity=64,
    )
    recorder.start()
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            recorder._drain()

    thread = threading.Thread(target=drain)
    thread.start()
    for tick in range(20000):
        q = np.full(7, float(tick))  # every field of a row carries its tick
        s = JointState(t=tick * 1e-3, q=q, dq=q, tau=q, gripper_width=0.0)
        recorder.record(tick, s, JointReference(q, q, q), q)
    stop.set()
    thread.join()
    recorder.close()
    ticks, q = joint_signal(recorder.run_dir / "session.rrd", "q")
    _, tau = joint_signal(recorder.run_dir / "session.rrd", "tau_cmd")
    assert len(np.unique(ticks)) == len(ticks)  # no duplicates
    assert np.array_equal(q[:, 0], ticks) and np.array_equal(tau[:, 3], ticks)  # not torn
    assert recorder.stored == len(ticks) and recorder.dropped == 20000 - len(ticks)


def test_a_failing_recorder_stops_the_session_with_a_clear_message(tmp_path, monkeypatch):
    from robostack.runtime.recording import recorder as recorder_module
    from robostack.runtime.recording import rerun_writer

    def failing(self, *args):  # the first batch of joint signals fails, whenever it comes
        raise OSError("disk full")

    monkeypatch.setattr(rerun_writer.RerunWriter, "joints", failing)
    # batches every 5 ms, so the first fails while the loop runs (its 6500 ticks take ~0.3 s or
    # more), not only when the recording is closed after the end
    monkeypatch.setattr(recorder_module, "FLUSH_PERIOD_S", 0.005)
    report = run_tracking(
        TrackingOptions(robot="ur5e", controller="pid", reference="circle", runs_dir=tmp_path)
    )
    assert report.result.outcome == "stopped"  # raised into nothing, the arm braked
    (stop,) = [e for e in report.result.events if e.reaction.name == "STOP"]
    assert f"the recording in {report.run_dir} failed: disk full" in stop.message
    summary = json.loads((report.run_dir / "summary.json").read_text())
    assert "disk full" in summary["recording_error"]
    assert summary["dropped_ticks"] > 0
    assert summary["recorded_ticks"] + summary["dropped_ticks"] == report.result.ticks


def test_a_recording_whose_writer_was_killed_reads_back(tmp_path):
    """SIGKILL leaves the .rrd without its footer; every message flushed before is read."""
    rrd = tmp_path / "session.rrd"
    writer = f"""
import os, signal
import rerun as rr
rr.init("killed", spawn=False)
rr.save({str(rrd)!r})
for tick in range(200):
    rr.set_time("tick", sequence=tick)
    rr.log("/joints/q", rr.Scalars([float(tick), -float(tick)]))
rr.get_global_data_recording().flush()
os.kill(os.getpid(), signal.SIGKILL)
"""
    killed = subprocess.run([sys.executable, "-c", writer], capture_output=True, timeout=120)
    assert killed.returncode == -posix_signal.SIGKILL
    ticks, q = joint_signal(rrd, "q")
    assert np.array_equal(ticks, np.arange(200)) and np.array_equal(q[:, 1], -np.arange(200))


def test_a_disk_down_to_its_reserve_stops_the_session(tmp_path):
    options = TrackingOptions(controller="impedance", reference="sweep", runs_dir=tmp_path)
    with tracking_session(options) as session:
        session.loop.recorder.min_free_bytes = 1 << 62  # more than any disk has: it is full
        result = session.loop.run(ticks=session.ticks)
    assert result.outcome == "stopped" and result.ticks < session.ticks
    (stop,) = [e for e in result.events if e.reaction.name == "STOP"]
    assert "MiB left on the disk of" in stop.message and "failed" in stop.message


def test_summary_json_is_written_whole_or_not_at_all(tmp_path):
    from robostack.core.robots import get_robot
    from robostack.runtime.recording import SessionRecorder, new_run_dir

    errors = []
    recorder = SessionRecorder(
        run_dir=new_run_dir(tmp_path, "full"),
        description=get_robot("panda"),
        control_rate_hz=1000.0,
        on_error=errors.append,
    )
    with recorder:
        pass
    (recorder.run_dir / ".summary.json.partial").symlink_to("/dev/full")  # writes: ENOSPC
    assert not recorder.write_summary({"outcome": "completed"})
    assert not (recorder.run_dir / "summary.json").exists()
    assert "No space left" in str(recorder.error)
    assert recorder.write_summary({"outcome": "completed"})  # the link was removed
    assert json.loads((recorder.run_dir / "summary.json").read_text())["outcome"] == "completed"
