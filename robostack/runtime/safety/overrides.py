"""`SafetyOverrides`: a session's changes to a robot's default `SafetyConfig`, checked when made."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from robostack.core.errors import RobostackError
from robostack.core.types import RobotSpec
from robostack.runtime.safety.config import SafetyConfig


@dataclass(frozen=True, kw_only=True)
class SafetyOverrides:
    """The `SafetyConfig` fields a session sets; the others keep `SafetyConfig.for_robot`'s
    defaults. Each value is checked on construction (`RobostackError` naming the field).

    Attributes:
        velocity_fraction: STOP beyond this share of each joint's velocity limit, in (0, 1].
        tracking_error_max: STOP when |q_ref - q| exceeds this on any joint, rad, > 0.
        collision_torque: (dof,) STOP when |tau_ext| exceeds this, Nm, each > 0.
        stale_reference_s: HOLD when no chunk arrived for this long, s, > 0.
        read_timeout_s: STOP when a state read takes longer, s, > 0; None: the default.
    """

    velocity_fraction: float
    tracking_error_max: float
    collision_torque: tuple[float, ...]
    stale_reference_s: float
    read_timeout_s: float | None = None

    def __post_init__(self) -> None:
        torques = self.collision_torque
        if isinstance(torques, str) or not hasattr(torques, "__iter__") or not len(torques):
            raise RobostackError(f"safety collision_torque must be a list of Nm, got {torques!r}")
        object.__setattr__(
            self, "collision_torque", tuple(_positive("collision_torque", t) for t in torques)
        )
        if not _positive("velocity_fraction", self.velocity_fraction) <= 1:
            raise RobostackError(
                f"safety velocity_fraction must be in (0, 1], got {self.velocity_fraction}"
            )
        for name in ("tracking_error_max", "stale_reference_s"):
            _positive(name, getattr(self, name))
        if self.read_timeout_s is not None:
            _positive("read_timeout_s", self.read_timeout_s)

    def config(self, spec: RobotSpec) -> SafetyConfig:
        """``spec``'s default `SafetyConfig` with these fields set."""
        if len(self.collision_torque) != spec.dof:
            raise RobostackError(
                f"safety collision_torque has {len(self.collision_torque)} values, "
                f"the robot {spec.dof} joints"
            )
        overrides = {k: v for k, v in self.to_dict().items() if v is not None}
        return SafetyConfig.for_robot(spec, **overrides)

    def to_dict(self) -> dict:
        """Plain JSON values (the torques a list)."""
        return {**asdict(self), "collision_torque": list(self.collision_torque)}


def _positive(name: str, value: object) -> float:
    """``value`` as a finite number > 0, else `RobostackError` naming ``name``."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and 0 < value < math.inf):
        raise RobostackError(f"safety {name} must be a finite number > 0, got {value!r}")
    return float(value)
