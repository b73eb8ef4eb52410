"""Launch plans: every check before anything moves."""

from __future__ import annotations

import dataclasses
import json

import pytest

from robostack.core.errors import RobostackError
from robostack.core.paths import LAUNCH_FILES
from robostack.core.robots import get_robot
from robostack.launcher import goals
from robostack.launcher import plan as plan_module
from robostack.launcher.launch_file import LaunchFileError, load_launch_file
from robostack.launcher.plan import LaunchPlan, make_plan, read_plan, write_plan
from robostack.launcher.session import run_plan
from robostack.runtime.safety.overrides import SafetyOverrides

GOAL = "push the red cube onto the green square"


def _file(tmp_path, text):
    path = tmp_path / "launch.toml"
    path.write_text(text)
    return load_launch_file(path)


def test_the_default_plan_names_task_slots_checkpoint_and_safety():
    plan = make_plan(GOAL, load_launch_file(LAUNCH_FILES / "panda_mujoco.toml"))
    d = plan.to_dict()
    assert (d["task"], d["slots"]) == ("push", {"colour": "red", "target": "green"})
    assert d["checkpoint"].endswith("assets/checkpoints/push")
    assert d["robot"] == "panda" and d["backend"] == "mujoco" and not d["real_robot"]
    assert d["velocity_scale"] == 1.0 and d["safety"]["tracking_error_max"] == 0.1


@pytest.mark.parametrize(
    ("launch_file", "backend", "shipped"),
    [
        ("panda_mujoco.toml", "mujoco", "reach_pixels"),
        ("panda_pybullet.toml", "pybullet", "reach"),  # another renderer than the training's
        ("franka_fci.toml", "franka_fci", "reach"),  # a real arm: its twin gives the marker
    ],
)
def test_the_shipped_checkpoint_from_cameras_is_the_default_in_mujoco(
    tmp_path, monkeypatch, launch_file, backend, shipped
):
    for name in ("reach", "reach_pixels"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(plan_module, "CHECKPOINTS", tmp_path)
    launch = load_launch_file(LAUNCH_FILES / launch_file)
    launch = dataclasses.replace(launch, policy=dataclasses.replace(launch.policy, checkpoint=""))
    assert launch.robot.backend == backend
    assert plan_module.checkpoint_for(launch, "reach")[1:] == (shipped, tmp_path / shipped)
    (tmp_path / "reach_pixels").rmdir()  # where none ships, the one from the object state
    assert plan_module.checkpoint_for(launch, "reach")[1] == "reach"


def test_a_checkpoint_not_trained_on_the_task_is_refused(tmp_path):
    launch = _file(tmp_path, "[policy]\ncheckpoint = 'reach'\n")
    with pytest.raises(LaunchFileError, match="trained on reach, not push"):
        make_plan(GOAL, launch)


def test_a_missing_checkpoint_is_refused_with_its_key(tmp_path):
    launch = _file(tmp_path, "[policy.tasks]\npush = 'nowhere'\n")
    with pytest.raises(LaunchFileError, match=r"\[policy.tasks\] push: no checkpoint 'nowhere'"):
        make_plan(GOAL, launch)


def test_a_task_the_robot_cannot_do_is_refused():
    launch = load_launch_file(LAUNCH_FILES / "ur5e_mujoco.toml")
    with pytest.raises(RobostackError, match="push"):
        make_plan(GOAL, launch)  # the file fixes reach: a push goal does not match it


def test_bad_gains_are_refused_with_the_key(tmp_path):
    launch = _file(tmp_path, "[policy.tasks]\npush = 'push'\n[controller.gains]\nkq = [1.0]\n")
    with pytest.raises(LaunchFileError, match=r"\[controller.gains\] kq: .*its gains: kp, kd"):
        make_plan(GOAL, launch)
    launch = _file(tmp_path, "[policy.tasks]\npush = 'push'\n[controller.gains]\nkp = [1.0]\n")
    with pytest.raises(LaunchFileError, match="needs 7 finite values"):
        make_plan(GOAL, launch)
    for bad in ("nan", "inf", "-1.0"):
        gains = f"[controller.gains]\nkd = [{bad}, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]\n"
        launch = _file(tmp_path, "[policy.tasks]\npush = 'push'\n" + gains)
        with pytest.raises(LaunchFileError, match=r"kd: needs 7 finite values >= 0"):
            make_plan(GOAL, launch)


def test_a_real_robot_needs_its_address_on_the_command_line_and_runs_reduced():
    launch = load_launch_file(LAUNCH_FILES / "franka_fci.toml")
    with pytest.raises(RobostackError, match="give its address with --address"):
        make_plan("reach the red marker", launch)
    plan = make_plan("reach the red marker", launch, address="172.16.0.2")
    assert plan.address == "172.16.0.2" and plan.velocity_scale == 0.25
    assert plan.safety.velocity_fraction == 0.25
    with pytest.raises(RobostackError, match="runs on its robot"):
        run_plan(plan)
    assert make_plan("reach the red marker", launch, address="x", speed=0.5).velocity_scale == 0.5
    with pytest.raises(RobostackError, match=r"--speed must be in \(0, 1\]"):
        make_plan("reach the red marker", launch, address="x", speed=1.5)


def test_the_address_is_only_for_real_robots():
    launch = load_launch_file(LAUNCH_FILES / "panda_mujoco.toml")
    with pytest.raises(RobostackError, match="--address is for real robots"):
        make_plan(GOAL, launch, address="10.0.0.2")


@pytest.mark.parametrize(
    ("name", "address"), [("ur5e_mujoco.toml", None), ("ur5_rtde.toml", "192.168.1.10")]
)
def test_the_ur5e_launch_files_plan_reach_with_the_ur5e_checkpoint(name, address):
    plan = make_plan("reach the red marker", load_launch_file(LAUNCH_FILES / name), address=address)
    assert plan.task == "reach" and plan.checkpoint.name == "ur5e_reach"
    assert plan.launch.robot.name == "ur5e"


def test_a_plan_travels_as_json_and_comes_back_equal(tmp_path):
    launch = load_launch_file(LAUNCH_FILES / "franka_fci.toml")
    plan = make_plan("reach the red marker", launch, address="172.16.0.2", speed=0.5, split=True)
    path = tmp_path / "plan.json"
    write_plan(plan, path)
    assert read_plan(path) == plan
    assert LaunchPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    assert isinstance(plan.safety, SafetyOverrides) and plan.safety.velocity_fraction == 0.5
    assert len(plan.safety.collision_torque) == 7 and plan.safety.read_timeout_s is None


def _tampered(change):
    data = make_plan(GOAL, load_launch_file(LAUNCH_FILES / "panda_mujoco.toml")).to_dict()
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (lambda d: d.update(velocity_scale=5.0), r"--speed must be in \(0, 1\]"),
        (lambda d: d["safety"].update(velocity_fraction=0.5), "safety.velocity_fraction is 0.5"),
        (lambda d: d["safety"].update(tracking_error_max=-1), "safety.tracking_error_max is -1"),
        (lambda d: d.update(checkpoint="assets/checkpoints/reach"), "checkpoint is"),
        (lambda d: d.update(task="reach"), "task is 'reach', but"),
        (lambda d: d["interpretation"].update(task="teleport"), "teleport"),
        (lambda d: d["interpretation"]["slots"].update(colour="purple"), "no purple cube"),
        (lambda d: d["interpretation"].update(score="high"), "score has the wrong type"),
        (lambda d: d["launch"]["safety"].update(stale_reference_s=0), r"\[safety\] stale_ref"),
        (lambda d: d["launch"]["robot"].update(backend="franka_fci"), "needs real_robot"),
        (lambda d: d["launch"].update(lidar={}), r"\[lidar\]: unknown table"),
        (
            lambda d: d["launch"].update(
                cameras={"front": {"position": [1, 0, 1], "look_at": [0] * 3}}
            ),
            r"\[cameras\]: only for real robots",
        ),
        (lambda d: d.update(episodes="3"), "episodes has the wrong type"),
        (lambda d: d.update(split=1), "split has the wrong type"),
        (lambda d: d.pop("launch"), "no 'launch'"),
        (lambda d: d.update(extra=1), "extra is 1, but"),
    ],
)
def test_a_tampered_plan_is_refused_naming_what_is_wrong(change, refusal):
    with pytest.raises(RobostackError, match=refusal) as refused:
        LaunchPlan.from_dict(_tampered(change), source="plan file x.json")
    assert str(refused.value).startswith("plan file x.json: ")
    assert "\n" not in str(refused.value)


def test_a_plan_is_read_back_without_reading_the_goal_again(tmp_path, monkeypatch):
    plan = make_plan(GOAL, load_launch_file(LAUNCH_FILES / "panda_mujoco.toml"))
    write_plan(plan, tmp_path / "plan.json")

    def refuse(*args, **kwargs):
        raise AssertionError("the goal was read again")

    monkeypatch.setattr(goals.GoalInterpreter, "__init__", refuse)
    monkeypatch.setattr(goals.GoalInterpreter, "interpret", refuse)
    assert read_plan(tmp_path / "plan.json") == plan


@pytest.mark.parametrize(
    ("content", "refusal"),
    [(None, "No such file"), ("{not json", "not JSON"), ("[1, 2]", "not a plan")],
)
def test_a_plan_file_that_is_no_plan_is_refused(tmp_path, content, refusal):
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RobostackError, match=f"plan file {path}: .*{refusal}"):
        read_plan(path)


def test_safety_overrides_are_checked_when_made():
    good = {"tracking_error_max": 0.1, "collision_torque": (1.0,) * 7, "stale_reference_s": 1.0}
    assert SafetyOverrides(velocity_fraction=1.0, **good).config(get_robot("panda").spec)
    for bad in (0.0, 1.5, float("nan"), True, "1"):
        with pytest.raises(RobostackError, match="velocity_fraction"):
            SafetyOverrides(velocity_fraction=bad, **good)
    with pytest.raises(RobostackError, match="collision_torque"):
        SafetyOverrides(velocity_fraction=1.0, **{**good, "collision_torque": (1.0, -2.0)})
    with pytest.raises(RobostackError, match="7 values, the robot 6 joints"):
        SafetyOverrides(velocity_fraction=1.0, **good).config(get_robot("ur5e").spec)
