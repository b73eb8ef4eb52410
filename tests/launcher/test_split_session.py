"""The split in real processes, in real time: a session, a killed policy, a stop, a slow policy.

Each test starts ``robostack policy-server`` and ``robostack control`` (or ``robostack launch
--split``) as subprocesses talking over LCM on a port of the test's own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robostack.cli.main import main
from robostack.core.paths import LAUNCH_FILES
from robostack.launcher import goals
from robostack.launcher.launch_file import load_launch_file
from robostack.launcher.plan import make_plan, write_plan
from robostack.launcher.supervisor import serving
from robostack.transport import lcmtypes
from robostack.transport.codec import decode
from robostack.transport.config import HEARTBEAT_HZ, max_bytes
from tests.transport.helpers import Listener, private_config

ROBOSTACK = [sys.executable, "-m", "robostack.cli.main"]
GOAL = "reach the blue marker behind the wall"  # obstacle: about 5 s of motion


def _launch_file(
    tmp_path: Path,
    config,
    episodes: int = 1,
    stale_reference_s: float = 1.0,
    *,
    shared: bool = False,
) -> Path:
    """panda_mujoco.toml on ``config``'s URL (None: the default one); ``shared``: a split
    launch talks on the shared channels, where a test's `Listener` hears it."""
    text = (LAUNCH_FILES / "panda_mujoco.toml").read_text()
    text = text.replace("stale_reference_s = 1.0", f"stale_reference_s = {stale_reference_s}")
    text = text.replace('runs_dir = "runs"', f'runs_dir = "{tmp_path / "runs"}"')
    text = text.replace("episodes = 1\n", f"episodes = {episodes}\n", 1)  # [session]
    assert f"episodes = {episodes}\n" in text
    text += f"\n[ipc]\nshared = {str(shared).lower()}\n"
    if config is not None:
        text += f'url = "{config.url}"\npolicy_timeout_s = {config.policy_timeout_s}\n'
    path = tmp_path / "split.toml"
    path.write_text(text)
    return path


def _report(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def _start_server(config, *extra: str, checkpoint: str = "obstacle") -> subprocess.Popen:
    """``robostack policy-server`` for ``checkpoint`` on ``config``'s URL (None: the default
    one), on the shared channels."""
    args = ["policy-server", "--checkpoint", f"assets/checkpoints/{checkpoint}"]
    args += [] if config is None else ["--url", config.url]
    return subprocess.Popen(
        [*ROBOSTACK, *args, *extra, "--json"], stdout=subprocess.PIPE, text=True
    )


@pytest.fixture
def moving(tmp_path):
    """A policy server and a control process, the arm moving under the policy (two chunks in)."""
    config = private_config()
    launch = _launch_file(tmp_path, config, episodes=3)
    listener = Listener(config, "CHUNK", "SAFETY")
    server = _start_server(config)
    control = subprocess.Popen(
        [*ROBOSTACK, "control", GOAL, "--launch", str(launch), "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert len(listener.wait_for("CHUNK", 2, timeout_s=120)) == 2, "the policy never acted"
        yield config, listener, server, control
    finally:
        for process in (control, server):
            if process.poll() is None:
                process.kill()
            process.communicate()


def _events(listener: Listener) -> list:
    return [
        (arrival, decode(lcmtypes.safety_event_t, data, max_bytes=max_bytes("SAFETY")))
        for arrival, data in listener.got["SAFETY"]
    ]


def test_a_split_launch_runs_a_task_in_mujoco(tmp_path):
    config = private_config()
    launch = _launch_file(tmp_path, config)
    done = subprocess.run(
        [*ROBOSTACK, "launch", GOAL, "--launch", str(launch), "--split", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = _report(done.stdout)
    assert done.returncode == 0 and report["ok"], done.stderr[-2000:]
    (episode,) = report["results"]
    assert episode["success"] and episode["outcome"] == "completed"
    assert not [e for e in episode["events"] if e["reaction"] in ("HOLD", "STOP")]
    assert episode["ipc"]["chunks"] >= 5 and episode["timing"]["period_ms"]["median"] > 0
    processes = report["processes"]
    assert processes["control"]["exit_code"] == 0 and processes["policy_server"]["exit_code"] == 0
    served = processes["policy_server"]["report"]
    assert served["chunks"] >= episode["ipc"]["chunks"] and served["dropped"] == {}
    summary = json.loads((Path(episode["recording"]) / "summary.json").read_text())
    assert summary["success"] and summary["dropped_ticks"] == 0


def test_a_split_launch_on_the_default_url_keeps_to_channels_of_its_own(tmp_path):
    """Another policy server answers on the shared channels of the same LCM URL (as another
    session or test suite on this host would): the launch neither sees it nor is seen."""
    launch = _launch_file(tmp_path, None)
    other = _start_server(None, checkpoint="reach")
    try:
        done = subprocess.run(
            [*ROBOSTACK, "launch", GOAL, "--launch", str(launch), "--split", "--json"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        other.send_signal(signal.SIGTERM)
        other_out, _ = other.communicate(timeout=60)
    # the session ran with its own server (whether the episode succeeds on a loaded machine
    # is test_a_split_launch_runs_a_task_in_mujoco's business), which heard nothing else ...
    assert done.returncode in (0, 1), done.stderr[-2000:]
    (episode,) = _report(done.stdout)["results"]
    assert episode["ipc"]["chunks"] >= 2, episode["events"]
    assert _report(other_out)["observations"] == 0  # ... and the other heard nothing of it


def test_killing_the_policy_server_holds_the_arm_within_the_watchdog_time(moving):
    config, listener, server, control = moving
    killed = time.monotonic()
    os.kill(server.pid, signal.SIGKILL)
    deadline = killed + 10
    while time.monotonic() < deadline and not any(
        e.check == "policy_lost" for _, e in _events(listener)
    ):
        listener.pump(0.005)
    out, _ = control.communicate(timeout=120)
    report = _report(out)
    assert control.returncode == 1  # the session ended cleanly, its episode failed
    (episode,) = report["results"]  # no further episode without a policy
    assert episode["outcome"] == "held"
    ((arrival, lost),) = [(a, e) for a, e in _events(listener) if e.check == "policy_lost"]
    assert lost.reaction == "HOLD"
    # the heartbeat stops within one beat of the kill, the watchdog fires policy_timeout_s later
    assert arrival - killed <= config.policy_timeout_s + 1 / HEARTBEAT_HZ + 0.15
    recording = Path(episode["recording"])
    summary = json.loads((recording / "summary.json").read_text())
    assert summary["outcome"] == "held" and summary["dropped_ticks"] == 0
    assert "policy_lost" in (recording / "events.jsonl").read_text()


def test_an_operator_stop_over_lcm_stops_the_loop_and_the_session(moving):
    config, listener, _, control = moving
    stop = subprocess.run(
        [*ROBOSTACK, "stop", "--url", config.url, "--reason", "test", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stop.returncode == 0, stop.stderr
    listener.pump(1.0)
    out, _ = control.communicate(timeout=120)
    report = _report(out)
    assert control.returncode == 1
    (episode,) = report["results"]  # of the three asked for
    assert episode["outcome"] == "stopped"
    (event,) = [e for e in episode["events"] if e["check"] == "operator_stop"]
    assert event["reaction"] == "STOP" and "over LCM" in event["message"]
    assert report["stop_requests"] and "test" in report["stop_requests"][0]
    published = [e.check for _, e in _events(listener)]  # published as they happened
    assert published[0] == "operator_stop" and set(published) <= {"operator_stop", "torque_rate"}


def test_a_policy_slower_than_real_time_is_stitched_in_smoothly(tmp_path):
    config = private_config()
    # chunks are asked for every Ta / fps = 0.8 s: the watchdog must allow that plus 0.25 s
    launch = _launch_file(tmp_path, config, stale_reference_s=1.5)
    server = _start_server(config, "--delay", "0.25")
    try:
        done = subprocess.run(
            [*ROBOSTACK, "control", GOAL, "--launch", str(launch), "--json"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    report = _report(done.stdout)
    (episode,) = report["results"]
    assert episode["ipc"]["latency_ms"]["p50"] >= 250  # every chunk came late ...
    assert episode["success"], episode["events"]  # ... and was joined where it was by then
    jumps = [e for e in episode["events"] if e["check"].startswith(("reference", "chunk"))]
    assert jumps == [] and episode["outcome"] == "completed"


def test_sigterm_to_a_split_launch_stops_the_arm_and_ends_both_processes(tmp_path):
    config = private_config()
    launch = _launch_file(tmp_path, config, shared=True)
    listener = Listener(config, "CHUNK", "SAFETY")
    supervisor = subprocess.Popen(
        [*ROBOSTACK, "launch", GOAL, "--launch", str(launch), "--split", "--json"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # the control's plan file: in tmp_path
    )
    try:
        assert len(listener.wait_for("CHUNK", 2, timeout_s=120)) == 2, "the policy never acted"
        supervisor.send_signal(signal.SIGTERM)  # e.g. the terminal went away
        supervisor.communicate(timeout=60)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    assert supervisor.returncode == 130
    listener.pump(0.5)
    stops = [e for _, e in _events(listener) if e.check == "operator_stop"]
    assert stops and stops[0].reaction == "STOP"  # the arm was stopped, not dropped
    port = config.url.split(":")[-1].split("?")[0]
    pattern = f"robostack.*({port}|{tmp_path})"  # the server's URL, the control's plan file
    left = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    assert left.stdout == "", f"processes left behind: {left.stdout}"


def test_the_control_process_runs_the_plan_it_is_handed_without_reading_the_goal(
    tmp_path, monkeypatch, capsys
):
    config = private_config()
    plan = make_plan(GOAL, load_launch_file(_launch_file(tmp_path, config)), split=True)
    write_plan(plan, tmp_path / "plan.json")

    def refuse(*args, **kwargs):
        raise AssertionError("the control process read the goal again")

    monkeypatch.setattr(goals.GoalInterpreter, "__init__", refuse)
    monkeypatch.setattr(goals.GoalInterpreter, "interpret", refuse)
    with serving(plan):
        code = main(["control", "--plan", str(tmp_path / "plan.json"), "--json"])
    report = _report(capsys.readouterr().out)
    assert code == 0 and report["ok"], report
    assert report["plan"] == plan.to_dict()
    (episode,) = report["results"]
    assert episode["success"] and episode["ipc"]["chunks"] >= 5


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (lambda d: d.update(velocity_scale=3.0), r"--speed must be in \(0, 1\]"),
        (lambda d: d["launch"]["controller"].update(name="pid"), "controller is .* but the"),
        (lambda d: d.update(split=False), "split is false"),
    ],
)
def test_a_tampered_plan_file_is_refused_with_exit_2_before_anything_moves(
    tmp_path, capsys, change, refusal
):
    config = private_config()
    plan = make_plan(GOAL, load_launch_file(_launch_file(tmp_path, config)), split=True)
    data = plan.to_dict()
    change(data)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    listener = Listener(config, "STATUS")
    assert main(["control", "--plan", str(path), "--json"]) == 2
    out, err = capsys.readouterr()
    (line,) = out.splitlines()
    assert not json.loads(line)["ok"] and re.search(refusal, json.loads(line)["error"])
    assert len(err.splitlines()) == 1 and err.startswith("robostack control: error: plan file")
    listener.pump(0.3)
    assert listener.got["STATUS"] == []  # no control loop ever ran
    assert not (tmp_path / "runs").exists()


def test_a_plan_file_and_a_goal_are_not_given_together(tmp_path, capsys):
    path = tmp_path / "plan.json"
    assert main(["control", GOAL, "--plan", str(path), "--episodes", "2", "--json"]) == 2
    assert "drop GOAL, --episodes" in json.loads(capsys.readouterr().out)["error"]
