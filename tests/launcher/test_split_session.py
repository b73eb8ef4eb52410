"""The split in real processes, in real time: a session, a killed policy, a stop, a slow policy.

Each test starts ``robostack policy-server`` and ``robostack control`` (or ``robostack launch
--split``) as subprocesses talking over LCM on a port of the test's own. The suite runs on loaded
machines (two shared cores, CPU-bound jobs beside it): a process may wait seconds for its turn,
and torch alone takes 10-40 s to import there. So the watchdogs a test does not test are set
patient (`PATIENT_S`), and waits for processes to start or end are minutes long.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
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
from robostack.transport.config import HEARTBEAT_HZ, IpcConfig, max_bytes
from tests.conftest import in_background
from tests.transport.helpers import Listener, private_config

ROBOSTACK = [sys.executable, "-m", "robostack.cli.main"]
GOAL = "reach the blue marker behind the wall"  # obstacle: about 5 s of motion
# watchdogs a loaded machine does not trip: a chunk every 0.8 s may come this late (the stale
# reference), be this old (max_chunk_age_s), the heartbeat this silent (policy_timeout_s), s
PATIENT_S = 3.0
STARTUP_S = 300  # the control process waits this long for the policy server (both import torch)
RUN_S = 600  # a session of one episode, start-up included, ends within this long
LOADED_S = 1.0  # how late a process on a loaded machine may get to a message or a deadline, s


def patient_config(**overrides) -> IpcConfig:
    """`private_config` with patient watchdogs (`PATIENT_S`)."""
    return private_config(
        **{"policy_timeout_s": PATIENT_S, "max_chunk_age_s": PATIENT_S, **overrides}
    )


def _launch_file(
    tmp_path: Path,
    config: IpcConfig | None,
    episodes: int = 1,
    stale_reference_s: float = PATIENT_S,
    *,
    shared: bool = False,
    checkpoint: Path | str = "",
) -> Path:
    """panda_mujoco.toml with ``config``'s URL and watchdogs (None: the default URL, patient
    watchdogs) and ``checkpoint`` (default: the task's); ``shared``: a split launch talks on
    the shared channels, where a test's `Listener` hears it."""
    text = (LAUNCH_FILES / "panda_mujoco.toml").read_text()
    text = text.replace('checkpoint = ""', f'checkpoint = "{checkpoint}"')
    text = text.replace("stale_reference_s = 1.0", f"stale_reference_s = {stale_reference_s}")
    text = text.replace('runs_dir = "runs"', f'runs_dir = "{tmp_path / "runs"}"')
    text = text.replace("episodes = 1\n", f"episodes = {episodes}\n", 1)  # [session]
    assert f"episodes = {episodes}\n" in text
    ipc = config or IpcConfig(policy_timeout_s=PATIENT_S, max_chunk_age_s=PATIENT_S)
    text += (
        f'\n[ipc]\nshared = {str(shared).lower()}\nurl = "{ipc.url}"\n'
        f"policy_timeout_s = {ipc.policy_timeout_s}\nmax_chunk_age_s = {ipc.max_chunk_age_s}\n"
        f"startup_timeout_s = {STARTUP_S}\n"
    )
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


@contextmanager
def _moving(tmp_path, config: IpcConfig):
    """A policy server and a control process on ``config``, the arm moving under the policy
    (two chunks in); yields the config, a listener (CHUNK, SAFETY), the server and the control
    process, killed on the way out if still running."""
    launch = _launch_file(tmp_path, config, episodes=3)
    listener = Listener(config, "CHUNK", "SAFETY")
    server = _start_server(config)
    control = subprocess.Popen(
        [*ROBOSTACK, "control", GOAL, "--launch", str(launch), "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        acted = listener.wait_for("CHUNK", 2, timeout_s=STARTUP_S)
        assert len(acted) == 2, "the policy never acted"
        yield config, listener, server, control
    finally:
        for process in (control, server):
            if process.poll() is None:
                process.kill()
            process.communicate()


def _listen_until(listener: Listener, done) -> None:
    """Take ``listener``'s messages until ``done`` is set (a `threading.Event`): unread for
    the seconds a loaded machine takes to start a command, the status messages would fill its
    socket's buffer, and what came next would be lost."""
    while not done.is_set():
        listener.pump(0.05)


def _events(listener: Listener) -> list:
    return [
        (arrival, decode(lcmtypes.safety_event_t, data, max_bytes=max_bytes("SAFETY")))
        for arrival, data in listener.got["SAFETY"]
    ]


def test_a_split_launch_runs_a_task_in_mujoco(tmp_path):
    config = patient_config()
    launch = _launch_file(tmp_path, config)
    done = subprocess.run(
        [*ROBOSTACK, "launch", GOAL, "--launch", str(launch), "--split", "--json"],
        capture_output=True,
        text=True,
        timeout=RUN_S,
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
    assert served["chunks"] >= episode["ipc"]["chunks"]
    # observation 0 goes out again every 0.5 s until its chunk comes: a slow first chunk
    # makes repeats the server drops as out of order, and nothing else
    assert set(served["dropped"]) <= {"ipc_out_of_order"}, served["dropped"]
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
            timeout=RUN_S,
        )
    finally:
        other.send_signal(signal.SIGTERM)
        other_out, _ = other.communicate(timeout=STARTUP_S)
    # the session ran with its own server (whether the episode succeeds on a loaded machine
    # is test_a_split_launch_runs_a_task_in_mujoco's business), which heard nothing else ...
    assert done.returncode in (0, 1), done.stderr[-2000:]
    (episode,) = _report(done.stdout)["results"]
    assert episode["ipc"]["chunks"] >= 2, episode["events"]
    assert _report(other_out)["observations"] == 0  # ... and the other heard nothing of it


def test_killing_the_policy_server_holds_the_arm_within_the_watchdog_time(tmp_path):
    # a 1 s watchdog, under the chunks' patient one (the stale reference): with a chunk every
    # 0.8 s, that one fires 2.2 s after the kill at the earliest
    with _moving(tmp_path, patient_config(policy_timeout_s=1.0)) as (
        config,
        listener,
        server,
        control,
    ):
        killed = time.monotonic()
        os.kill(server.pid, signal.SIGKILL)
        deadline = killed + 60
        while time.monotonic() < deadline and not any(
            e.check == "policy_lost" for _, e in _events(listener)
        ):
            listener.pump(0.005)
        out, _ = control.communicate(timeout=RUN_S)
    report = _report(out)
    assert control.returncode == 1  # the session ended cleanly, its episode failed
    (episode,) = report["results"]  # no further episode without a policy
    assert episode["outcome"] == "held"
    ((arrival, lost),) = [(a, e) for a, e in _events(listener) if e.check == "policy_lost"]
    assert lost.reaction == "HOLD" and lost.limit == config.policy_timeout_s
    # the watchdog fires as the silence it measures passes its limit (by a tick, or by how
    # long a loaded machine kept the loop from its next tick) ...
    assert config.policy_timeout_s < lost.value <= config.policy_timeout_s + LOADED_S
    # ... and the silence began with the kill: the heartbeat stopped within one beat of it
    # (the loop's lateness and this listener's, on a loaded machine, on top)
    assert arrival - killed <= config.policy_timeout_s + 1 / HEARTBEAT_HZ + 2 * LOADED_S
    recording = Path(episode["recording"])
    summary = json.loads((recording / "summary.json").read_text())
    assert summary["outcome"] == "held" and summary["dropped_ticks"] == 0
    assert "policy_lost" in (recording / "events.jsonl").read_text()


def test_an_operator_stop_over_lcm_stops_the_loop_and_the_session(tmp_path):
    reason = "test " + "停" * 3000  # 9 000 bytes: cut by the sender, the stop still fits
    with (
        _moving(tmp_path, patient_config()) as (config, listener, _, control),
        in_background(lambda done: _listen_until(listener, done)),
    ):
        stop = subprocess.run(
            [*ROBOSTACK, "stop", "--url", config.url, "--reason", reason, "--wait", "5", "--json"],
            capture_output=True,
            text=True,
            timeout=STARTUP_S,
        )
        assert stop.returncode == 0, stop.stderr
        (obeyed,) = _report(stop.stdout)["obeyed_by"]  # the control process acknowledged it
        assert f"control pid {control.pid}" in obeyed["process"]
        out, _ = control.communicate(timeout=RUN_S)
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
    # chunks are asked for every Ta / fps = 0.8 s and come 0.25 s late and more: within the
    # patient watchdogs (the stale reference, the chunk's age)
    config = patient_config()
    launch = _launch_file(tmp_path, config)
    server = _start_server(config, "--delay", "0.25")
    try:
        done = subprocess.run(
            [*ROBOSTACK, "control", GOAL, "--launch", str(launch), "--json"],
            capture_output=True,
            text=True,
            timeout=RUN_S,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=STARTUP_S)
    report = _report(done.stdout)
    (episode,) = report["results"]
    assert episode["ipc"]["latency_ms"]["p50"] >= 250  # every chunk came late ...
    assert episode["success"], episode["events"]  # ... and was joined where it was by then
    jumps = [e for e in episode["events"] if e["check"].startswith(("reference", "chunk"))]
    assert jumps == [] and episode["outcome"] == "completed"


@contextmanager
def _split_launch(tmp_path, *flags: str):
    """``robostack launch --split`` (stdout and stderr piped: the children's stderr too), the
    arm moving under the policy (two chunks in); killed on the way out if still running.
    Yields the IPC config, a listener (CHUNK, SAFETY) and the process."""
    config = patient_config()
    launch = _launch_file(tmp_path, config, shared=True)
    listener = Listener(config, "CHUNK", "SAFETY")
    supervisor = subprocess.Popen(
        [*ROBOSTACK, "launch", GOAL, "--launch", str(launch), "--split", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # the control's plan file: in tmp_path
    )
    try:
        acted = listener.wait_for("CHUNK", 2, timeout_s=STARTUP_S)
        assert len(acted) == 2, "the policy never acted"
        yield config, listener, supervisor
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.communicate()


def test_sigterm_to_a_split_launch_stops_the_arm_and_ends_both_processes(tmp_path):
    with _split_launch(tmp_path, "--json") as (config, listener, supervisor):
        supervisor.send_signal(signal.SIGTERM)  # e.g. the terminal went away
        supervisor.communicate(timeout=STARTUP_S)
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
    config = patient_config()
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


def test_sigkill_of_a_split_launch_stops_the_arm_once_without_aborting(tmp_path):
    """The kernel tells the children of the death, once per exiting thread of the launcher:
    one stop, the braking carried out, no second-Ctrl-C abort."""
    with _split_launch(tmp_path, "--json") as (_, listener, supervisor):
        supervisor.kill()
        _, err = supervisor.communicate(timeout=RUN_S)  # to its end: the children have ended
    listener.pump(0.5)
    assert "KeyboardInterrupt" not in err and "Traceback" not in err, err
    stops = [e for _, e in _events(listener) if e.check == "operator_stop"]
    assert len(stops) == 1 and stops[0].reaction == "STOP" and "SIGUSR1" in stops[0].message
    (run,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["outcome"] == "stopped" and summary["dropped_ticks"] == 0
    halted = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert [e["check"] for e in halted if e["reaction"] == "STOP"] == ["operator_stop"]


def test_a_control_process_killed_mid_episode_fails_the_launch_with_exit_1(tmp_path):
    """Exit 2 means "refused, nothing moved": a session that began and broke is a failure."""
    with _split_launch(tmp_path) as (_, _, supervisor):
        control = subprocess.run(
            ["pgrep", "-P", str(supervisor.pid), "-f", "robostack.cli.main control"],
            capture_output=True,
            text=True,
        )
        os.kill(int(control.stdout.split()[0]), signal.SIGKILL)
        _, err = supervisor.communicate(timeout=RUN_S)
    assert supervisor.returncode == 1, err
    assert "the control process failed" in err and "Traceback" not in err
