"""The control loop: read -> reference -> controller -> write, once per tick.

The same loop code runs under two clocks (DESIGN.md):

- `LockstepClock`: as fast as possible; the robot's own time (simulation) advances one
  period per `write`. Deterministic: the chunk source is called synchronously every
  ``chunk_period_ticks`` ticks.
- `WallClock`: paced at the control rate by the wall clock (simulation in real time). Real
  robots pace the loop themselves inside `Robot.read`, and use `LockstepClock`'s no-op wait.

Per tick the loop records the compute time (read to write), the tick period (start to start),
the physics time reported by simulated backends, and the tracking error; a tick whose compute
ends after its deadline is an overrun.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from controllers.base import Controller
from controllers.interpolation import ChunkInterpolator
from robostack.robot import Robot
from robostack.types import JointCommand, JointState, TrajectoryChunk


class ChunkSource(Protocol):
    """Anything that produces trajectory chunks from the latest state (a policy, a reference)."""

    def next_chunk(self, state: JointState) -> TrajectoryChunk | None:
        """A new chunk, or None to keep the current one (None forever means: done)."""
        ...


class LockstepClock:
    """No pacing: the next tick starts as soon as the last one is done."""

    realtime = False

    def start(self) -> None:
        pass

    def wait_next(self) -> int:
        """Return the lateness of the tick start, ns (always 0)."""
        return 0


class WallClock:
    """Pace ticks at ``period`` s of wall time: sleep coarsely, then spin the last stretch."""

    realtime = True
    SPIN_NS = 200_000  # time.sleep overshoots by ~50-100 us; spin the last 200 us

    def __init__(self, period: float):
        self.period_ns = round(period * 1e9)
        self._deadline = 0

    def start(self) -> None:
        self._deadline = time.perf_counter_ns() + self.period_ns

    def wait_next(self) -> int:
        """Sleep until the next deadline; return how late the tick starts after it, ns."""
        remaining = self._deadline - time.perf_counter_ns()
        if remaining > self.SPIN_NS:
            time.sleep((remaining - self.SPIN_NS) * 1e-9)
        while time.perf_counter_ns() < self._deadline:
            pass
        lateness = time.perf_counter_ns() - self._deadline
        self._deadline += self.period_ns
        if lateness > self.period_ns:  # fell behind by whole periods: skip them, don't burst
            self._deadline += (lateness // self.period_ns) * self.period_ns
        return lateness


@dataclass
class LoopResult:
    """What one run of the loop measured.

    Attributes:
        ticks: ticks run.
        duration: robot time covered, s.
        compute_ns: (ticks,) read-to-write time of each tick, ns.
        physics_ns: (ticks,) time inside the physics engine (simulation only, else 0), ns.
        period_ns: (ticks,) start-to-start time of each tick, ns.
        overruns: ticks whose compute ended after their deadline (real time only).
        error_rms: (dof,) RMS of q_ref - q per joint, rad.
        error_max: (dof,) max |q_ref - q| per joint, rad.
        final_state: the last state read.
    """

    ticks: int
    duration: float
    compute_ns: np.ndarray
    physics_ns: np.ndarray
    period_ns: np.ndarray
    overruns: int
    error_rms: np.ndarray
    error_max: np.ndarray
    final_state: JointState

    @property
    def overhead_ns(self) -> np.ndarray:
        """(ticks,) stack time per tick: compute minus physics, ns."""
        return self.compute_ns - self.physics_ns


class ControlLoop:
    """Runs ``controller`` on ``robot`` tracking chunks from ``source``.

    Args:
        robot: a connected robot.
        controller: turns state and reference into torque.
        source: chunk source, called every ``chunk_period_ticks`` ticks (first at tick 0).
        clock: `LockstepClock` or `WallClock`.
        interpolator: chunk interpolator (default: 0.1 s blends).
        chunk_period_ticks: ticks between chunk requests (100 = 10 Hz at 1 kHz).
    """

    def __init__(
        self,
        *,
        robot: Robot,
        controller: Controller,
        source: ChunkSource,
        clock: LockstepClock | WallClock,
        interpolator: ChunkInterpolator | None = None,
        chunk_period_ticks: int = 100,
    ):
        if chunk_period_ticks < 1:
            raise ValueError(f"chunk_period_ticks must be >= 1, got {chunk_period_ticks}")
        self.robot, self.controller, self.source, self.clock = robot, controller, source, clock
        self.interpolator = interpolator or ChunkInterpolator()
        self.chunk_period_ticks = chunk_period_ticks

    PROGRESS_EVERY = 1000  # ticks between progress callbacks

    def run(self, *, ticks: int, progress: Callable[[int], None] | None = None) -> LoopResult:
        """Run ``ticks`` ticks from the robot's current state; return the measurements.

        ``progress(n)`` is called with the number of ticks done every `PROGRESS_EVERY` ticks.
        """
        if ticks < 1:
            raise ValueError(f"ticks must be >= 1, got {ticks}")
        robot, controller, interpolator, spec = (
            self.robot,
            self.controller,
            self.interpolator,
            self.robot.spec,
        )
        compute = np.zeros(ticks, dtype=np.int64)
        physics = np.zeros(ticks, dtype=np.int64)
        period = np.zeros(ticks, dtype=np.int64)
        err_sq = np.zeros(spec.dof)
        err_max = np.zeros(spec.dof)
        physics_of = getattr(robot, "physics_ns", None) is not None
        deadline_ns = round(spec.dt * 1e9)
        overruns = 0

        state = robot.read()
        t_begin = state.t
        interpolator.reset(state.q, state.gripper_width)
        controller.reset()
        self.clock.start()
        last_start = time.perf_counter_ns()
        for tick in range(ticks):
            lateness = self.clock.wait_next()
            start = time.perf_counter_ns()
            state = robot.read()
            if tick % self.chunk_period_ticks == 0:
                chunk = self.source.next_chunk(state)
                if chunk is not None:
                    spec.check_positions(chunk.q, what="chunk")
                    interpolator.add_chunk(chunk, state.t)
            reference = interpolator.sample(state.t)
            tau = controller.update(state, reference)
            robot.write(JointCommand.torque(tau, reference.gripper))
            end = time.perf_counter_ns()

            compute[tick] = end - start
            period[tick] = start - last_start
            last_start = start
            if physics_of:
                physics[tick] = robot.physics_ns
            if self.clock.realtime and lateness + (end - start) > deadline_ns:
                overruns += 1
            error = reference.q - state.q
            err_sq += error * error
            np.maximum(err_max, np.abs(error), out=err_max)
            if progress is not None and tick % self.PROGRESS_EVERY == 0:
                progress(tick)

        final = robot.read()
        return LoopResult(
            ticks=ticks,
            duration=final.t - t_begin,
            compute_ns=compute,
            physics_ns=physics,
            period_ns=period,
            overruns=overruns,
            error_rms=np.sqrt(err_sq / ticks),
            error_max=err_max,
            final_state=final,
        )
