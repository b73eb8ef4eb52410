"""Safety limits for one robot: the `RobotSpec` limits with margins, plus session bounds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robostack.core.types import RobotSpec


@dataclass(frozen=True, kw_only=True)
class SafetyConfig:
    """Thresholds of every check; `for_robot` derives them from a `RobotSpec`.

    Attributes:
        position_soft_margin: HOLD when a joint comes this close to a limit, rad.
        position_hard_margin: STOP when a joint comes this close to a limit, rad.
        velocity_fraction: STOP when |dq| exceeds this fraction of dq_max.
        reference_tolerance: factor on dq_max, ddq_max and dddq_max a reference may reach
            before it counts as a jump (HOLD).
        tracking_error_max: STOP when |q_ref - q| exceeds this on any joint, rad.
        chunk_jump_max: HOLD when a new chunk starts this far from the current reference on
            any joint, rad (a policy's chunk starts where the arm is; a far one is a fault).
        collision_torque: (dof,) STOP when |tau_ext| exceeds this, Nm (default: 20% of
            tau_max).
        workspace_min, workspace_max: (3,) box for the tool position in the base frame, m;
            HOLD outside it.
        workspace_every: ticks between workspace checks (it needs forward kinematics).
        stale_reference_s: HOLD when no chunk arrived for this long, s.
        read_timeout_s: STOP when a state read takes longer than this, s. Also the longest
            gap of robot time between ticks (lost packets) that widens the per-tick reference
            bounds: a reference may move as far as the limits allow over the time elapsed.
        stop_damping: (dof,) damping of the STOP reaction, Nm s/rad (default: 0.5 s x
            tau_max, stable at 1 kHz with the arms' reflected inertia).
        stop_speed: STOP halts once every |dq| is below this, rad/s ...
        stop_timeout_s: ... or after this long, s.
        hold_settle_speed: HOLD has settled once every |dq| is below this, rad/s ...
        hold_settle_s: ... for this long, s.
    """

    spec: RobotSpec
    position_soft_margin: float = 0.1
    position_hard_margin: float = 0.02
    velocity_fraction: float = 1.0
    reference_tolerance: float = 1.1
    tracking_error_max: float = 0.1
    chunk_jump_max: float = 0.2
    collision_torque: np.ndarray | None = None
    workspace_min: np.ndarray = field(default_factory=lambda: np.array([-1.0, -1.0, 0.01]))
    workspace_max: np.ndarray = field(default_factory=lambda: np.array([1.2, 1.0, 1.4]))
    workspace_every: int = 10
    stale_reference_s: float = 1.0
    read_timeout_s: float = 0.005
    stop_damping: np.ndarray | None = None
    stop_speed: float = 0.02
    stop_timeout_s: float = 1.0
    hold_settle_speed: float = 0.01
    hold_settle_s: float = 0.5

    def __post_init__(self) -> None:
        n = self.spec.dof
        defaults = {
            "collision_torque": 0.2 * self.spec.tau_max,
            "stop_damping": 0.5 * self.spec.tau_max,
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            value = default if value is None else np.broadcast_to(np.asarray(value, float), (n,))
            object.__setattr__(self, name, np.array(value, dtype=float))
        for name in ("workspace_min", "workspace_max"):
            value = np.asarray(getattr(self, name), dtype=float)
            if value.shape != (3,):
                raise ValueError(f"{name} must be (x, y, z) in m, got shape {value.shape}")
        if not 0 <= self.position_hard_margin < self.position_soft_margin:
            raise ValueError("need 0 <= position_hard_margin < position_soft_margin")

    @classmethod
    def for_robot(cls, spec: RobotSpec, **overrides) -> SafetyConfig:
        """Defaults for ``spec``, with any field overridden by keyword.

        The read timeout is at least two control periods (a 125 Hz CB3 read blocks 8 ms)."""
        if "read_timeout_s" not in overrides:
            overrides["read_timeout_s"] = max(cls.read_timeout_s, 2 * spec.dt)
        return cls(spec=spec, **overrides)
