"""What a chunk source may know of its episode when it is built (`EpisodeContext`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from robostack.core.types import JointState, RobotSpec

if TYPE_CHECKING:
    from robostack.sim.frames import FrameSource


@dataclass(frozen=True)
class EpisodeContext:
    """What a chunk source may know of its episode when it is built.

    Attributes:
        q_start: (dof,) joint positions at the start, rad.  t0: robot time at the start, s.
        description: the task sentence.
        robot_state: maps the tick's `JointState` to the robot observation
            (`robostack.core.observations.robot_observation`, (2 dof + 4,)).
        environment_state: returns the task's object state now, (n,) m.
        spec: the robot's `RobotSpec` (limits).
        images: the scene's cameras (`robostack.sim.frames.FrameSource`: rendered now, or from
            a snapshot by a render process), {name: (H, W, 3) uint8}; None without cameras.
        cameras: {name: (height, width)} of the scene's cameras.
    """

    q_start: np.ndarray
    t0: float
    description: str
    robot_state: Callable[[JointState], np.ndarray]
    environment_state: Callable[[], np.ndarray]
    spec: RobotSpec
    images: FrameSource | None = None
    cameras: dict[str, tuple[int, int]] = field(default_factory=dict)
