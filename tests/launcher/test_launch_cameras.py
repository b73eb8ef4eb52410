"""A real-robot launch file's ``[cameras]``: validated key by key (one line, exit 2), and the
launcher's camera checks before anything moves: a pixel checkpoint's cameras must be there at
their resolution, and push / pick_place run on a real arm only from cameras."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.cli.main import main
from robostack.core.errors import RobostackError
from robostack.core.paths import CHECKPOINTS, LAUNCH_FILES
from robostack.launcher.launch_file import LaunchFileError, launch_from_tables, load_launch_file
from robostack.launcher.plan import make_plan
from robostack.policies.features import CameraMismatchError
from tests.hardware.camera_helpers import camera_table, pixel_checkpoint

ADDRESS = "172.16.0.2"
PUSH = "push the red cube onto the green square"


def _franka(
    tmp_path,
    *,
    task: str = "reach",
    checkpoint: str = "reach",
    cameras: str = "",
    split: bool = False,
):
    """launch/franka_fci.toml for ``task`` with ``checkpoint`` and ``cameras`` tables."""
    text = (LAUNCH_FILES / "franka_fci.toml").read_text()
    text = text.replace('task = "reach"', f'task = "{task}"', 1)
    text = text.replace('checkpoint = "reach"', f'checkpoint = "{checkpoint}"', 1)
    text = text.replace("split = true", f"split = {str(split).lower()}", 1)
    path = tmp_path / "franka.toml"
    path.write_text(text + "\n" + cameras)
    return path


FRONT = camera_table("front", "front.avi", fps=30)


@pytest.mark.parametrize(
    ("table", "refusal"),
    [
        (FRONT + "resolution = 3\n", r"\[cameras.front\] resolution: unknown key; known: backend"),
        (FRONT.replace('"opencv"', '"kinect"'), r"\[cameras.front\]: backend must be one of"),
        (FRONT.replace("fps = 30", "fps = 0"), r"fps must be in \(0, 1000\], got 0"),
        (FRONT.replace("width = 64", 'width = "64"'), r"\] width: must be an integer, got str"),
        (FRONT.replace('device = "front.avi"', "device = true"), r"must be an int.* or a str"),
        (FRONT.replace("position = [1.25, 0.0, 0.75]\n", ""), r"position needs 3 numbers"),
        (FRONT + "quaternion = [0.0, 0.0, 0.0, 1.0]\n", r"give look_at or quaternion \(one\)"),
        (FRONT + "fx = 50.0\n", r"fx, fy, cx, cy: give all four"),
        (FRONT + "up = [-0.8, 0.0, -0.65]\n", r"up is along the optical axis"),
        (FRONT + 'mount = "elbow"\n', r"mount must be one of"),
        ("[cameras]\nfront = 3\n", r"\[cameras\] front: must be a table"),
    ],
)
def test_a_bad_cameras_table_is_refused_in_one_line_with_exit_2(tmp_path, capsys, table, refusal):
    path = _franka(tmp_path, cameras=table)
    with pytest.raises(LaunchFileError, match=refusal):
        load_launch_file(path)
    argv = ["launch", "reach the red marker", "--launch", str(path), "--address", ADDRESS]
    assert main([*argv, "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(path) in err


def test_cameras_are_for_real_robots_only(tmp_path):
    path = tmp_path / "sim.toml"
    path.write_text((LAUNCH_FILES / "panda_mujoco.toml").read_text() + "\n" + FRONT)
    with pytest.raises(LaunchFileError, match=r"\[cameras\]: only for real robots"):
        load_launch_file(path)


def test_a_cameras_table_loads_resolves_its_video_and_round_trips(tmp_path):
    wrist = (
        '[cameras.wrist]\nbackend = "realsense"\nserial = "123456"\nwidth = 640\nheight = 480\n'
        'fps = 30\nfx = 600.0\nfy = 601.0\ncx = 320.0\ncy = 240.0\nmount = "wrist"\n'
        "position = [0.05, 0.0, -0.08]\nquaternion = [0.0, 0.0, 0.0, 1.0]\nmax_age_s = 0.2\n"
    )
    launch = load_launch_file(_franka(tmp_path, cameras=FRONT + wrist))
    front, wrist = launch.cameras["front"], launch.cameras["wrist"]
    assert front.size == (48, 64) and front.max_age == pytest.approx(3 / 30)
    assert launch.camera_configs()["front"].device == str(tmp_path / "front.avi")
    assert wrist.max_age == 0.2 and wrist.mount == "wrist"
    assert np.allclose(wrist.intrinsics(), [[600, 0, 320], [0, 601, 240], [0, 0, 1]])
    assert np.allclose(wrist.mount_from_camera()[:3, 3], [0.05, 0.0, -0.08])
    # the look_at pose: the optical axis (z) points from the camera at the table
    axis = front.mount_from_camera()[:3, 2]
    assert np.allclose(
        axis,
        np.subtract([0.45, 0, 0.1], [1.25, 0, 0.75])
        / np.linalg.norm(np.subtract([0.45, 0, 0.1], [1.25, 0, 0.75])),
    )
    again = launch_from_tables(launch.path, launch.tables())
    assert again == launch
    table = {**launch.tables()["cameras"]["front"], "device": 0, "quaternion": [1.0, 0, 0, 0]}
    del table["look_at"]
    indexed = launch_from_tables(launch.path, {**launch.tables(), "cameras": {"front": table}})
    assert indexed.camera_configs()["front"].device == 0  # a device index, not a path


@pytest.fixture(scope="module")
def pixels(tmp_path_factory):
    """A pixel checkpoint for push and reach from one 48 x 64 front camera."""
    folder = tmp_path_factory.mktemp("pixels") / "push_pixels"
    return pixel_checkpoint(folder, tasks=("push", "reach"), cameras=(("front", 48, 64),))


def test_push_on_a_real_arm_is_refused_without_a_checkpoint_from_cameras(tmp_path, capsys):
    path = _franka(tmp_path, task="push", checkpoint=str(CHECKPOINTS / "push"), cameras=FRONT)
    with pytest.raises(RobostackError, match=r"push moves objects: .*through cameras.*without"):
        make_plan(PUSH, load_launch_file(path), address=ADDRESS)
    argv = ["launch", PUSH, "--launch", str(path), "--address", ADDRESS, "--dry-run"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "must see them through cameras" in err


@pytest.mark.parametrize(
    ("cameras", "mismatch"),
    [
        ("", r"the policy sees camera 'front', which .*\[cameras\] lacks \(it has: none\)"),
        (camera_table("side", "side.avi", fps=30), r"camera 'front', which .* \(it has: side\)"),
        (FRONT.replace("width = 64", "width = 96"), r"camera 'front' is 48x96 in .*, the policy"),
    ],
)
def test_a_checkpoints_cameras_missing_from_the_launch_file_are_refused(
    tmp_path, capsys, pixels, cameras, mismatch
):
    path = _franka(tmp_path, task="push", checkpoint=str(pixels), cameras=cameras)
    with pytest.raises(CameraMismatchError, match=mismatch):
        make_plan(PUSH, load_launch_file(path), address=ADDRESS)
    argv = ["launch", PUSH, "--launch", str(path), "--address", ADDRESS, "--dry-run"]
    assert main(argv) == 2
    assert "\n" not in capsys.readouterr().err.strip()


def test_a_split_session_carries_the_images(tmp_path, pixels):
    path = _franka(tmp_path, task="push", checkpoint=str(pixels), cameras=FRONT, split=True)
    plan = make_plan(PUSH, load_launch_file(path), address=ADDRESS)
    assert plan.split and plan.checkpoint == pixels


def test_push_on_a_real_arm_is_planned_from_matching_cameras(tmp_path, capsys, pixels):
    path = _franka(tmp_path, task="from_goal", checkpoint=str(pixels), cameras=FRONT)
    plan = make_plan(PUSH, load_launch_file(path), address=ADDRESS)
    assert plan.task == "push" and plan.checkpoint == pixels and not plan.split
    argv = ["launch", PUSH, "--launch", str(path), "--address", ADDRESS, "--dry-run"]
    assert main([*argv, "--json"]) == 0
    assert '"task": "push"' in capsys.readouterr().out
    assert main(argv) == 0
    assert (
        "camera front: opencv front.avi, 64x48 at 30 fps, world mount; frames older than "
        "100 ms hold the arm" in capsys.readouterr().out
    )
