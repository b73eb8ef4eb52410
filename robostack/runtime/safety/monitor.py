"""The safety monitor: every tick, between the controller and `Robot.write`.

`SafetyMonitor.filter` takes the tick's state, reference and controller torque and returns
the reference and torque that may actually be sent. It owns the reactions:

- CLAMP: the torque and its rate of change are limited, and a streamed joint velocity command
  is kept within the robot's velocity interface (`limit_command`); the session continues.
- HOLD: the interpolator is told to stop smoothly within the acceleration limits, and a joint
  impedance controller holds the arm there. Chunks are ignored from then on. When the hold is
  caused by a bad reference, the stop starts from the last good reference instead.
- STOP: a damping torque brakes the arm; once it is slow (or after a timeout) the monitor
  is halted and the loop ends.

Chunks are checked on arrival (`accept_chunk`: finite, inside the joint limits; HOLD if not).

Checks and reactions: non-finite state (STOP), reference, or command (HOLD); joint position
soft zone (HOLD) and hard zone (STOP); joint velocity (STOP); torque and torque rate (CLAMP);
reference limits and jumps beyond velocity, acceleration or jerk limits (HOLD); tracking error
(STOP); velocity command beyond the interface's velocity, acceleration or jerk (CLAMP);
collision by external torque (STOP); tool outside the workspace box (HOLD); no fresh
chunk (HOLD); backend read failure or timeout (STOP); operator stop (STOP). Messages refused
by the process link (`robostack.transport`) are recorded as DROP events and change nothing.

Each check names its reaction (`_hold`, `_stop`, `_clamp`, or a DROP record) with a `Breach`:
where it fired, the value and the limit. Events are edge-triggered: a check that keeps firing is
recorded once per episode and joint (refused messages: once per check and channel, all of them
counted in `dropped`; a clamp again after the joint was released).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from robostack.controllers.base import Controller
from robostack.controllers.interpolation import ChunkInterpolator, ChunkSpline
from robostack.controllers.rate_limit import VelocityLimits, limit_velocity
from robostack.core.model import RigidBodyModel
from robostack.core.types import (
    CommandMode,
    JointCommand,
    JointReference,
    JointState,
    TrajectoryChunk,
)
from robostack.runtime.safety.config import SafetyConfig
from robostack.runtime.safety.envelope import Envelope
from robostack.runtime.safety.events import Reaction, SafetyEvent


class Mode(enum.Enum):
    RUNNING = "running"
    HOLDING = "holding"
    HELD = "held"  # hold settled: the arm is still
    STOPPING = "stopping"
    HALTED = "halted"


class Breach(NamedTuple):
    """Where a check fired: the joint (None for the whole arm, ``x``/``y``/``z`` for the
    workspace), the offending value and the limit it broke, in the check's units."""

    joint: str | None = None
    value: float = math.nan
    limit: float = math.nan


WHOLE_ARM = Breach()
Fault = tuple[str, str, Breach]  # (check, message, breach) of a refused chunk or reference


class SafetyMonitor:
    """Checks every tick and applies graded reactions.

    Args:
        config: thresholds (`SafetyConfig.for_robot(spec)`).
        model: the arm's rigid-body model (tool position for the workspace check).
        interpolator: the loop's interpolator (HOLD stops it smoothly).
        hold_controller: the controller that holds the arm under HOLD (joint impedance).
        on_event: called with each event as it happens (the recorder writes it out); more
            such callbacks can be appended to `listeners`.
    """

    def __init__(
        self,
        *,
        config: SafetyConfig,
        model: RigidBodyModel,
        interpolator: ChunkInterpolator,
        hold_controller: Controller,
        on_event: Callable[[SafetyEvent], None] | None = None,
    ):
        self.config, self.model = config, model
        self.interpolator, self.hold_controller = interpolator, hold_controller
        self.listeners: list[Callable[[SafetyEvent], None]] = [] if on_event is None else [on_event]
        spec = config.spec
        self.spec = spec
        self.names = spec.joint_names
        self.dt = spec.dt
        self._soft_lo = spec.q_min + config.position_soft_margin
        self._soft_hi = spec.q_max - config.position_soft_margin
        self._hard_lo = spec.q_min + config.position_hard_margin
        self._hard_hi = spec.q_max - config.position_hard_margin
        self._dq_max = spec.dq_max * config.velocity_fraction
        self._tracking_max = np.full(spec.dof, config.tracking_error_max)
        self._collision_torque = config.collision_torque
        tol = config.reference_tolerance
        self._ref_dq = spec.dq_max * tol
        self._ref_ddq = spec.ddq_max * tol
        self._ref_dddq_step = spec.dddq_max * tol * self.dt  # per-tick change of ddq
        self._ref_step = self._ref_dq * self.dt  # per-tick change of q
        self._max_gap_periods = max(1.0, config.read_timeout_s / self.dt)
        self._tau_max = spec.tau_max
        self._dtau_step = spec.dtau_max * self.dt
        self._dtau_max = np.full(spec.dof, spec.dtau_max)
        self._envelope = Envelope(config)
        self._command_limits = VelocityLimits.for_interface(spec)
        self.events: list[SafetyEvent] = []
        self.event_errors: list[str] = []  # listener failures (events are still in .events)
        self.dropped: dict[str, int] = {}  # refused messages per check (message_dropped)
        self._stop_request: str | None = None
        self.reset(last_chunk_t=0.0)

    # --- session control ----------------------------------------------------------------

    def reset(self, *, last_chunk_t: float) -> None:
        """Start a session: RUNNING, no history; the stale-reference clock starts now.

        A pending operator stop survives: a Ctrl-C during setup still stops the first tick."""
        self.mode = Mode.RUNNING
        self.events.clear()
        self.event_errors.clear()
        self.dropped.clear()
        self._fired: set[tuple[str, str | None]] = set()
        self._clamping: set[tuple[str, int]] = set()
        self._prev_tau = np.zeros(self.spec.dof)  # the arm starts at zero command
        self._sent_dq = np.zeros(self.spec.dof)  # the last velocity command and its
        self._sent_ddq = np.zeros(self.spec.dof)  # acceleration: the arm starts at rest
        self._prev_ref: JointReference | None = None
        self._prev_ref_t = 0.0  # robot time of _prev_ref, s
        self._last_good: JointReference | None = None
        self._last_chunk_t = last_chunk_t
        self._since = 0.0  # when the current HOLD / STOP began, s
        self.backend_failure = False
        self._still_since: float | None = None
        self._stop_pending = False

    def chunk_received(self, t: float) -> None:
        """A fresh chunk arrived at robot time ``t`` s (feeds the stale-reference watchdog)."""
        self._last_chunk_t = t

    def stop(self, reason: str = "operator") -> None:
        """Ask for a STOP at the next tick. Safe from a signal handler or another thread."""
        self._stop_request = reason

    @property
    def stop_requested(self) -> bool:
        """A STOP was asked for and not yet carried out (by the next tick)."""
        return self._stop_request is not None

    @property
    def accepting_chunks(self) -> bool:
        """Chunks are followed only while RUNNING."""
        return self.mode is Mode.RUNNING

    @property
    def finished(self) -> bool:
        """The session is over: halted after a STOP, or settled after a HOLD."""
        return self.mode in (Mode.HALTED, Mode.HELD)

    @property
    def outcome(self) -> str:
        """``completed`` (no HOLD or STOP), ``held`` or ``stopped``."""
        if self.mode in (Mode.STOPPING, Mode.HALTED):
            return "stopped"
        if self.mode in (Mode.HOLDING, Mode.HELD):
            return "held"
        return "completed"

    # --- the tick -----------------------------------------------------------------------

    def filter(
        self, tick: int, state: JointState, reference: JointReference, tau: np.ndarray
    ) -> tuple[JointReference, np.ndarray]:
        """Check this tick; return the reference and torque that may be sent."""
        t, dq = state.t, state.dq
        if self._fast_path_clear(tick, state, reference, tau):
            self._prev_ref = self._last_good = reference
            self._prev_ref_t = t
            self._prev_tau = tau
            return reference, tau
        if self._stop_request is not None:
            reason, self._stop_request = self._stop_request, None
            self._stop(tick, t, "operator_stop", f"operator stop ({reason})")
        state_ok = _finite(state.q, dq, state.tau_ext)
        if not state_ok:
            self._stop(tick, t, "state_nonfinite", "the measured state contains NaN or Inf")
        if self.mode is Mode.RUNNING:
            self._check_reference(tick, t, reference)
            self._check_chunks_arrive(tick, t)
        if self.mode in (Mode.HOLDING, Mode.HELD):
            reference = self.interpolator.sample(t)  # the hold replaces a bad reference
        if state_ok and self.mode is not Mode.HALTED:
            self._check_state(tick, t, state, reference)

        if self.mode in (Mode.HOLDING, Mode.HELD):
            tau = self.hold_controller.update(state, reference)
            self._settle(t, dq)
        elif self.mode in (Mode.STOPPING, Mode.HALTED):
            tau = -self.config.stop_damping * dq if state_ok else np.zeros_like(tau)
            reference = self._stop_reference(t, state if state_ok else None)
            self._halt_when_slow(t, dq if state_ok else None)
        elif not _finite(tau):
            self._hold(tick, t, "command_nonfinite", "the controller's torque contains NaN or Inf")
            reference = self.interpolator.sample(t)
            tau = self.hold_controller.update(state, reference)
        if not _finite(tau):  # nothing sane left to send: brake by nothing
            tau = np.zeros_like(tau)
        tau = self._limit_torque(tick, t, tau)
        self._prev_tau = tau
        return reference, tau

    def limit_command(self, tick: int, t: float, command: JointCommand) -> JointCommand:
        """The tick's command as it may go on the wire: a joint velocity command within the
        robot's velocity interface (`VelocityLimits.for_interface`: velocity, acceleration and
        jerk of the commanded signal, so that the robot's motion generator reflexes never
        fire), each joint a limit changed a CLAMP event; a non-finite velocity asks for zero
        (the arm was already stopped for the cause); torque and position commands as they
        are."""
        if command.mode is not CommandMode.VELOCITY:
            return command
        dq, last_dq, last_ddq = command.values, self._sent_dq, self._sent_ddq
        if not _finite(dq):
            dq = np.where(np.isfinite(dq), dq, 0.0)
        limited = limit_velocity(dq, last_dq, last_ddq, self._command_limits, self.dt)
        touched = limited.velocity | limited.acceleration | limited.jerk
        if touched.any() or self._clamping:
            ddq, limits = (dq - last_dq) / self.dt, self._command_limits
            asked = (
                ("command_velocity", limited.velocity, dq, limits.velocity),
                ("command_acceleration", limited.acceleration, ddq, limits.acceleration),
                ("command_jerk", limited.jerk, (ddq - last_ddq) / self.dt, limits.jerk),
            )
            for check, hit, value, limit in asked:
                self._clamp(tick, t, check, hit, value, limit)
        self._sent_dq, self._sent_ddq = limited.dq, limited.ddq
        return JointCommand(command.mode, limited.dq, command.gripper)

    def _fast_path_clear(
        self, tick: int, state: JointState, reference: JointReference, tau: np.ndarray
    ) -> bool:
        """True when a RUNNING tick touches no limit (`Envelope`); else take the slow path."""
        if (
            self.mode is not Mode.RUNNING
            or self._stop_request is not None
            or self._clamping
            or self._prev_ref is None
            or state.t - self._last_chunk_t > self.config.stale_reference_s
        ):
            return False
        prev = self._prev_ref
        if not self._envelope.within(
            state.q,
            state.dq,
            state.tau_ext,
            reference.q,
            reference.dq,
            reference.ddq,
            prev.q,
            prev.ddq,
            tau,
            self._prev_tau,
        ):
            return False
        if tick % self.config.workspace_every == 0:
            position, _ = self.model.tool_pose(state.q)
            lo, hi = self.config.workspace_min, self.config.workspace_max
            return bool(((position >= lo) & (position <= hi)).all())
        return True

    # --- requests from outside the tick -------------------------------------------------

    def accept_chunk(self, tick: int, t: float, chunk: TrajectoryChunk) -> bool:
        """Let a chunk through if finite, inside the joint limits and starting near the current
        reference; otherwise HOLD."""
        fault = self._chunk_fault(t, chunk)
        if fault is not None:
            self._hold(tick, t, *fault)
            return False
        self._last_chunk_t = t
        return True

    def hold(
        self, tick: int, t: float, *, check: str, value: float, limit: float, message: str
    ) -> None:
        """A watchdog outside the monitor asks for a HOLD (``check``, e.g. ``policy_lost``:
        the policy process stopped answering; ``value`` and ``limit`` in its units)."""
        self._hold(tick, t, check, message, Breach(None, value, limit))

    def message_dropped(
        self,
        tick: int,
        t: float,
        *,
        check: str,
        channel: str,
        value: float,
        limit: float,
        message: str,
    ) -> None:
        """A message on ``channel`` was refused (``check``: ``ipc_malformed``, ``ipc_stale``,
        ...; ``value`` and ``limit`` in the check's units): a DROP event, nothing else changes."""
        self.dropped[check] = self.dropped.get(check, 0) + 1
        text, breach = f"{channel}: {message}", Breach(None, value, limit)
        self._record_once(Reaction.DROP, tick, t, check, text, breach, key=(check, channel))

    def backend_failed(self, tick: int, t: float, message: str, *, check: str) -> None:
        """The backend failed (``check``: ``backend_read`` or ``backend_write``; an exception
        or a timeout): STOP, and the loop ends without braking (nothing to brake with)."""
        self.backend_failure = True
        self._stop(tick, t, check, message)
        self.mode = Mode.HALTED

    # --- checks, by what they watch -----------------------------------------------------

    def _chunk_fault(self, t: float, chunk: TrajectoryChunk) -> Fault | None:
        """The first check a chunk fails: finite, gripper widths in range, inside the joint
        range, starting near the current reference; None if it passes them all."""
        q, gripper = chunk.q, chunk.gripper
        if not _finite(q):
            return "chunk_nonfinite", "a chunk contains NaN or Inf", WHOLE_ARM
        width_max = self.spec.gripper_width_max
        if gripper is not None and not (
            np.isfinite(gripper).all() and (gripper >= 0).all() and (gripper <= width_max).all()
        ):
            message = "a chunk's gripper widths are not finite or out of range"
            return "chunk_gripper", message, Breach(None, float(np.max(np.abs(gripper))), width_max)
        if breach := self._outside(q.min(axis=0), q.max(axis=0)):
            return "chunk_limit", "a chunk leaves the joint range", breach
        gap = np.abs(ChunkSpline(chunk).evaluate(t)[0] - self.interpolator.position(t))
        if gap.max() > self.config.chunk_jump_max:
            j = int(np.argmax(gap))
            breach = Breach(self.names[j], float(gap[j]), self.config.chunk_jump_max)
            return "chunk_jump", "a chunk starts far from the current reference", breach
        return None

    def _check_chunks_arrive(self, tick: int, t: float) -> None:
        """HOLD when no fresh chunk came for ``stale_reference_s``."""
        age, limit = t - self._last_chunk_t, self.config.stale_reference_s
        if age > limit:
            self._hold(
                tick, t, "stale_reference", "no fresh trajectory chunk", Breach(None, age, limit)
            )

    def _check_reference(self, tick: int, t: float, ref: JointReference) -> None:
        """HOLD from the last good reference when ``ref`` fails a check; else it is the last
        good one."""
        fault = self._reference_fault(t, ref)
        if fault is not None:
            self._hold(tick, t, *fault, from_last_good=True)
            return
        self._prev_ref = self._last_good = ref
        self._prev_ref_t = t

    def _reference_fault(self, t: float, ref: JointReference) -> Fault | None:
        """The first check ``ref`` fails: finite, inside the joint range, no jump beyond the
        velocity, acceleration, step or jerk limits; None if it passes them all."""
        rq, rdq, rddq = ref.q, ref.dq, ref.ddq
        if not _finite(rq, rdq, rddq):
            return "reference_nonfinite", "the reference contains NaN or Inf", WHOLE_ARM
        if breach := self._outside(rq, rq):
            return "reference_limit", "the reference leaves the joint range", breach
        jumps = [
            ("reference_velocity", np.abs(rdq), self._ref_dq),
            ("reference_acceleration", np.abs(rddq), self._ref_ddq),
        ]
        prev = self._prev_ref
        if prev is not None:
            periods = self._periods_since_prev_ref(t)
            jumps += [
                ("reference_step", np.abs(rq - prev.q), self._ref_step * periods),
                ("reference_jerk", np.abs(rddq - prev.ddq), self._ref_dddq_step * periods),
            ]
        for check, value, limit in jumps:
            if breach := self._above(value, limit):
                return check, "the reference jumps beyond the motion limits", breach
        return None

    def _periods_since_prev_ref(self, t: float) -> float:
        """Control periods of robot time since the previous reference, at least 1: a real
        robot's clock skips the periods whose packets were lost, and the reference moved on
        with it. At most ``read_timeout_s`` worth: a longer gap keeps that bound."""
        return min(max((t - self._prev_ref_t) / self.dt, 1.0), self._max_gap_periods)

    def _check_state(self, tick: int, t: float, state: JointState, ref: JointReference) -> None:
        """The measured state: position zones, joint speed, tracking, collision, workspace."""
        q = state.q
        if soft := self._outside(q, q, self._soft_lo, self._soft_hi):
            if hard := self._outside(q, q, self._hard_lo, self._hard_hi):
                self._stop(tick, t, "position_limit", "a joint reached its hard limit zone", hard)
            elif self.mode is Mode.RUNNING:
                self._hold(
                    tick, t, "position_soft_limit", "a joint entered its soft limit zone", soft
                )
        if breach := self._above(np.abs(state.dq), self._dq_max):
            self._stop(tick, t, "velocity_limit", "a joint moves faster than its limit", breach)
        if self.mode in (Mode.RUNNING, Mode.HOLDING):
            error = np.abs(ref.q - q)
            if breach := self._above(error, self._tracking_max):
                self._stop(
                    tick, t, "tracking_error", "the arm is too far from its reference", breach
                )
        sensed = state.tau_ext is not None
        if sensed and (breach := self._above(np.abs(state.tau_ext), self._collision_torque)):
            self._stop(
                tick, t, "collision", "external torque above the collision threshold", breach
            )
        due = self.mode is Mode.RUNNING and tick % self.config.workspace_every == 0
        if due and (breach := self._outside_workspace(q)):
            self._hold(tick, t, "workspace", "the tool left the workspace box", breach)

    def _limit_torque(self, tick: int, t: float, tau: np.ndarray) -> np.ndarray:
        """The torque limited to +-tau_max and its change to dtau_max per second (CLAMP)."""
        bounded = np.minimum(np.maximum(tau, -self._tau_max), self._tau_max)
        lo, hi = self._prev_tau - self._dtau_step, self._prev_tau + self._dtau_step
        limited = np.minimum(np.maximum(bounded, lo), hi)
        over, fast = bounded != tau, limited != bounded
        if over.any() or fast.any() or self._clamping:
            rate = (bounded - self._prev_tau) / self.dt
            self._clamp(tick, t, "torque_limit", over, tau, self._tau_max)
            self._clamp(tick, t, "torque_rate", fast, rate, self._dtau_max)
        return limited

    # --- reactions ----------------------------------------------------------------------

    def _hold(
        self,
        tick: int,
        t: float,
        check: str,
        message: str,
        breach: Breach = WHOLE_ARM,
        *,
        from_last_good: bool = False,
    ) -> None:
        """HOLD: stop smoothly within ddq_max (from the last good reference when the reference
        is at fault) and hold under joint impedance; chunks are ignored from now on."""
        if self.mode is Mode.RUNNING:
            self.mode, self._since = Mode.HOLDING, t
            good = self._last_good if from_last_good else None
            start = None if good is None else (good.q, good.dq)
            bounds = (self._hard_lo, self._hard_hi)
            self.interpolator.hold(t, ddq_max=self.spec.ddq_max, start=start, bounds=bounds)
            self.hold_controller.reset()
        self._record_once(Reaction.HOLD, tick, t, check, message, breach)

    def _stop(self, tick: int, t: float, check: str, message: str, breach: Breach = WHOLE_ARM):
        """STOP: brake by damping from the measured state, then halt."""
        if self.mode not in (Mode.STOPPING, Mode.HALTED):
            self.mode, self._since = Mode.STOPPING, t
            self._stop_pending = True  # `_stop_reference` starts the stop from the state
        self._record_once(Reaction.STOP, tick, t, check, message, breach)

    def _clamp(
        self, tick: int, t: float, check: str, hit: np.ndarray, value: np.ndarray, limit: np.ndarray
    ) -> None:
        """CLAMP (the command is already limited): an event for each joint whose ``hit``
        starts; ``value`` and ``limit`` (dof,) in the check's units."""
        for j, name in enumerate(self.names):
            key = (check, j)
            if not hit[j]:
                self._clamping.discard(key)
            elif key not in self._clamping:
                self._clamping.add(key)
                breach = Breach(name, float(value[j]), float(limit[j]))
                self._record(Reaction.CLAMP, tick, t, check, "command limited", breach)

    def _record_once(
        self,
        reaction: Reaction,
        tick: int,
        t: float,
        check: str,
        message: str,
        breach: Breach,
        *,
        key: tuple[str, str | None] | None = None,
    ) -> None:
        """Record the event unless ``key`` (default: the check and joint) fired this episode.
        Called after the reaction: recording may fail, the reaction must not."""
        key = (check, breach.joint) if key is None else key
        if key not in self._fired:
            self._fired.add(key)
            self._record(reaction, tick, t, check, message, breach)

    def _record(
        self, reaction: Reaction, tick: int, t: float, check: str, message: str, breach: Breach
    ) -> None:
        """Keep the event and pass it to every listener (a failing one lands in
        `event_errors`)."""
        joint, value, limit = breach
        event = SafetyEvent(
            t=t,
            tick=tick,
            check=check,
            joint=joint,
            value=value,
            limit=limit,
            reaction=reaction,
            message=message,
        )
        self.events.append(event)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as error:  # keep controlling; the failure is reported at the end
                self.event_errors.append(f"{event.check}: {error!r}")

    # --- after a reaction ---------------------------------------------------------------

    def _settle(self, t: float, dq: np.ndarray) -> None:
        if self.mode is not Mode.HOLDING:
            return
        if np.abs(dq).max() < self.config.hold_settle_speed:
            if self._still_since is None:
                self._still_since = t
            if t - self._still_since >= self.config.hold_settle_s:
                self.mode = Mode.HELD
        else:
            self._still_since = None

    def _stop_reference(self, t: float, state: JointState | None) -> JointReference:
        """The reference while STOPPING / HALTED, for arms commanded by position or speed (a
        torque-commanded arm brakes by damping instead): from the measured state at the STOP
        (the current reference when the state is unusable), a stop within ddq_max inside the
        joint range, then held there; the gripper stays where it was."""
        if self._stop_pending:
            self._stop_pending = False
            self.interpolator.hold(
                t,
                ddq_max=self.spec.ddq_max,
                start=None if state is None else (state.q, state.dq),
                bounds=(self.spec.q_min, self.spec.q_max),
            )
        return self.interpolator.sample(t)

    def _halt_when_slow(self, t: float, dq: np.ndarray | None) -> None:
        slow = dq is None or np.abs(dq).max() < self.config.stop_speed
        if self.mode is Mode.STOPPING and (slow or t - self._since >= self.config.stop_timeout_s):
            self.mode = Mode.HALTED

    # --- where a check fired ------------------------------------------------------------

    def _above(self, value: np.ndarray, limit: np.ndarray) -> Breach | None:
        """The first joint whose ``value`` exceeds ``limit`` (both (dof,)), or None."""
        return self._first(value > limit, value, limit)

    def _outside(self, low: np.ndarray, high: np.ndarray, lo=None, hi=None) -> Breach | None:
        """The first joint with ``low`` below ``lo`` or ``high`` above ``hi`` (all (dof,) rad;
        bounds default to the joint range), or None."""
        lo = self.spec.q_min if lo is None else lo
        hi = self.spec.q_max if hi is None else hi
        return self._first(low < lo, low, lo) or self._first(high > hi, high, hi)

    def _first(self, mask: np.ndarray, value: np.ndarray, limit: np.ndarray) -> Breach | None:
        """The joint, value and limit of the first True in ``mask``, or None."""
        if not mask.any():
            return None
        j = int(np.argmax(mask))
        return Breach(self.names[j], float(value[j]), float(limit[j]))

    def _outside_workspace(self, q: np.ndarray) -> Breach | None:
        """The first axis on which the tool at ``q`` is outside the workspace box, or None."""
        position, _ = self.model.tool_pose(q)
        lo, hi = self.config.workspace_min, self.config.workspace_max
        outside = (position < lo) | (position > hi)
        if not outside.any():
            return None
        axis = int(np.argmax(outside))
        limit = lo[axis] if position[axis] < lo[axis] else hi[axis]
        return Breach("xyz"[axis], float(position[axis]), float(limit))


def _finite(*arrays: np.ndarray | None) -> bool:
    """Every entry of every array (None skipped) is finite."""
    return math.isfinite(sum(a.sum() for a in arrays if a is not None))
