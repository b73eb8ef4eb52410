"""Simulated cameras: the pinhole model, and MuJoCo (EGL) and PyBullet (TinyRenderer) rendering
the same camera where the model says."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.core.errors import RobostackError
from robostack.sim import SIMULATORS, make_simulation
from robostack.sim.cameras import CAMERAS, Camera, camera_pose, cameras_named
from robostack.sim.scene import Cube
from robostack.sim.tasks import make_task

PIXEL_BOUND = 2.0  # px: where a simulator sees a cube's centre against the pinhole model
SIZE = (128, 96)  # width, height: not square, so a swapped axis shows
TEST_CAMERAS = tuple(c.resized(*SIZE) for c in CAMERAS.values())


def test_the_pinhole_model_puts_the_optical_axis_at_the_image_centre():
    camera = Camera("c", "world", position=(1.0, 0.0, 1.0), look_at=(0.0, 0.0, 0.0), width=64)
    assert camera.project(np.array([0.5, 0.0, 0.5]))[0] == pytest.approx([32.0, 48.0])
    f = camera.intrinsics()[1, 1]
    assert f == pytest.approx(48.0 / np.tan(np.radians(30.0)))
    # a point above the axis is higher in the image (smaller row); behind the camera: NaN
    assert camera.project(np.array([0.5, 0.0, 0.6]))[0, 1] < 48.0
    assert np.isnan(camera.project(np.array([2.0, 0.0, 2.0]))).all()


def test_a_wrist_camera_needs_the_tool_pose_and_bad_cameras_are_refused():
    with pytest.raises(RobostackError, match="tool pose"):
        CAMERAS["wrist"].world_from_camera()
    with pytest.raises(RobostackError, match="mount"):
        Camera("c", "ceiling", (0.0, 0.0, 1.0), (0.0, 0.0, 0.0))
    with pytest.raises(RobostackError, match="up is along"):
        Camera("c", "world", (0.0, 0.0, 1.0), (0.0, 0.0, 0.0), up=(0.0, 0.0, 1.0))
    with pytest.raises(RobostackError, match="unknown camera"):
        cameras_named("front,side")
    assert [c.name for c in cameras_named("wrist, front")] == ["wrist", "front"]


def _push_scene(simulator: str, seed: int):
    task = make_task("push")
    sim = make_simulation(
        simulator, robot="panda", objects=task.scene_objects(), cameras=TEST_CAMERAS
    )
    sim.connect()
    sim.reset(seed=seed)
    task.reset(sim, sim.rng)
    cubes = [o.name for o in task.scene_objects() if isinstance(o, Cube)]
    return sim, cubes


def _seen_centre(sim, camera: str, name: str) -> np.ndarray:
    """The centroid (u, v) of the pixels where ``camera`` sees object ``name``; the object
    must be seen whole (its mask clear of the border)."""
    mask = sim.object_mask(camera, name)
    rows, cols = np.nonzero(mask)
    assert rows.size >= 4, (camera, name, rows.size)
    height, width = mask.shape
    assert rows.min() > 0 and cols.min() > 0 and rows.max() < height - 1
    assert cols.max() < width - 1, (camera, name)
    return np.array([cols.mean() + 0.5, rows.mean() + 0.5])


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_each_camera_renders_rgb_frames_deterministically_per_seed(simulator):
    frames = []
    for seed in (4, 4, 5):
        sim, _ = _push_scene(simulator, seed)
        try:
            frames.append({c.name: sim.render(c.name) for c in TEST_CAMERAS})
        finally:
            sim.close()
    for name, image in frames[0].items():
        assert image.shape == (SIZE[1], SIZE[0], 3) and image.dtype == np.uint8, name
        assert image.std() > 10.0, name  # a scene, not a blank frame
        assert np.array_equal(image, frames[1][name]), name
    # another seed puts the cubes elsewhere: the fixed views change
    assert not np.array_equal(frames[0]["front"], frames[2]["front"])
    assert not np.array_equal(frames[0]["overhead"], frames[2]["overhead"])


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_the_fixed_cameras_see_each_cube_centre_where_the_pinhole_model_projects_it(simulator):
    sim, cubes = _push_scene(simulator, seed=2)
    try:
        for camera in TEST_CAMERAS:
            if camera.mount != "world":
                continue
            for cube in cubes:
                projected = camera.project(sim.position(cube))[0]
                seen = _seen_centre(sim, camera.name, cube)
                assert np.linalg.norm(seen - projected) < PIXEL_BOUND, (camera.name, cube)
    finally:
        sim.close()


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_the_wrist_camera_moves_with_the_tool_and_sees_a_cube_on_its_axis(simulator):
    sim, cubes = _push_scene(simulator, seed=0)
    wrist = next(c for c in TEST_CAMERAS if c.name == "wrist")
    try:
        pose = camera_pose(sim, wrist)
        origin, axis = pose[:3, 3], pose[:3, 2]
        half = 0.025
        on_axis = origin + (half - origin[2]) / axis[2] * axis  # where the axis meets z = half
        sim.place(cubes[0], on_axis)
        projected = wrist.project(sim.position(cubes[0]), sim.tool_pose())[0]
        assert projected == pytest.approx([SIZE[0] / 2, SIZE[1] / 2], abs=0.5)
        seen = _seen_centre(sim, "wrist", cubes[0])
        assert np.linalg.norm(seen - projected) < PIXEL_BOUND
        with pytest.raises(RobostackError, match="no camera 'side'"):
            sim.render("side")
    finally:
        sim.close()
