"""What a policy sees and produces, as arrays: the feature layout shared by every policy.

Observation batches are dicts of float tensors (B = batch, To = observation horizon):

- ``state``: (B, To, 2 dof + 4): q rad, dq rad/s, gripper width m, tool position m,
  oldest step first (`robostack.core.observations`);
- ``environment_state``: (B, To, E): the task's object state, m, zero-padded to E (tasks
  differ in how many numbers they give; a multi-task policy pads them all to the widest);
- ``environment_mask``: (B, E): 1 where ``environment_state`` holds a real number, 0 for padding;
- ``language``: (B, L): the task sentence's embedding (`robostack.policies.language`);
- ``images.<camera>`` (one per camera): (B, To, 3, H, W) float in [0, 1], RGB.

A policy from cameras may take no object state at all (E = 0): it then has neither
``environment_state`` nor ``environment_mask``, and sees the scene only through its cameras.

Actions are chunks (B, Tp, dof + 1): absolute joint targets rad at the policy rate, the first
one frame after the last observation, plus the gripper width target m.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import ClassVar

from robostack.core.errors import RobostackError

OBSERVATION_KEYS = ("state", "environment_state", "environment_mask", "language")
MAX_PARAMETERS = 1 << 28  # 1 GiB of float32 weights: far above any policy here (about 2 M)


def check_ranges(config: object, ranges: dict[str, tuple[float, float]]) -> None:
    """Raise ValueError for the first field of ``config`` outside its ``(low, high)`` in
    ``ranges``, or of the wrong type (an int field given a float, a bool, a string, NaN):
    what a hand-edited config.json is checked against before any tensor is built."""
    for name, (low, high) in ranges.items():
        value = getattr(config, name)
        integer = isinstance(low, int) and isinstance(high, int)
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            kind = "an integer" if integer else "a number"
            raise ValueError(f"{name} must be {kind} in [{low}, {high}], got {value!r}")


def check_parameter_budget(what: str, parameters: float) -> None:
    """Raise ValueError if a network of about ``parameters`` weights exceeds `MAX_PARAMETERS`."""
    if not parameters <= MAX_PARAMETERS:
        raise ValueError(
            f"{what} would have about {parameters:.3g} parameters, at most {MAX_PARAMETERS:.3g} "
            f"allowed ({math.ceil(parameters * 4 / 2**30)} GiB of weights)"
        )


IMAGE_PREFIX = "images."  # an observation's camera key; datasets: "observation.images.<camera>"


class CameraMismatchError(RobostackError):
    """A policy's cameras and those a dataset or scene provides differ (missing, or another
    resolution)."""


def image_key(camera: str) -> str:
    """The observation key of ``camera``'s frames."""
    return IMAGE_PREFIX + camera


@dataclass(frozen=True)
class PolicyFeatures:
    """Sizes and timing of a policy's inputs and outputs.

    Attributes:
        state_dim: 2 dof + 4.  environment_dim: E, padded width of the task state (0: the
            policy sees no object state, only proprioception, language and any cameras).
        action_dim: dof + 1.  language_dim: L, the sentence embedding's width.
        obs_horizon: To, observation steps the policy sees (oldest first).
        horizon: Tp, waypoints per predicted chunk.  executed: Ta, waypoints executed before
            the next chunk is predicted (receding horizon).
        fps: the policy rate, Hz (waypoint spacing 1 / fps s).
        cameras: ((name, height, width), ...) the cameras the policy sees, in token order.
    """

    state_dim: int
    environment_dim: int
    action_dim: int
    language_dim: int = 384
    obs_horizon: int = 2
    horizon: int = 16
    executed: int = 8
    fps: int = 10
    cameras: tuple[tuple[str, int, int], ...] = ()

    RANGES: ClassVar[dict[str, tuple[float, float]]] = {
        "state_dim": (1, 1024),
        "environment_dim": (0, 1024),  # 0: no object state (proprioception + language)
        "action_dim": (1, 256),
        "language_dim": (1, 4096),
        "obs_horizon": (1, 64),
        "horizon": (2, 1024),
        "fps": (1, 1000),
    }

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        cameras = tuple((str(n), int(h), int(w)) for n, h, w in self.cameras)  # JSON gives lists
        object.__setattr__(self, "cameras", cameras)
        if any(h < 8 or w < 8 for _, h, w in cameras) or len({c[0] for c in cameras}) < len(
            cameras
        ):
            raise ValueError(f"cameras need distinct names and at least 8 x 8 pixels: {cameras}")
        if not 1 <= self.executed <= self.horizon:
            raise ValueError(
                f"executed must be in [1, horizon={self.horizon}], got {self.executed}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    def observation_keys(self) -> tuple[str, ...]:
        """The keys of an observation batch: state and language, the object state and its mask
        where E > 0, one image key per camera."""
        keys = [k for k in OBSERVATION_KEYS if self.environment_dim or "environment" not in k]
        return (*keys, *(image_key(name) for name, _, _ in self.cameras))

    def check_cameras(self, provided: dict[str, tuple[int, int]], *, where: str) -> None:
        """`check_cameras` of this policy's cameras."""
        check_cameras(self.cameras, provided, where=where)


def check_cameras(
    cameras: tuple[tuple[str, int, int], ...], provided: dict[str, tuple[int, int]], *, where: str
) -> None:
    """Raise `CameraMismatchError` unless ``provided`` ({name: (height, width)}, what ``where``
    offers) has every one of ``cameras`` ((name, height, width), ...) at its resolution."""
    for name, height, width in cameras:
        if name not in provided:
            offered = ", ".join(sorted(provided)) or "none"
            raise CameraMismatchError(
                f"the policy sees camera {name!r}, which {where} lacks (it has: {offered})"
            )
        if tuple(provided[name]) != (height, width):
            h, w = provided[name]
            raise CameraMismatchError(
                f"camera {name!r} is {h}x{w} in {where}, the policy was trained on "
                f"{height}x{width} (height x width)"
            )
