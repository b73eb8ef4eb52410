"""Preflight: what a real robot must show before anything moves, each check with its reason.

Checks: the robot is reachable; its mode is ready and no error or stop is active; the client
library and the controller's software go together; every joint is inside its limits with
`JOINT_MARGIN` to spare; the distance to the start configuration (and how long the start move
will take); the payload set on the robot is the one the launch file expects; each camera
delivers frames at its rate (within `RATE_MARGIN`) and resolution (`check_cameras`). Nothing here
commands the robot.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from robostack.core.errors import RobostackError, RobotConnectionError
from robostack.core.robot import Robot
from robostack.runtime.cameras import CameraConfig, RealCameras
from robostack.runtime.start_move import START_MOVE_SPEED, JerkLimitedMove

JOINT_MARGIN = 0.05  # rad from each joint limit
PAYLOAD_TOLERANCE = 0.1  # kg
RATE_MARGIN = 0.2  # a camera's measured frame rate within this share of its fps
CAMERA_WINDOW_S = 1.0  # frames counted over this long


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class PreflightReport:
    """The checks and the robot's status as read (empty when unreachable)."""

    robot: str
    backend: str
    address: str
    checks: list[Check] = field(default_factory=list)
    status: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "robot": self.robot,
            "backend": self.backend,
            "address": self.address,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "status": self.status,
        }


def check_robot(
    robot: Robot, *, backend: str, address: str, q_start: np.ndarray, payload_kg: float
) -> PreflightReport:
    """Run the checks on a connected real ``robot`` (one with ``status()``)."""
    spec = robot.spec
    report = PreflightReport(robot=spec.name, backend=backend, address=address)
    report.checks.append(Check("reachable", True, f"connected to {address}"))
    status = robot.status()
    report.status = status
    report.checks.append(
        Check(
            "mode",
            bool(status["ready"]),
            f"{status['robot_mode']}; errors: "
            f"{status.get('current_errors', status.get('safety_status', 'none'))}",
        )
    )
    report.checks.append(Check("versions", True, f"{status['client']}; {status['firmware']}"))
    q = np.asarray(status["q"], dtype=float)
    low, high = q - spec.q_min, spec.q_max - q
    slack = np.minimum(low, high)
    worst = int(np.argmin(slack))
    report.checks.append(
        Check(
            "joint limits",
            bool(slack.min() >= JOINT_MARGIN),
            f"closest: {spec.joint_names[worst]} {slack[worst]:.3f} rad from its limit "
            f"(margin {JOINT_MARGIN} rad)",
        )
    )
    try:
        move = JerkLimitedMove(q, q_start, spec, speed=START_MOVE_SPEED)
        report.checks.append(
            Check(
                "start configuration",
                True,
                f"{np.abs(q - q_start).max():.3f} rad away (largest joint); the start move "
                f"takes {move.duration:.1f} s at {START_MOVE_SPEED:.0%} of the limits",
            )
        )
    except RobostackError as error:
        report.checks.append(Check("start configuration", False, str(error)))
    payload = float(status["payload_kg"])
    report.checks.append(
        Check(
            "payload",
            abs(payload - payload_kg) <= PAYLOAD_TOLERANCE,
            f"set on the robot: {payload:.2f} kg; the launch file expects {payload_kg:.2f} kg",
        )
    )
    return report


def preflight(
    robot: Robot, *, backend: str, address: str, q_start: np.ndarray, payload_kg: float
) -> PreflightReport:
    """Connect ``robot`` and run the checks; an unreachable robot is a failed report."""
    try:
        robot.connect()
    except RobotConnectionError as error:
        report = PreflightReport(robot=robot.spec.name, backend=backend, address=address)
        report.checks.append(Check("reachable", False, str(error)))
        return report
    return check_robot(
        robot, backend=backend, address=address, q_start=q_start, payload_kg=payload_kg
    )


def check_cameras(cameras: RealCameras, *, window_s: float = CAMERA_WINDOW_S) -> list[Check]:
    """One check per open camera of ``cameras``: over the last ``window_s`` s (waited for
    here) it delivered frames at its fps within `RATE_MARGIN`, at its resolution, the newest
    no older than its bound."""
    time.sleep(window_s)
    now, checks = time.monotonic(), []
    for name, reader in cameras.readers.items():
        config = cameras.configs[name]
        times = reader.capture_times()
        times = times[times >= now - window_s]
        frame = reader.newest()
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else 0.0
        size = frame.size if frame is not None else (0, 0)
        age = now - frame.t if frame is not None else math.inf
        problems = []
        if abs(rate - config.fps) > RATE_MARGIN * config.fps:
            problems.append(f"{rate:.1f} frames/s, expected {config.fps:g} +- {RATE_MARGIN:.0%}")
        if size != config.size:
            problems.append(f"{size[0]}x{size[1]} pixels, expected {config.height}x{config.width}")
        if age > config.max_age:
            problems.append(f"the newest frame is {age * 1e3:.0f} ms old")
        if reader.error is not None:
            problems.append(f"failed: {reader.error}")
        detail = "; ".join(problems) or (
            f"{rate:.1f} frames/s (expected {config.fps:g}), {size[0]}x{size[1]} pixels"
        )
        checks.append(Check(f"camera {name}", not problems, f"{reader.name}: {detail}"))
    return checks


def preflight_cameras(configs: dict[str, CameraConfig], *, address: str = "") -> list[Check]:
    """Open the cameras of ``configs`` (``address``: the robot's, as for `RealCameras`),
    `check_cameras` them, close them; a camera that does not open is a failed check."""
    try:
        with RealCameras(configs, address=address) as cameras:
            return check_cameras(cameras)
    except RobostackError as error:
        return [Check("cameras", False, str(error))]
