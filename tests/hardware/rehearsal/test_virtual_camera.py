"""A virtual controller's scene cameras: rendered in its process, read as a camera device
(`VirtualCamera`) with their capture times, showing the task's objects where the pinhole model
projects them, without stalling the controller's 1 kHz clock."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from robostack.core.errors import RobostackError
from robostack.hardware.rehearsal.virtual.camera import VirtualCamera
from robostack.hardware.rehearsal.virtual.franka_controller import VirtualFrankaController
from robostack.sim.cameras import CAMERAS
from robostack.sim.mujoco import SceneConfig
from robostack.sim.tasks import make_task
from tests.conftest import loopback
from tests.hardware.rehearsal.helpers import virtual_franka

FRONT = CAMERAS["front"].resized(64, 48)
WRIST = CAMERAS["wrist"].resized(32, 32)


@pytest.fixture
def controller():
    """A virtual Franka with the push task's objects (seed 4) and two cameras, in this
    process (its clock and camera threads), so the test sees its scene."""
    task = make_task("push")
    scene = SceneConfig(objects=task.scene_objects(), cameras=(FRONT, WRIST))
    controller = VirtualFrankaController(address=loopback(71), scene=scene)
    state = task.reset(controller.arm.sim, np.random.default_rng(4))
    with controller:
        yield controller, task, state


def test_frames_come_at_the_camera_rate_with_their_capture_time(controller):
    virtual, task, state = controller
    with VirtualCamera(virtual.address, "front") as camera:
        assert np.allclose(camera.intrinsics(), FRONT.intrinsics())
        ticks = virtual.ticks
        frames = [camera.read() for _ in range(6)]
        ticks = virtual.ticks - ticks
    got = time.monotonic()
    assert [f.index for f in frames] == list(range(6))
    assert all(f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8 for f in frames)
    gaps = np.diff([f.t for f in frames])
    # 10 Hz on time.monotonic()'s clock: never faster (no catch-up bursts), late only when
    # a loaded machine delays a render
    assert gaps.min() > 0.09 and np.median(gaps) < 0.15, gaps
    assert 0 <= got - frames[-1].t < 0.5
    # rendering runs outside the controller's lock: its 1 kHz clock kept going (a loaded
    # machine may drop some ticks, not the ~0.5 s of frames)
    span = frames[-1].t - frames[0].t
    assert ticks >= 0.5 * span * 1e3, (ticks, span)
    # the task's cube is where the pinhole model projects it: a saturated colour (drawn per
    # seed) at that pixel, where the table around it is grey
    cube = task.environment_state(virtual.arm.sim, state)[:3]
    u, v = FRONT.project(cube[None])[0]
    pixel = frames[-1].image[int(v), int(u)].astype(int)
    assert pixel.max() - pixel.min() > 40, pixel


def test_the_wrist_camera_and_refusals(controller):
    virtual, _, _ = controller
    with VirtualCamera(virtual.address, "wrist") as camera:
        assert camera.read().image.shape == (32, 32, 3)
    with pytest.raises(RobostackError, match=r"no camera 'overhead'; known: front, wrist"):
        VirtualCamera(virtual.address, "overhead").open()
    with pytest.raises(RobostackError, match="read before open"):
        VirtualCamera(virtual.address, "front").read()


def test_robostack_virtual_robot_serves_a_tasks_scene_cameras():
    address = loopback(72)
    command = ["--task", "push", "--seed", "1", "--cameras", "front", "--image-size", "40"]
    with (
        virtual_franka(address, extra=tuple(command)),
        VirtualCamera(address, "front") as camera,
    ):
        frame = camera.read()
    assert frame.image.shape == (40, 40, 3) and frame.image.std() > 5  # a scene, not a blank
    argv = ["virtual-robot", "--robot", "ur5e", "--task", "push", "--address", address]
    bad = subprocess.run(
        [sys.executable, "-m", "robostack.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "made for panda, not ur5e" in bad.stderr
