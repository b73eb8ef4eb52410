"""Launch plans: every check before anything moves."""

from __future__ import annotations

import pytest

from robostack.core.errors import RobostackError
from robostack.core.paths import LAUNCH_FILES
from robostack.launcher.launch_file import LaunchFileError, load_launch_file
from robostack.launcher.plan import make_plan
from robostack.launcher.session import run_plan

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
    assert plan.safety["velocity_fraction"] == 0.25
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
