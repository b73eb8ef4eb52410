"""The real-robot backends against their stand-ins in real time: tick timing and reactions.

Each case connects a backend (`robostack.hardware.franka`, `robostack.hardware.ur`) to its stand-in,
whose virtual controller releases one state per control period in wall time, runs a move through the
loop paced by the robot, and reports the tick period (median, p99, jitter as ratios to the nominal
period), late ticks and lost packets; the Franka in torque control and in joint velocity control
(its velocity motion generator). Then it injects a stop (a Franka reflex, a UR protective
stop) and reports the control periods from the stop to the safety monitor's STOP event (0:
the first read after the stop raised it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from robostack.controllers.references import Dwell, ReferenceChunker, WaypointReference
from robostack.core.model import RigidBodyModel
from robostack.core.robot import Robot
from robostack.core.robots import get_robot
from robostack.runtime.assembly import make_loop
from robostack.runtime.backends import make_robot
from robostack.runtime.loop import LoopResult
from robostack.runtime.safety import SafetyConfig

# (name, backend, robot, backend options, the stop injected)
CASES = (
    ("franka", "franka_fci", "panda", {}, "reflex"),
    ("franka velocity", "franka_fci", "panda", {"command_mode": "velocity"}, "reflex"),
    ("ur5e servoj", "ur_rtde", "ur5e", {"command_mode": "servoj"}, "protective_stop"),
    ("ur5e torque", "ur_rtde", "ur5e", {"command_mode": "torque"}, "protective_stop"),
    ("ur5 speedj", "ur_rtde", "ur5", {"command_mode": "speedj"}, "protective_stop"),
)
STOP_CHECKS = {"reflex": "franka_reflex", "protective_stop": "protective_stop"}


def run_session(
    robot: Robot,
    *,
    seconds: float,
    offset: float = 0.0,
    controller: str = "impedance",
    read_timeout_s: float | None = None,
) -> LoopResult:
    """On a connected ``robot``: hold where it stands (``offset`` 0) or move every joint by
    ``offset`` rad and back, through the loop, for ``seconds`` s. ``read_timeout_s``: the
    safety monitor's bound on a state read (default: the robot's, `SafetyConfig.for_robot`)."""
    state, spec = robot.read(), robot.spec
    if offset:
        waypoints = np.stack([state.q, state.q + offset, state.q])
        reference = WaypointReference(
            "move", waypoints, dq_max=spec.dq_max, ddq_max=spec.ddq_max, speed=0.3
        )
    else:
        reference = Dwell("hold", state.q, seconds)
    loop = make_loop(
        robot=robot,
        model=RigidBodyModel(get_robot(spec.name)),
        source=ReferenceChunker(reference, t_offset=state.t),
        controller=controller,
        realtime=True,
        safety_config=SafetyConfig.for_robot(
            spec, **({} if read_timeout_s is None else {"read_timeout_s": read_timeout_s})
        ),
    )
    return loop.run(ticks=round(seconds * spec.control_rate_hz))


@dataclass(frozen=True)
class HardwareBench:
    """One case: timing of the move (ms and ratios to the period) and the stop's reaction."""

    name: str
    rate_hz: float
    timing: dict
    median_ratio: float
    p99_ratio: float
    stop: str
    check: str | None
    reaction_ticks: int | None

    @property
    def reaction_ms(self) -> float | None:
        return None if self.reaction_ticks is None else self.reaction_ticks * 1e3 / self.rate_hz


def bench_case(name: str, *, seconds: float = 3.0, virtual: bool = False) -> HardwareBench:
    """Run the case ``name`` of `CASES` (module doc) against the stand-in, or with ``virtual``
    through the vendor's own client against a virtual controller in its own process (the
    Franka without libfranka's real-time kernel check: this kernel has none)."""
    _, backend, robot_name, options, stop = next(c for c in CASES if c[0] == name)
    if virtual and backend == "franka_fci":
        options = {**options, "realtime": "ignore"}
    with _robot_side(backend, robot_name, virtual) as (address, client, inject):
        robot = make_robot(
            backend, get_robot(robot_name), address=address, client=client, **options
        )
        with robot:
            dt = robot.spec.dt
            moved = run_session(robot, seconds=seconds, offset=0.1)
            robot.end_motion()
            stop_at = inject(stop, 0.5)
            stopped = run_session(robot, seconds=1.0)
    timing = moved.timing(dt)
    event = next((e for e in stopped.events if e.check == STOP_CHECKS[stop]), None)
    # the event carries the last state read before the stop; the read after it raised
    reaction = None if event is None else round((event.t + dt - stop_at) / dt)
    return HardwareBench(
        name=name,
        rate_hz=1 / dt,
        timing=timing,
        median_ratio=timing["period_ms"]["median"] / (dt * 1e3),
        p99_ratio=timing["period_ms"]["p99"] / (dt * 1e3),
        stop=stop,
        check=None if event is None else event.check,
        reaction_ticks=reaction,
    )


@contextmanager
def _robot_side(backend: str, robot: str, virtual: bool) -> Iterator[tuple]:
    """(address, client, inject(fault, delay_s) -> controller time it is due at, s)."""
    if virtual:
        from robostack.hardware.rehearsal.virtual.process import inject, virtual_controller

        address = "127.0.0.31"
        with virtual_controller("franka" if robot == "panda" else robot, address):
            yield address, None, lambda fault, delay: inject(address, fault, delay=delay)
        return
    from robostack.hardware.rehearsal.standins import rehearsal

    address = "10.0.0.1"
    with rehearsal(backend, robot, address, realtime=True) as (client, arm):

        def inject_now(fault: str, delay: float) -> float:
            arm.inject(fault, at=arm.t + delay)
            return arm.t + delay

        yield address, client, inject_now
