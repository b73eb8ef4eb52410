"""The control loop: read -> reference -> controller -> safety -> write -> record, per tick.

The same loop code runs under two clocks (docs/architecture.md), real time coming in two kinds:

- `LockstepClock`: as fast as possible; the robot's own time (simulation) advances one
  period per `write`. Deterministic: the chunk source is called synchronously every
  ``chunk_period_ticks`` ticks.
- `WallClock`: paced at the control rate by the wall clock (simulation in real time).
- `RobotPacedClock`: a real robot paces the loop itself: `Robot.read` blocks until the next
  state arrives (pylibfranka's readOnce, ur_rtde's waitPeriod). A read slower than the
  safety config's timeout is a backend failure.

Per tick the loop records the compute time (read to write), the tick period (start to start),
the physics time reported by simulated backends, and the tracking error. In real time, a tick
whose compute ends after its deadline is an overrun.

The controller's torque goes to torque-controlled robots; robots that servo themselves
(`Robot.command_mode`: UR's servoJ and speedJ) get the safety-filtered reference instead
(`command_for`), so the monitor's STOP and HOLD references drive them too; a streamed
velocity passes the monitor's interface limits last (`SafetyMonitor.limit_command`).

A gripper that failed to grasp (`GraspFailedError`, raised by `Robot.write` after the tick's
command went out) HOLDs the arm: the episode cannot succeed, the robot works on.

If the run ends abnormally (an exception, a failed read or write), the loop leaves a zero
torque command on the robot (zero speed for speed-streaming robots; a position-servoing robot
gets its own decelerating stop): the arm is gravity compensated and no longer driven;
bringing it to a standstill with brakes is the backend's `close`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from robostack.controllers.base import Controller
from robostack.controllers.interpolation import ChunkInterpolator
from robostack.core.errors import GraspFailedError, ObservationError
from robostack.core.robot import Robot
from robostack.core.types import (
    CommandMode,
    JointCommand,
    JointReference,
    JointState,
    TrajectoryChunk,
)
from robostack.runtime.safety import SafetyEvent, SafetyMonitor

VELOCITY_FEEDBACK = 5.0  # 1/s: speed-streaming robots get dq_ref + this x (q_ref - q)


def command_for(
    mode: CommandMode, state: JointState, reference: JointReference, tau: np.ndarray
) -> JointCommand:
    """The tick's command for a robot taking ``mode``: the torque ``tau`` (dof,) Nm, the
    reference positions (rad), or the reference speeds with position feedback (rad/s)."""
    if mode is CommandMode.TORQUE:
        return JointCommand.torque(tau, reference.gripper)
    if mode is CommandMode.POSITION:
        return JointCommand(mode, reference.q, reference.gripper)
    feedback = VELOCITY_FEEDBACK * (reference.q - state.q)
    return JointCommand(mode, reference.dq + feedback, reference.gripper)


class ChunkSource(Protocol):
    """Anything that produces trajectory chunks from the latest state (a policy, a reference)."""

    def next_chunk(self, state: JointState) -> TrajectoryChunk | None:
        """A new chunk, or None to keep the current one (None forever means: done). An
        observation it must not act on (a stale camera frame) raises
        `robostack.core.errors.ObservationError`: the monitor HOLDs the arm."""
        ...


class LockstepClock:
    """No pacing: the next tick starts as soon as the last one is done."""

    realtime = False
    robot_paced = False

    def start(self) -> None:
        pass

    def wait_next(self) -> int:
        """Return the lateness of the tick start, ns (always 0)."""
        return 0


class RobotPacedClock:
    """Real time paced by the robot: no waiting here, `Robot.read` blocks until the next state."""

    realtime = True
    robot_paced = True

    def start(self) -> None:
        pass

    def wait_next(self) -> int:
        return 0


class WallClock:
    """Pace ticks at ``period`` s of wall time: sleep coarsely, then spin the last stretch.

    Args:
        period: tick period, s.
        now: monotonic time source, ns (injectable for tests).
        sleep: sleep function, s (injectable for tests).
    """

    realtime = True
    robot_paced = False
    SPIN_NS = 200_000  # time.sleep overshoots by ~50-100 us; spin the last 200 us

    def __init__(
        self,
        period: float,
        *,
        now: Callable[[], int] = time.perf_counter_ns,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.period_ns = round(period * 1e9)
        self._now, self._sleep = now, sleep
        self.deadline = 0

    def start(self) -> None:
        self.deadline = self._now() + self.period_ns

    def wait_next(self) -> int:
        """Sleep until the next deadline; return how late the tick starts after it, ns."""
        remaining = self.deadline - self._now()
        if remaining > self.SPIN_NS:
            self._sleep((remaining - self.SPIN_NS) * 1e-9)
        while self._now() < self.deadline:
            pass
        lateness = self._now() - self.deadline
        self.deadline += self.period_ns
        if lateness > self.period_ns:  # fell behind by whole periods: skip them, don't burst
            self.deadline += (lateness // self.period_ns) * self.period_ns
        return lateness


class Link(Protocol):
    """Another process's view of the loop (`robostack.transport.ControlLink`), bound to each
    session's monitor and polled once per tick after the write: it publishes the status and
    takes messages (stops, chunks)."""

    def bind(self, safety: SafetyMonitor, *, command_mode: CommandMode) -> None: ...

    def poll(
        self, tick: int, state: JointState, reference: JointReference, tau: np.ndarray
    ) -> None: ...


class Recorder(Protocol):
    """Where the loop copies each tick (`robostack.runtime.recording.SessionRecorder`)."""

    def record(
        self, tick: int, state: JointState, reference: JointReference, tau: np.ndarray
    ) -> None: ...

    def record_chunk(self, tick: int, t: float, chunk: TrajectoryChunk) -> None: ...


@dataclass
class LoopResult:
    """What one run of the loop measured.

    Attributes:
        ticks: ticks run (fewer than asked when the safety monitor ended the session).
        duration: robot time covered, s.
        compute_ns: (ticks,) read-to-write time of each tick, ns (robot-paced: from the
            state's arrival, the read's blocking wait left out).
        physics_ns: (ticks,) time inside the physics engine (simulation only, else 0), ns.
        period_ns: (ticks,) start-to-start time of each tick, ns.
        overruns: ticks whose compute ended after their deadline (real time only).
        error_rms: (dof,) RMS of q_ref - q per joint, rad.
        error_max: (dof,) max |q_ref - q| per joint, rad.
        final_state: the last state read (None if reading failed).
        outcome: ``completed``, ``held`` or ``stopped`` (`SafetyMonitor.outcome`).
        events: the safety events of the run.
        lost_packets: control periods the robot reported lost (real robots), else 0.
    """

    ticks: int
    duration: float
    compute_ns: np.ndarray
    physics_ns: np.ndarray
    period_ns: np.ndarray
    overruns: int
    error_rms: np.ndarray
    error_max: np.ndarray
    final_state: JointState | None
    outcome: str
    events: list[SafetyEvent]
    lost_packets: int = 0

    LATE = 1.5  # a tick is late when its period exceeds this many control periods

    def timing(self, dt: float) -> dict:
        """Tick timing for a control period ``dt`` s: `period_timing`, overruns and lost
        packets."""
        periods = self.period_ns[1:] / 1e6  # the first period includes the loop's start
        return {
            **period_timing(periods, dt),
            "overruns": self.overruns,
            "lost_packets": self.lost_packets,
        }

    @property
    def overhead_ns(self) -> np.ndarray:
        """(ticks,) stack time per tick: compute minus physics, ns."""
        return self.compute_ns - self.physics_ns


def period_timing(periods_ms: np.ndarray, dt: float) -> dict:
    """Tick periods (T,) ms against the control period ``dt`` s: ``period_ms`` (median, p99,
    max and jitter, the standard deviation) and ``late_ticks`` (periods over `LoopResult.LATE`
    control periods)."""
    periods = periods_ms if periods_ms.size else np.zeros(1)
    return {
        "period_ms": {
            "median": float(np.median(periods)),
            "p99": float(np.percentile(periods, 99)),
            "max": float(periods.max()),
            "jitter": float(periods.std()),
        },
        "late_ticks": int((periods > LoopResult.LATE * dt * 1e3).sum()),
    }


class ControlLoop:
    """Runs ``controller`` on ``robot`` tracking chunks from ``source``, through ``safety``.

    Every torque passes `SafetyMonitor.filter` before `Robot.write`; the monitor can end the
    run early (a settled HOLD, a halted STOP).

    Args:
        robot: a connected robot.
        controller: turns state and reference into torque.
        source: chunk source, called every ``chunk_period_ticks`` ticks (first at tick 0).
        clock: `LockstepClock`, `WallClock` or `RobotPacedClock`.
        safety: the monitor; it shares ``interpolator`` to stop the reference smoothly.
        interpolator: the chunk interpolator.
        recorder: where each tick is copied, or None.
        chunk_period_ticks: ticks between chunk requests (800 = every 0.8 s at 1 kHz).
        link: the process link polled every tick, or None (a single-process session).
    """

    PROGRESS_EVERY = 1000  # ticks between progress callbacks

    def __init__(
        self,
        *,
        robot: Robot,
        controller: Controller,
        source: ChunkSource,
        clock: LockstepClock | WallClock | RobotPacedClock,
        safety: SafetyMonitor,
        interpolator: ChunkInterpolator,
        recorder: Recorder | None = None,
        chunk_period_ticks: int = 100,
        link: Link | None = None,
    ):
        if chunk_period_ticks < 1:
            raise ValueError(f"chunk_period_ticks must be >= 1, got {chunk_period_ticks}")
        ours, theirs = robot.spec, safety.spec
        if (ours.joint_names, ours.control_rate_hz) != (theirs.joint_names, theirs.control_rate_hz):
            raise ValueError(
                f"the safety config is for {theirs.name} at {theirs.control_rate_hz} Hz, the "
                f"robot is {ours.name} at {ours.control_rate_hz} Hz: limits would not match"
            )
        self.robot, self.controller, self.source, self.clock = robot, controller, source, clock
        self.safety, self.interpolator, self.recorder = safety, interpolator, recorder
        self.chunk_period_ticks = chunk_period_ticks
        self.link = link

    def run(
        self,
        *,
        ticks: int,
        progress: Callable[[int], None] | None = None,
        on_tick: Callable[[int, JointState, JointReference], bool] | None = None,
        every: int = 100,
        fresh: bool = True,
    ) -> LoopResult:
        """Run up to ``ticks`` ticks from the robot's current state; return the measurements.

        The first chunk is validated before anything moves (a bad one raises). ``progress(n)``
        is called with the number of ticks done every `PROGRESS_EVERY` ticks.
        ``on_tick(tick, state, reference)`` is called every ``every`` ticks (from tick 0) with
        the tick's state and the reference sent; returning True ends the run (e.g. success).
        ``fresh=False`` continues the previous run's session (reference, safety state,
        controller state) instead of starting from rest: environments step the loop this way;
        the chunk for the continuation is asked for at its tick 0.
        """
        if ticks < 1:
            raise ValueError(f"ticks must be >= 1, got {ticks}")
        robot, controller, interpolator, safety, recorder, link = (
            self.robot,
            self.controller,
            self.interpolator,
            self.safety,
            self.recorder,
            self.link,
        )
        spec = robot.spec
        compute = np.zeros(ticks, dtype=np.int64)
        physics = np.zeros(ticks, dtype=np.int64)
        period = np.zeros(ticks, dtype=np.int64)
        err_sq = np.zeros(spec.dof)
        err_max = np.zeros(spec.dof)
        physics_of = getattr(robot, "physics_ns", None) is not None
        deadline_ns = round(spec.dt * 1e9)
        read_timeout_ns = round(safety.config.read_timeout_s * 1e9)
        mode = robot.command_mode
        lost_before = getattr(robot, "lost_packets", 0)
        overruns = 0

        state = robot.read()
        if fresh:
            state = self._first_chunk(state)
            controller.reset()
        t_begin = state.t
        realtime, robot_paced = self.clock.realtime, self.clock.robot_paced
        self.clock.start()
        last_start = time.perf_counter_ns()
        done = 0
        clean = False
        try:
            for tick in range(ticks):
                lateness = self.clock.wait_next()
                start = time.perf_counter_ns()
                try:
                    state = robot.read()
                except Exception as error:  # any backend failure: STOP, end
                    check = getattr(error, "check", "backend_read")  # a robot fault names itself
                    safety.backend_failed(
                        tick, state.t, f"reading the robot failed: {error!r}", check=check
                    )
                    break
                read_ns = time.perf_counter_ns() - start
                if robot_paced and read_ns > read_timeout_ns:
                    safety.backend_failed(
                        tick, state.t, f"a read took {read_ns / 1e6:.1f} ms", check="backend_read"
                    )
                    break
                due = tick % self.chunk_period_ticks == 0 and (tick > 0 or not fresh)
                if due and safety.accepting_chunks:
                    try:
                        chunk = self.source.next_chunk(state)
                    except ObservationError as error:  # e.g. a stale camera frame: HOLD
                        _hold(safety, tick, state.t, error, value=error.value)
                        chunk = None
                    if chunk is not None and safety.accept_chunk(tick, state.t, chunk):
                        interpolator.add_chunk(chunk, state.t)
                        if recorder is not None:
                            recorder.record_chunk(tick, state.t, chunk)
                reference = interpolator.sample(state.t)
                tau = controller.update(state, reference)
                reference, tau = safety.filter(tick, state, reference, tau)
                command = safety.limit_command(
                    tick, state.t, command_for(mode, state, reference, tau)
                )
                try:
                    robot.write(command)
                except GraspFailedError as error:  # the command went out; the grasp is lost
                    _hold(safety, tick, state.t, error, value=error.width)
                except Exception as error:
                    check = getattr(error, "check", "backend_write")
                    safety.backend_failed(
                        tick, state.t, f"writing the robot failed: {error!r}", check=check
                    )
                    break
                end = time.perf_counter_ns()

                if recorder is not None:
                    recorder.record(tick, state, reference, tau)
                if link is not None:
                    link.poll(tick, state, reference, tau)
                # robot-paced, the read blocks for the robot's next state: work starts after it
                work_start = start + read_ns if robot_paced else start
                compute[tick] = end - work_start
                period[tick] = start - last_start
                last_start = start
                if physics_of:
                    physics[tick] = robot.physics_ns
                if realtime and lateness + (end - work_start) > deadline_ns:
                    overruns += 1
                q_error = reference.q - state.q
                err_sq += q_error * q_error
                np.maximum(err_max, np.abs(q_error), out=err_max)
                done = tick + 1
                if progress is not None and done % self.PROGRESS_EVERY == 0:
                    progress(done)
                if safety.finished:
                    break
                if on_tick is not None and tick % every == 0 and on_tick(tick, state, reference):
                    break
            clean = not safety.backend_failure
        finally:
            if not clean:
                self._release(state)
        if progress is not None:
            progress(done)

        try:
            final = robot.read()
        except Exception:  # the backend is gone; the failure is already an event
            final = None
        return LoopResult(
            ticks=done,
            duration=(final.t if final is not None else state.t) - t_begin,
            compute_ns=compute[:done],
            physics_ns=physics[:done],
            period_ns=period[:done],
            overruns=overruns,
            error_rms=np.sqrt(err_sq / max(done, 1)),
            error_max=err_max,
            final_state=final,
            outcome=safety.outcome,
            events=list(safety.events),
            lost_packets=getattr(robot, "lost_packets", 0) - lost_before,
        )

    def _release(self, state: JointState) -> None:
        """Best effort after an abnormal end: zero torque (gravity compensated), zero speed,
        or for a robot servoing positions its own decelerating stop (`Robot.end_motion`, UR's
        servoStop): a target at ``state``'s positions would halt a moving arm at once."""
        robot = self.robot
        rest = JointReference(state.q, np.zeros_like(state.q), np.zeros_like(state.q))
        with contextlib.suppress(Exception):  # the backend is gone; its failure is an event
            if robot.command_mode is CommandMode.POSITION:
                robot.end_motion()
            else:
                robot.write(command_for(robot.command_mode, state, rest, np.zeros(robot.spec.dof)))

    def _first_chunk(self, state: JointState) -> JointState:
        """Start from rest at ``state`` with the source's first chunk. It must be finite and
        inside the joint limits (raises otherwise: nothing has moved), then passes the
        monitor's chunk checks like every chunk (refused, it HOLDs the arm where it stands). A
        chunk that kept the source waiting longer than a control period (a policy in another
        process starting up) is re-timed to the state read after it came: the arm stood still
        meanwhile. Returns the state the run starts from."""
        self.safety.reset(last_chunk_t=state.t)
        began = time.perf_counter()
        chunk = self.source.next_chunk(state)
        if chunk is not None and time.perf_counter() - began > self.robot.spec.dt:
            waited, state = state, self.robot.read()
            shift = state.t - waited.t
            chunk = dataclasses.replace(chunk, t0=chunk.t0 + shift, obs_time=chunk.obs_time + shift)
        self.interpolator.reset(state.q, state.gripper_width)
        if chunk is None:
            return state
        self.robot.spec.check_positions(chunk.q, what="the first chunk")
        if self.safety.accept_chunk(0, state.t, chunk):
            self.interpolator.add_chunk(chunk, state.t)
            if self.recorder is not None:
                self.recorder.record_chunk(0, state.t, chunk)
        return state


def _hold(
    safety: SafetyMonitor,
    tick: int,
    t: float,
    error: ObservationError | GraspFailedError,
    *,
    value: float,
) -> None:
    """HOLD the arm for ``error`` (its ``check`` and ``limit``; ``value`` in the same units)."""
    safety.hold(tick, t, check=error.check, value=value, limit=error.limit, message=str(error))
