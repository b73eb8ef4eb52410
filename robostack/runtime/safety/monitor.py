"""The safety monitor: every tick, between the controller and `Robot.write`.

`SafetyMonitor.filter` takes the tick's state, reference and controller torque and returns
the reference and torque that may actually be sent. It owns the reactions:

- CLAMP: the torque and its rate of change are limited; the session continues.
- HOLD: the interpolator is told to stop smoothly within the acceleration limits, and a joint
  impedance controller holds the arm there. Chunks are ignored from then on. When the hold is
  caused by a bad reference, the stop starts from the last good reference instead.
- STOP: a damping torque brakes the arm; once it is slow (or after a timeout) the monitor
  is halted and the loop ends.

Chunks are checked on arrival (`accept_chunk`: finite, inside the joint limits; HOLD if not).

Checks and reactions: non-finite state (STOP), reference, or command (HOLD); joint position
soft zone (HOLD) and hard zone (STOP); joint velocity (STOP); torque and torque rate (CLAMP);
reference limits and jumps beyond velocity, acceleration or jerk limits (HOLD); tracking error
(STOP); collision by external torque (STOP); tool outside the workspace box (HOLD); no fresh
chunk (HOLD); backend read failure or timeout (STOP); operator stop (STOP). Messages refused
by the process link (`robostack.transport`) are recorded as DROP events and change nothing.

Events are edge-triggered: a check that keeps firing is recorded once per episode (refused
messages: once per check and channel, all of them counted in `dropped`).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable

import numpy as np

from robostack.controllers.base import Controller
from robostack.controllers.interpolation import ChunkInterpolator, ChunkSpline
from robostack.core.model import RigidBodyModel
from robostack.core.types import JointReference, JointState, TrajectoryChunk
from robostack.runtime.safety.config import SafetyConfig
from robostack.runtime.safety.envelope import Envelope
from robostack.runtime.safety.events import Reaction, SafetyEvent


class Mode(enum.Enum):
    RUNNING = "running"
    HOLDING = "holding"
    HELD = "held"  # hold settled: the arm is still
    STOPPING = "stopping"
    HALTED = "halted"


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
        tol = config.reference_tolerance
        self._ref_dq = spec.dq_max * tol
        self._ref_ddq = spec.ddq_max * tol
        self._ref_dddq_step = spec.dddq_max * tol * self.dt  # per-tick change of ddq
        self._ref_step = self._ref_dq * self.dt  # per-tick change of q
        self._max_gap_periods = max(1.0, config.read_timeout_s / self.dt)
        self._tau_max = spec.tau_max
        self._dtau_step = spec.dtau_max * self.dt
        self._envelope = Envelope(config)
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
        t, q, dq = state.t, state.q, state.dq
        if self._fast_path_clear(tick, state, reference, tau):
            self._prev_ref = self._last_good = reference
            self._prev_ref_t = t
            self._prev_tau = tau
            return reference, tau
        if self._stop_request is not None:
            reason, self._stop_request = self._stop_request, None
            self._trigger(
                Reaction.STOP,
                tick,
                t,
                "operator_stop",
                None,
                math.nan,
                math.nan,
                f"operator stop ({reason})",
            )
        tau_ext = state.tau_ext
        state_ok = math.isfinite(q.sum() + dq.sum() + (0.0 if tau_ext is None else tau_ext.sum()))
        if not state_ok:
            self._trigger(
                Reaction.STOP,
                tick,
                t,
                "state_nonfinite",
                None,
                math.nan,
                math.nan,
                "the measured state contains NaN or Inf",
            )
        if self.mode is Mode.RUNNING:
            self._check_reference(tick, t, reference)
            if t - self._last_chunk_t > self.config.stale_reference_s:
                self._trigger(
                    Reaction.HOLD,
                    tick,
                    t,
                    "stale_reference",
                    None,
                    t - self._last_chunk_t,
                    self.config.stale_reference_s,
                    "no fresh trajectory chunk",
                )
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
        elif not math.isfinite(tau.sum()):
            self._trigger(
                Reaction.HOLD,
                tick,
                t,
                "command_nonfinite",
                None,
                math.nan,
                math.nan,
                "the controller's torque contains NaN or Inf",
            )
            reference = self.interpolator.sample(t)
            tau = self.hold_controller.update(state, reference)
        if not math.isfinite(tau.sum()):  # nothing sane left to send: brake by nothing
            tau = np.zeros_like(tau)
        tau = self._clamp(tick, t, tau)
        self._prev_tau = tau
        return reference, tau

    def accept_chunk(self, tick: int, t: float, chunk: TrajectoryChunk) -> bool:
        """Let a chunk through if finite, inside the joint limits and starting near the current
        reference; otherwise HOLD."""
        q = chunk.q
        if not math.isfinite(q.sum()):
            self._trigger(
                Reaction.HOLD,
                tick,
                t,
                "chunk_nonfinite",
                None,
                math.nan,
                math.nan,
                "a chunk contains NaN or Inf",
            )
            return False
        if chunk.gripper is not None and not (
            np.isfinite(chunk.gripper).all()
            and (chunk.gripper >= 0).all()
            and (chunk.gripper <= self.spec.gripper_width_max).all()
        ):
            self._trigger(
                Reaction.HOLD,
                tick,
                t,
                "chunk_gripper",
                None,
                float(np.max(np.abs(chunk.gripper))),
                self.spec.gripper_width_max,
                "a chunk's gripper widths are not finite or out of range",
            )
            return False
        fault = self._outside(q.min(axis=0), q.max(axis=0))
        if fault:
            self._trigger(
                Reaction.HOLD,
                tick,
                t,
                "chunk_limit",
                *fault,
                "a chunk leaves the joint range",
            )
            return False
        gap = np.abs(ChunkSpline(chunk).evaluate(t)[0] - self.interpolator.position(t))
        if gap.max() > self.config.chunk_jump_max:
            joint = int(np.argmax(gap))
            self._trigger(
                Reaction.HOLD,
                tick,
                t,
                "chunk_jump",
                self.names[joint],
                float(gap[joint]),
                self.config.chunk_jump_max,
                "a chunk starts far from the current reference",
            )
            return False
        self._last_chunk_t = t
        return True

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

    def hold(
        self, tick: int, t: float, *, check: str, value: float, limit: float, message: str
    ) -> None:
        """A watchdog outside the monitor asks for a HOLD (``check``, e.g. ``policy_lost``:
        the policy process stopped answering; ``value`` and ``limit`` in its units)."""
        self._trigger(Reaction.HOLD, tick, t, check, None, value, limit, message)

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
        if (check, channel) not in self._fired:
            self._fired.add((check, channel))
            self._record(Reaction.DROP, tick, t, check, None, value, limit, f"{channel}: {message}")

    def backend_failed(self, tick: int, t: float, message: str, *, check: str) -> None:
        """The backend failed (``check``: ``backend_read`` or ``backend_write``; an exception
        or a timeout): STOP, and the loop ends without braking (nothing to brake with)."""
        self.backend_failure = True
        self._trigger(Reaction.STOP, tick, t, check, None, math.nan, math.nan, message)
        self.mode = Mode.HALTED

    # --- checks -------------------------------------------------------------------------

    def _check_reference(self, tick: int, t: float, ref: JointReference) -> None:
        rq, rdq, rddq = ref.q, ref.dq, ref.ddq
        if not math.isfinite(rq.sum() + rdq.sum() + rddq.sum()):
            self._trigger(
                Reaction.HOLD,
                tick,
                t,
                "reference_nonfinite",
                None,
                math.nan,
                math.nan,
                "the reference contains NaN or Inf",
                reference_fault=True,
            )
            return
        fault = self._outside(rq, rq)
        if fault:
            self._trigger(
                Reaction.HOLD,
                tick,
                t,
                "reference_limit",
                *fault,
                "the reference leaves the joint range",
                reference_fault=True,
            )
            return
        prev = self._prev_ref
        checks = [
            ("reference_velocity", np.abs(rdq), self._ref_dq),
            ("reference_acceleration", np.abs(rddq), self._ref_ddq),
        ]
        if prev is not None:
            periods = self._periods_since_prev_ref(t)
            checks += [
                ("reference_step", np.abs(rq - prev.q), self._ref_step * periods),
                ("reference_jerk", np.abs(rddq - prev.ddq), self._ref_dddq_step * periods),
            ]
        for check, value, limit in checks:
            fault = self._first(value > limit, value, limit)
            if fault:
                self._trigger(
                    Reaction.HOLD,
                    tick,
                    t,
                    check,
                    *fault,
                    "the reference jumps beyond the motion limits",
                    reference_fault=True,
                )
                return
        self._prev_ref = self._last_good = ref
        self._prev_ref_t = t

    def _periods_since_prev_ref(self, t: float) -> float:
        """Control periods of robot time since the previous reference, at least 1: a real
        robot's clock skips the periods whose packets were lost, and the reference moved on
        with it. At most ``read_timeout_s`` worth: a longer gap keeps that bound."""
        return min(max((t - self._prev_ref_t) / self.dt, 1.0), self._max_gap_periods)

    def _check_state(self, tick: int, t: float, state: JointState, ref: JointReference) -> None:
        q, dq = state.q, state.dq
        if (q < self._soft_lo).any() or (q > self._soft_hi).any():
            fault = self._outside(q, q, self._hard_lo, self._hard_hi)
            if fault:
                self._trigger(
                    Reaction.STOP,
                    tick,
                    t,
                    "position_limit",
                    *fault,
                    "a joint reached its hard limit zone",
                )
            elif self.mode is Mode.RUNNING:
                fault = self._outside(q, q, self._soft_lo, self._soft_hi)
                self._trigger(
                    Reaction.HOLD,
                    tick,
                    t,
                    "position_soft_limit",
                    *fault,
                    "a joint entered its soft limit zone",
                )
        speed = np.abs(dq)
        if (speed > self._dq_max).any():
            self._trigger(
                Reaction.STOP,
                tick,
                t,
                "velocity_limit",
                *self._first(speed > self._dq_max, speed, self._dq_max),
                "a joint moves faster than its limit",
            )
        if self.mode in (Mode.RUNNING, Mode.HOLDING):
            error = np.abs(ref.q - q)
            if (error > self.config.tracking_error_max).any():
                limit = np.full_like(error, self.config.tracking_error_max)
                self._trigger(
                    Reaction.STOP,
                    tick,
                    t,
                    "tracking_error",
                    *self._first(error > limit, error, limit),
                    "the arm is too far from its reference",
                )
        if state.tau_ext is not None:
            external = np.abs(state.tau_ext)
            if (external > self.config.collision_torque).any():
                self._trigger(
                    Reaction.STOP,
                    tick,
                    t,
                    "collision",
                    *self._first(
                        external > self.config.collision_torque,
                        external,
                        self.config.collision_torque,
                    ),
                    "external torque above the collision threshold",
                )
        if self.mode is Mode.RUNNING and tick % self.config.workspace_every == 0:
            position, _ = self.model.tool_pose(q)
            lo, hi = self.config.workspace_min, self.config.workspace_max
            outside = (position < lo) | (position > hi)
            if outside.any():
                axis = int(np.argmax(outside))
                limit = lo[axis] if position[axis] < lo[axis] else hi[axis]
                self._trigger(
                    Reaction.HOLD,
                    tick,
                    t,
                    "workspace",
                    "xyz"[axis],
                    float(position[axis]),
                    float(limit),
                    "the tool left the workspace box",
                )

    def _clamp(self, tick: int, t: float, tau: np.ndarray) -> np.ndarray:
        """CLAMP torque to +-tau_max and its change to dtau_max per second."""
        clamped = np.minimum(np.maximum(tau, -self._tau_max), self._tau_max)
        lo, hi = self._prev_tau - self._dtau_step, self._prev_tau + self._dtau_step
        rate = np.minimum(np.maximum(clamped, lo), hi)
        limited = [
            ("torque_limit", tau, clamped, self._tau_max),
            ("torque_rate", clamped, rate, np.full_like(rate, self.spec.dtau_max)),
        ]
        clamped = rate
        for check, before, after, limit in limited:
            hit = before != after
            if hit.any() or self._clamping:
                self._edge(tick, t, check, hit, before, limit)
        return clamped

    def _edge(self, tick, t, check, hit, value, limit) -> None:
        """Record a CLAMP event for each joint that starts being clamped."""
        for j in range(len(hit)):
            key = (check, j)
            if hit[j] and key not in self._clamping:
                self._clamping.add(key)
                shown = (
                    value[j]
                    if check == "torque_limit"
                    else ((value[j] - self._prev_tau[j]) / self.dt)
                )
                self._record(
                    Reaction.CLAMP,
                    tick,
                    t,
                    check,
                    self.names[j],
                    float(shown),
                    float(limit[j]),
                    "command limited",
                )
            elif not hit[j]:
                self._clamping.discard(key)

    # --- reactions ----------------------------------------------------------------------

    def _trigger(
        self, reaction, tick, t, check, joint, value, limit, message, *, reference_fault=False
    ) -> None:
        # react first: recording the event may fail, the reaction must not
        if reaction is Reaction.HOLD and self.mode is Mode.RUNNING:
            self.mode, self._since = Mode.HOLDING, t
            start = None
            if reference_fault and self._last_good is not None:
                start = (self._last_good.q, self._last_good.dq)
            self.interpolator.hold(
                t, ddq_max=self.spec.ddq_max, start=start, bounds=(self._hard_lo, self._hard_hi)
            )
            self.hold_controller.reset()
        elif reaction is Reaction.STOP and self.mode not in (Mode.STOPPING, Mode.HALTED):
            self.mode, self._since = Mode.STOPPING, t
            self._stop_pending = True  # `_stop_reference` starts the stop from the state
        if (check, joint) not in self._fired:
            self._fired.add((check, joint))
            self._record(reaction, tick, t, check, joint, value, limit, message)

    def _record(self, reaction, tick, t, check, joint, value, limit, message) -> None:
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

    def _outside(self, low: np.ndarray, high: np.ndarray, lo=None, hi=None):
        """(joint, value, bound) of the first joint with ``low`` below ``lo`` or ``high`` above
        ``hi`` (all (dof,) rad; bounds default to the joint range), or None."""
        lo = self.spec.q_min if lo is None else lo
        hi = self.spec.q_max if hi is None else hi
        return self._first(low < lo, low, lo) or self._first(high > hi, high, hi)

    def _first(self, mask: np.ndarray, value: np.ndarray, limit: np.ndarray):
        """(joint name, value, limit) of the first True in ``mask``, or None."""
        if not mask.any():
            return None
        j = int(np.argmax(mask))
        return self.names[j], float(value[j]), float(limit[j])
