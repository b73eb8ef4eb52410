"""What a policy sees and produces, as arrays: the feature layout shared by every policy.

Observation batches are dicts of float tensors (B = batch, To = observation horizon):

- ``state``: (B, To, 2 dof + 4): q rad, dq rad/s, gripper width m, tool position m,
  oldest step first (`robostack.core.observations`);
- ``environment_state``: (B, To, E): the task's object state, m, zero-padded to E (tasks
  differ in how many numbers they give; a multi-task policy pads them all to the widest);
- ``environment_mask``: (B, E): 1 where ``environment_state`` holds a real number, 0 for padding;
- ``language``: (B, L): the task sentence's embedding (`robostack.policies.language`);
- ``image`` (only with an image encoder): (B, To, 3, H, W) in [0, 1].

Actions are chunks (B, Tp, dof + 1): absolute joint targets rad at the policy rate, the first
one frame after the last observation, plus the gripper width target m.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

OBSERVATION_KEYS = ("state", "environment_state", "environment_mask", "language")


@dataclass(frozen=True)
class PolicyFeatures:
    """Sizes and timing of a policy's inputs and outputs.

    Attributes:
        state_dim: 2 dof + 4.  environment_dim: E, padded width of the task state (0: the
            policy sees no object state, only proprioception and language).
        action_dim: dof + 1.  language_dim: L, the sentence embedding's width.
        obs_horizon: To, observation steps the policy sees (oldest first).
        horizon: Tp, waypoints per predicted chunk.  executed: Ta, waypoints executed before
            the next chunk is predicted (receding horizon).
        fps: the policy rate, Hz (waypoint spacing 1 / fps s).
        image_size: camera image side in pixels, or 0 without cameras.
    """

    state_dim: int
    environment_dim: int
    action_dim: int
    language_dim: int = 384
    obs_horizon: int = 2
    horizon: int = 16
    executed: int = 8
    fps: int = 10
    image_size: int = 0

    def __post_init__(self) -> None:
        for name in ("state_dim", "action_dim", "language_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.environment_dim < 0:
            raise ValueError(f"environment_dim must be >= 0, got {self.environment_dim}")
        if self.obs_horizon < 1 or self.horizon < 2:
            raise ValueError(f"need obs_horizon >= 1 and horizon >= 2, got {self}")
        if not 1 <= self.executed <= self.horizon:
            raise ValueError(
                f"executed must be in [1, horizon={self.horizon}], got {self.executed}"
            )

    def to_dict(self) -> dict:
        return asdict(self)
