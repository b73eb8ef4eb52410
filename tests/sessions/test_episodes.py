"""Expert episodes sampled as dataset frames
(`robostack.sessions.episodes.run_episode(..., frames=True)`)."""

from __future__ import annotations

from robostack.core.robots import get_robot
from robostack.sessions.episodes import EpisodeSpec, run_episode


def test_a_held_gripper_is_recorded_as_a_valid_command_even_when_it_measures_past_open():
    # reach seed 1058: the open Hand measures a few nm wider than fully open at some frames
    frames = run_episode(EpisodeSpec(task="reach", seed=1058), frames=True).frames
    widest = get_robot("panda").spec.gripper_width_max
    assert frames["observation.state"][:, 14].max() > widest
    assert frames["action"][:, 7].max() <= widest
    assert frames["action"][:, 7].min() > widest - 1e-6
