"""The whole real-robot path against the stand-ins: preflight, start move, a policy session
paced by the robot, a safety stop, disconnect; from the CLI and from the launcher API."""

from __future__ import annotations

import gc
import json
import weakref

import pytest

from robostack.cli.main import main
from robostack.core.errors import SessionFailedError
from robostack.core.paths import CHECKPOINTS, LAUNCH_FILES
from robostack.hardware.rehearsal.standins import rehearsal
from robostack.launcher.launch_file import load_launch_file
from robostack.launcher.plan import make_plan
from robostack.launcher.real_session import open_robot
from robostack.launcher.session import run_plan
from robostack.runtime.recording import EVENTS
from tests.hardware.helpers import for_a_loaded_machine, read_summary

GOAL = "reach the red marker"


# seed 3: a reach the shipped policies solve. At full speed: the policies were trained at
# full speed, and slowed chunks take them out of their training distribution (docs/real_robots.md).
FILES = {
    "franka_fci.toml": ("172.16.0.2", "reach"),
    "ur5_rtde.toml": ("192.168.1.10", "ur5e_reach"),
}


def _launch_file(tmp_path, name: str) -> str:
    text = (LAUNCH_FILES / name).read_text()
    _, checkpoint = FILES[name]
    text = text.replace('task = "reach"', 'task = "reach"\nseed = 3', 1)
    text = text.replace(
        f'checkpoint = "{checkpoint}"', f'checkpoint = "{CHECKPOINTS / checkpoint}"'
    )
    text = text.replace("enabled = true", f'enabled = true\nruns_dir = "{tmp_path}"')
    text = for_a_loaded_machine(text)
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", list(FILES))
def test_preflight_then_a_policy_session_from_the_cli(tmp_path, capsys, name):
    address, _ = FILES[name]
    path = _launch_file(tmp_path, name)
    assert main(["preflight", "--launch", path, "--address", address, "--standin", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and {c["name"] for c in report["checks"]} == {
        "reachable",
        "mode",
        "versions",
        "joint limits",
        "start configuration",
        "payload",
    }
    # fast: real-time rehearsals on a loaded 2-core machine miss deadlines (docs/real_robots.md)
    argv = ["launch", GOAL, "--launch", path, "--address", address, "--standin", "fast", "--yes"]
    assert main([*argv, "--speed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    episode = out["results"][0]
    assert out["ok"] and out["preflight"]["ok"] and episode["success"]
    assert episode["timing"]["period_ms"]["median"] > 0
    summary = read_summary(episode["recording"])
    assert summary["success"] and summary["timing"]["lost_packets"] == 0


def test_a_protective_stop_mid_session_ends_it_stopped_and_recorded(tmp_path):
    launch = load_launch_file(_launch_file(tmp_path, "ur5_rtde.toml"))
    plan = make_plan(GOAL, launch, address="192.168.1.10", speed=1.0)
    with rehearsal("ur_rtde", "ur5e", plan.address, realtime=False) as (client, arm):
        arm.inject("protective_stop", at=2.5)  # after the ~1.3 s start move and its settling
        robot = open_robot(plan, client=client)
        result = run_plan(plan, robot=robot, inference_thread=False)
    episode = result.episodes[0]
    assert episode.result.outcome == "stopped" and not episode.success
    assert "protective_stop" in [e.check for e in episode.result.events]
    assert robot._control is None  # disconnected
    summary = read_summary(episode.run_dir)
    assert "protective_stop" in [e["check"] for e in summary["events"]]


def test_a_reflex_in_the_start_move_fails_the_session_with_the_move_recorded(tmp_path):
    launch = load_launch_file(_launch_file(tmp_path, "franka_fci.toml"))
    plan = make_plan(GOAL, launch, address="172.16.0.2", speed=1.0)
    with rehearsal("franka_fci", "panda", plan.address, realtime=False) as (client, arm):
        arm.inject("reflex", at=0.3)  # the start move from 0.3 rad off home takes ~1.3 s
        robot = open_robot(plan, client=client)
        with pytest.raises(SessionFailedError, match="start move ended stopped"):
            run_plan(plan, robot=robot, inference_thread=False)
    (run,) = (path for path in tmp_path.iterdir() if path.is_dir())
    summary = read_summary(run)
    assert summary["outcome"] == "error" and summary["start_move"]["outcome"] == "stopped"
    lines = (run / EVENTS).read_text().splitlines()
    assert [json.loads(line)["phase"] for line in lines] == ["start_move"]
    assert "franka_reflex" in lines[0]
    assert summary["recorded_ticks"] == summary["start_move"]["ticks"] > 0


class _Cycle:
    def __init__(self):
        self.me = self


def test_a_session_collects_then_freezes_the_heap_until_it_ends(tmp_path, monkeypatch):
    """The session collects the garbage before the robot connects (a cycle made before it is
    gone by the first episode) and freezes the rest until it ends, so no full collection walks
    the old heap while the arm moves."""
    import robostack.launcher.real_session as real_session

    launch = load_launch_file(_launch_file(tmp_path, "franka_fci.toml"))
    plan = make_plan(GOAL, launch, address="172.16.0.2", speed=1.0)
    seen = []
    run_robot_episode = real_session.run_robot_episode

    def observed(*args, **kwargs):
        seen.append((gc.get_freeze_count(), garbage()))
        return run_robot_episode(*args, **kwargs)

    monkeypatch.setattr(real_session, "run_robot_episode", observed)
    with rehearsal("franka_fci", "panda", plan.address, realtime=False) as (client, _):
        robot = open_robot(plan, client=client)
        automatic = gc.isenabled()
        gc.disable()  # only the session's own collection may free the cycle
        try:
            garbage = weakref.ref(_Cycle())
            result = run_plan(plan, robot=robot, inference_thread=False)
        finally:
            if automatic:
                gc.enable()
    assert result.episodes[0].success
    ((frozen, cycle),) = seen
    assert frozen > 10_000 and cycle is None
    assert gc.get_freeze_count() == 0


def test_tasks_that_move_objects_are_refused_on_real_robots():
    from robostack.core.errors import RobostackError

    launch = load_launch_file(LAUNCH_FILES / "franka_fci.toml")
    launch = type(launch)(**{**launch.__dict__, "session": type(launch.session)(task="from_goal")})
    with pytest.raises(RobostackError, match=r"push moves objects.*through cameras.*without"):
        make_plan("push the red cube onto the green square", launch, address="172.16.0.2")
