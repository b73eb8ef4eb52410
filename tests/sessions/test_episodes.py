"""Expert episodes sampled as dataset frames
(`robostack.sessions.episodes.run_episode(..., frames=True)`), from starts spread around home,
and episodes on a robot the stack does not simulate, judged by its twin (`run_robot_episode`)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from robostack.core.errors import RobostackError
from robostack.core.robots import get_robot
from robostack.runtime.loop import ControlLoop
from robostack.runtime.recording.recorder import SessionRecorder
from robostack.sessions.collect import collect
from robostack.sessions.episodes import EpisodeSpec, run_episode, run_robot_episode
from robostack.sim import make_simulation


def test_a_held_gripper_is_recorded_as_a_valid_command_even_when_it_measures_past_open():
    # reach seed 1058: the open Hand measures a few nm wider than fully open at some frames
    frames = run_episode(EpisodeSpec(task="reach", seed=1058), frames=True).frames
    widest = get_robot("panda").spec.gripper_width_max
    assert frames["observation.state"][:, 14].max() > widest
    assert frames["action"][:, 7].max() <= widest
    assert frames["action"][:, 7].min() > widest - 1e-6


def test_a_spread_start_is_drawn_from_the_seed_and_leaves_the_scene_as_it_was():
    home = get_robot("panda").q_home
    spread = [
        run_episode(EpisodeSpec(task="reach", seed=seed, start_spread=0.3), frames=True)
        for seed in (5, 5, 6)
    ]
    at_home = run_episode(EpisodeSpec(task="reach", seed=5), frames=True)
    starts = [e.frames["observation.state"][0, :7] for e in (*spread, at_home)]
    assert np.allclose(starts[3], home, atol=1e-3)
    assert np.abs(starts[0] - home).max() <= 0.3 + 1e-3 and np.abs(starts[0] - home).max() > 0.05
    assert np.allclose(starts[0], starts[1]) and not np.allclose(starts[0], starts[2])
    assert all(e.success for e in (*spread, at_home))  # the expert goes from where it starts
    assert spread[0].description == at_home.description
    goals = [e.frames["observation.environment_state"][0] for e in (spread[0], at_home)]
    assert np.array_equal(*goals)


def test_a_start_spread_past_half_a_radian_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(RobostackError, match=r"start spread must be in \[0, 0.5\] rad"):
        collect("reach", episodes=1, out=tmp_path / "ds", start_spread=0.6)
    assert not (tmp_path / "ds").exists()


def test_a_robot_episode_runs_the_robot_and_its_twin_judges_the_task():
    """A MuJoCo arm without the task's scene stands in for a robot the stack does not simulate:
    the twin draws the same scene as a simulated episode of the seed, and judges it."""
    spec = EpisodeSpec(task="reach", seed=3, until_success=True)
    with make_simulation("mujoco", robot="panda") as robot:
        on_robot = run_robot_episode(spec, robot)
    simulated = run_episode(spec)
    assert on_robot.success and simulated.success
    assert on_robot.description == simulated.description and on_robot.choices == simulated.choices
    assert on_robot.tool_path.shape[0] > 10


def test_a_robot_episode_refuses_a_task_that_moves_objects():
    robot = make_simulation("mujoco", robot="panda")  # refused before it is even connected
    with pytest.raises(RobostackError, match=r"push moves objects: .*through cameras"):
        run_robot_episode(EpisodeSpec(task="push"), robot)


def test_a_recorded_episode_is_freed_when_it_ends_without_a_garbage_collection(tmp_path):
    # A reference cycle through the loop keeps its simulator and recorder (tens of MB) alive
    # until Python's rare full collection: a long session's memory would grow episode by episode.
    spec = EpisodeSpec(task="reach", seed=0, record=True, runs_dir=tmp_path, until_success=True)
    gc.collect()
    gc.disable()
    try:
        run_episode(spec)
        alive = [o for o in gc.get_objects() if isinstance(o, (ControlLoop, SessionRecorder))]
    finally:
        gc.enable()
    assert alive == []
