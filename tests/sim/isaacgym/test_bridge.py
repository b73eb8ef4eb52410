"""The Isaac Gym bridge against a stand-in built from the published API (the real Isaac Gym
runs only on Python 3.6-3.8 with NVIDIA's download, which this project has never run)."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from robostack.core.errors import RobotFaultError
from robostack.core.robots import get_robot
from robostack.core.types import JointCommand
from robostack.sim.isaacgym import IsaacGymRobot
from robostack.sim.isaacgym.robot import BRIDGE
from tests.transport.helpers import private_config

FAKE = Path(__file__).parent / "fake"


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    """The bridge runs in this Python with the stand-in isaacgym; its calls go to a log."""
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("ROBOSTACK_ISAACGYM_PYTHON", sys.executable)
    monkeypatch.setenv("PYTHONPATH", str(FAKE))
    monkeypatch.setenv("FAKE_ISAACGYM_LOG", str(log))
    return log


def _calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_bridge_is_python_3_6_and_imports_nothing_of_the_stack():
    tree = ast.parse(BRIDGE.read_text(), feature_version=(3, 6))
    modules = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    modules |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert modules <= {
        "argparse",
        "math",
        "signal",
        "sys",
        "time",
        "pathlib",
        "numpy",
        "lcm",
        "lcmtypes",
        "isaacgym",
        "torch",
    }


def _gym_methods(source: str) -> dict[str, ast.FunctionDef]:
    """The methods of ``class Gym`` in ``source``, each read on its own (the stubs hold a
    method named ``lambda`` elsewhere, which Python cannot parse)."""
    body = source[source.index("\nclass Gym") :]
    body = body[: body.find("\nclass ", 1) if "\nclass " in body[1:] else len(body)]
    methods = {}
    for match in re.finditer(r"^    def (\w+)\((.*?)\)\s*(->[^:]*)?:", body, re.M | re.S):
        name, params = match.group(1), " ".join(match.group(2).split())
        methods[name] = ast.parse(f"def {name}({params}): pass").body[0]
    return methods


def _accepts(function: ast.FunctionDef, count: int) -> bool:
    """Whether ``function`` (a method) takes ``count`` positional arguments after self."""
    args = function.args
    if args.vararg is not None:
        return True
    positional = len(args.args) - 1
    return positional - len(args.defaults) <= count <= positional


def test_every_gym_call_of_the_bridge_is_in_the_published_api_and_the_stand_in():
    """The stand-in takes what isaacgym-stubs (Preview 4's signatures) says Gym takes."""
    stub = next(f for f in importlib.metadata.files("isaacgym-stubs") if f.name == "gymapi.pyi")
    published = _gym_methods(Path(stub.locate()).read_text())
    stand_in = _gym_methods((FAKE / "isaacgym" / "gymapi.py").read_text())
    calls = [
        node
        for node in ast.walk(ast.parse(BRIDGE.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "gym"
    ]
    assert len({c.func.attr for c in calls}) >= 12
    for call in calls:
        name, count = call.func.attr, len(call.args)
        assert name in published, f"Gym.{name} is not in the published API"
        assert _accepts(published[name], count), f"Gym.{name} does not take {count} arguments"
        assert _accepts(stand_in[name], count), f"the stand-in's Gym.{name} differs"


def test_a_robot_drives_the_bridge_through_the_tensor_api(stand_in):
    config = private_config()
    panda = get_robot("panda")
    with IsaacGymRobot(robot="panda", config=config) as robot:
        start = robot.read()
        assert np.allclose(start.q, panda.q_home) and start.t == 0.0
        push = np.zeros(7)
        push[0] = 5.0
        for _ in range(100):
            robot.write(JointCommand.torque(push, gripper=0.02))
        moved = robot.read()
        assert moved.t == pytest.approx(0.1)  # 100 steps of 1 ms
        assert moved.q[0] > start.q[0] + 1e-3 and np.allclose(moved.q[1:], start.q[1:])
        assert moved.gripper_width < start.gripper_width
        assert np.allclose(robot.reset().q, panda.q_home)
    calls = _calls(stand_in)
    names = [c["call"] for c in calls]
    setup = [
        "acquire_gym",
        "create_sim",
        "add_ground",
        "load_asset",
        "create_env",
        "create_actor",
        "set_actor_dof_properties",
        "prepare_sim",
        "acquire_dof_state_tensor",
    ]
    assert names[: len(setup)] == setup
    sim = next(c for c in calls if c["call"] == "create_sim")
    assert sim["up_axis"] == 1 and sim["gravity"] == pytest.approx(-9.81) and sim["dt"] == 0.001
    asset = next(c for c in calls if c["call"] == "load_asset")
    assert asset["fix_base_link"] and asset["disable_gravity"]  # no g(q) to compensate with
    dofs = next(c for c in calls if c["call"] == "set_actor_dof_properties")
    assert dofs["modes"] == [3] * 7 + [1, 1]  # arm effort-driven, fingers position servos
    assert np.allclose(dofs["armature"][:7], panda.armature)
    step = [
        "set_dof_actuation_force_tensor",
        "set_dof_position_target_tensor",
        "simulate",
        "fetch_results",
        "refresh_dof_state_tensor",
    ]
    first = names.index("set_dof_actuation_force_tensor")
    assert names[first : first + len(step)] == step
    efforts = [c for c in calls if c["call"] == "set_dof_actuation_force_tensor"]
    assert (
        len(efforts) == 100
        and efforts[0]["shape"] == [9]
        and efforts[0]["dtype"] == "torch.float32"
    )


def test_environments_of_one_bridge_step_together(stand_in):
    config = private_config()
    with (
        IsaacGymRobot(robot="ur5e", config=config, num_envs=2, env=0) as first,
        IsaacGymRobot(robot="ur5e", config=config, num_envs=2, env=1, start=False) as second,
    ):
        for robot in (first, second):
            robot.write(JointCommand.torque(np.zeros(6)))
        assert first.read().t == second.read().t == pytest.approx(0.001)  # 1 kHz
    shapes = {
        tuple(c["shape"]) for c in _calls(stand_in) if c["call"] == "set_dof_actuation_force_tensor"
    }
    assert shapes == {(12,)}  # both environments' DOFs in one tensor


def test_a_bridge_that_dies_is_a_backend_failure(stand_in):
    with IsaacGymRobot(robot="ur5e", config=private_config()) as robot:
        robot.process.kill()
        robot.process.wait()
        robot.write(JointCommand.torque(np.zeros(6)))
        with pytest.raises(RobotFaultError, match="bridge exited") as failed:
            robot.read()
        assert failed.value.check == "backend_read"


def test_a_launch_file_with_the_isaacgym_backend_runs_a_task_through_the_bridge(
    stand_in, tmp_path, capsys
):
    from robostack.cli.main import main

    launch = tmp_path / "isaac.toml"
    launch.write_text(
        '[session]\ntask = "reach"\nseed = 3\n[robot]\nname = "ur5e"\nbackend = "isaacgym"\n'
        '[policy]\ncheckpoint = "ur5e_reach"\n[recording]\nenabled = false\n'
        f'[ipc]\nurl = "{private_config().url}"\n'
    )
    code = main(["launch", "reach the red marker", "--launch", str(launch), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and report["plan"]["backend"] == "isaacgym"
    (episode,) = report["results"]
    assert episode["outcome"] == "completed"  # the loop ran its course through the bridge
    assert sum(c["call"] == "simulate" for c in _calls(stand_in)) > 500


def test_a_lost_answer_is_given_again_and_a_new_client_takes_over(stand_in):
    config = private_config()
    with IsaacGymRobot(robot="ur5e", config=config) as robot:
        robot.write(JointCommand.torque(np.full(6, 1.0)))
        first = robot.read()
        robot._answered -= 1  # as if the answer had been lost: the command goes out again
        robot.bus.publish(config.channel("SIM_COMMAND"), robot._last)
        assert robot.read().t == first.t  # answered again, not stepped twice
        with IsaacGymRobot(robot="ur5e", config=config, start=False) as other:
            assert other.read().t == 0.0  # its reset took over the environment
            other.write(JointCommand.torque(np.zeros(6)))
            assert other.read().t == pytest.approx(0.001)
    steps = [c for c in _calls(stand_in) if c["call"] == "simulate"]
    assert len(steps) == 2


def test_the_backend_runs_at_1_khz_like_every_simulator():
    """The gains are set for 1 kHz; a UR5's real controller runs at 125 Hz."""
    assert IsaacGymRobot(robot="ur5", start=False).spec.dt == 0.001


def test_a_bridge_that_never_answers_is_ended(tmp_path, monkeypatch):
    silent = tmp_path / "python"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    monkeypatch.setattr("robostack.sim.isaacgym.robot.STARTUP_S", 1.0)
    robot = IsaacGymRobot(robot="panda", config=private_config(), python=str(silent))
    with pytest.raises(RobotFaultError, match="within 1 s"):
        robot.connect()
    assert robot.process is None and robot.bus is None
