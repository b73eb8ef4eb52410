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
MOVE_BOUND = 0.75  # px: a moved view's shift against the model's (MuJoCo errs <= 0.3 px each)
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


def test_a_moved_camera_sees_each_cube_shifted_by_the_pixels_its_move_predicts():
    """Turned 2 degrees, a camera's view moves f tan(2 deg) px at the image centre (10 px at
    288 px high, fovy 60); shifted 2 cm, by what the pinhole model of the moved pose says. MuJoCo
    renders the moved camera where that model projects each cube: the seen shift is the
    predicted one within `MOVE_BOUND`."""
    import dataclasses

    from robostack.sim.cameras import CameraMove

    front = CAMERAS["front"].resized(384, 288)  # cubes big enough for sub-pixel centroids
    moves = {"turned": CameraMove(turn_deg=2.0, seed=5), "shifted": CameraMove(shift_m=0.02)}
    moved = {name: move.moved(front) for name, move in moves.items()}
    turned = moved["turned"]
    assert np.allclose(turned.position, front.position)
    axis = np.subtract(front.look_at, front.position)
    new_axis = np.subtract(turned.look_at, turned.position)
    cos = axis @ new_axis / np.linalg.norm(axis) / np.linalg.norm(new_axis)
    assert np.degrees(np.arccos(cos)) == pytest.approx(2.0)
    # the old optical axis's point lands f tan(2 deg) from the centre
    centre = np.array([front.width / 2, front.height / 2])
    f = front.intrinsics()[1, 1]
    seen_at = turned.project(np.asarray(front.look_at))[0]
    assert np.linalg.norm(seen_at - centre) == pytest.approx(f * np.tan(np.radians(2.0)))
    shift = np.subtract(moved["shifted"].position, front.position)
    assert np.linalg.norm(shift) == pytest.approx(0.02)
    assert np.allclose(np.subtract(moved["shifted"].look_at, front.look_at), shift)
    assert moves["turned"].moved(front) == turned  # seeded
    task = make_task("push")
    for name, camera in moved.items():
        cameras = (front, dataclasses.replace(camera, name="moved"))
        with make_simulation(
            "mujoco", robot="panda", objects=task.scene_objects(), cameras=cameras
        ) as sim:
            sim.reset(seed=2)
            task.reset(sim, sim.rng)
            for cube in (o.name for o in task.scene_objects() if isinstance(o, Cube)):
                before = _seen_centre(sim, "front", cube)
                after = _seen_centre(sim, "moved", cube)
                at = sim.position(cube)
                predicted = camera.project(at)[0] - front.project(at)[0]
                assert np.linalg.norm(predicted) > 0.5, (name, cube)  # the view did move
                assert np.linalg.norm((after - before) - predicted) < MOVE_BOUND, (name, cube)


def test_a_render_process_draws_a_snapshot_as_the_simulation_renders_it_then_ends(monkeypatch):
    """`RenderWorker`: the frames of a snapshot taken after the task placed and coloured its
    cubes and the arm moved are the simulation's own frames, pixel for pixel; the scene's
    later motion does not reach a snapshot taken before; close ends the process."""
    import mujoco

    from robostack.core.types import CommandMode, JointCommand
    from robostack.sim.frames import RenderWorker

    # the process ends by itself when asked: given the time a loaded machine may take to tear
    # it down, rather than killed after the product's few seconds
    monkeypatch.setattr("robostack.sim.frames.CLOSE_TIMEOUT_S", 120.0)

    sim, _ = _push_scene("mujoco", seed=4)
    try:
        with RenderWorker(sim) as worker:
            for _ in range(200):  # the arm sags a little under a small torque
                sim.write(JointCommand(mode=CommandMode.TORQUE, values=np.full(7, 2.0)))
            snapshot = sim.snapshot()
            # a step leaves the body poses at its start: bring them to the stepped positions
            mujoco.mj_forward(sim.model, sim.data)
            direct = {c.name: sim.render(c.name) for c in TEST_CAMERAS}
            for _ in range(200):
                sim.write(JointCommand(mode=CommandMode.TORQUE, values=np.full(7, 2.0)))
            frames = worker.submit(snapshot).result(timeout=60)
            assert set(frames) == set(direct)
            for name, image in direct.items():
                assert np.array_equal(frames[name], image), name
            later = worker.submit(sim.snapshot()).result(timeout=60)
            assert not np.array_equal(later["wrist"], direct["wrist"])  # the hand moved on
            process = worker._process
        assert process.poll() == 0
    finally:
        sim.close()
