"""The robot part of a policy's observation, defined once for datasets, environments and
policies: q rad, dq rad/s, gripper width m, tool position m (base frame), (2 dof + 4,)."""

from __future__ import annotations

import numpy as np

from robostack.core.types import JointState


def robot_observation(state: JointState, tool_position: np.ndarray) -> np.ndarray:
    """(2 dof + 4,) float32: q, dq, gripper width (0 without a gripper), tool xyz."""
    width = state.gripper_width or 0.0
    return np.concatenate([state.q, state.dq, [width], tool_position]).astype(np.float32)


def robot_observation_names(joints: list[str]) -> list[str]:
    """Names of `robot_observation`'s entries, for dataset metadata."""
    return (
        [f"{j}.pos" for j in joints]
        + [f"{j}.vel" for j in joints]
        + ["gripper.width", "tool.x", "tool.y", "tool.z"]
    )
