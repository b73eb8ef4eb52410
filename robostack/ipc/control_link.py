"""The control process's end of the process split: status out, chunks and stops in.

One `ControlLink` lives as long as the control process (a context manager); each episode's
loop binds its safety monitor to it (`bind`) and polls it once per tick, after the write
(`poll`). Per tick it

- takes the messages that arrived (never blocking): chunks are queued for the chunk source
  (`robostack.ipc.remote_source`), an operator stop asks the monitor for a STOP, the policy
  server's heartbeat is noted;
- HOLDs the arm (check ``policy_lost``) when the heartbeat has not come for
  ``policy_timeout_s``: the policy process died or hangs. This watchdog is armed once the
  episode has asked the policy for anything (its first observation), not during a start move;
- publishes the robot status every ``status_decimation`` ticks.

Every safety event of the bound monitor is published on the SAFETY channel. A message that
cannot be used is dropped through the monitor (`SafetyMonitor.message_dropped`: a DROP event,
counted) and never reaches the controller. Wall time (``time.monotonic``) times the heartbeat:
it comes from another process.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque

import numpy as np

from robostack.errors import RobostackError
from robostack.ipc import lcmtypes
from robostack.ipc.bus import connect, drain, handle
from robostack.ipc.codec import MessageError, decode
from robostack.ipc.config import IpcConfig, max_bytes
from robostack.safety import SafetyEvent, SafetyMonitor
from robostack.types import CommandMode, JointReference, JointState

MAX_MESSAGES_PER_TICK = 8  # a flood waits for later ticks instead of stalling this one
INBOX = 64  # chunk messages kept for the chunk source; older ones are overwritten


class PolicyServerError(RobostackError):
    """The policy server is missing, incompatible or silent, found before anything moved."""


class ControlLink:
    """See the module doc.

    Args:
        config: URL, channels, watchdogs.
    """

    def __init__(self, *, config: IpcConfig):
        self.config = config
        self.command_mode = CommandMode.TORQUE.value  # reported in the status (`bind`)
        self.session = int.from_bytes(os.urandom(8), "big") >> 1  # a positive int64
        self.lcm = connect(config.url)
        self.chunks: deque[bytes] = deque(maxlen=INBOX)  # raw, for the chunk source to check
        self.policy: lcmtypes.policy_status_t | None = None  # the last heartbeat
        self.policy_seen = -math.inf  # when it came, s (monotonic)
        self.safety: SafetyMonitor | None = None
        self.stop_requests: list[str] = []  # every operator stop taken, for the session report
        self.tick, self.t = 0, 0.0
        self._watching = False  # the policy watchdog is armed (module doc)
        self.episodes = 0  # episodes begun (`new_episode`)
        self._pending_drops: list[tuple[str, MessageError]] = []  # before a monitor is bound
        self._subscriptions = [
            self.lcm.subscribe(config.channel("CHUNK"), self._on_chunk),
            self.lcm.subscribe(config.channel("STOP"), self._on_stop),
            self.lcm.subscribe(config.channel("POLICY_STATUS"), self._on_policy_status),
        ]

    def __enter__(self) -> ControlLink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for subscription in self._subscriptions:
            self.lcm.unsubscribe(subscription)
        self._subscriptions.clear()

    # --- per episode and per tick -------------------------------------------------------

    def new_episode(self) -> int:
        """The next episode's number in this session (0, 1, ...)."""
        self.episodes += 1
        return self.episodes - 1

    def bind(
        self, safety: SafetyMonitor, *, command_mode: CommandMode = CommandMode.TORQUE
    ) -> None:
        """Report to ``safety`` from now on (a new loop's monitor; ``command_mode``: how its
        robot is commanded): its events are published, drops and stops go to it. A stop taken
        before stops this loop too."""
        self.safety, self._watching = safety, False
        self.command_mode = command_mode.value
        safety.listeners.append(self.publish_event)
        if self.stop_requests:
            safety.stop(self.stop_requests[-1])
        for channel, error in self._pending_drops:
            self.drop(channel, error)
        self._pending_drops.clear()

    def poll(
        self, tick: int, state: JointState, reference: JointReference, tau: np.ndarray
    ) -> None:
        """Once per tick, after the write (module doc)."""
        self.tick, self.t = tick, state.t
        drain(self.lcm, MAX_MESSAGES_PER_TICK)
        safety = self.safety
        if self._watching and safety is not None and safety.accepting_chunks:
            silent = time.monotonic() - self.policy_seen
            if silent > self.config.policy_timeout_s:
                safety.hold(
                    tick,
                    state.t,
                    check="policy_lost",
                    value=silent,
                    limit=self.config.policy_timeout_s,
                    message="the policy server's heartbeat stopped",
                )
        if tick % self.config.status_decimation == 0:
            self._publish_status(tick, state, reference, tau)

    def wait(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for a message, then take all that are waiting (outside the
        loop: startup, tests)."""
        if handle(self.lcm, timeout_s) > 0:
            drain(self.lcm, INBOX)

    def wait_for_policy(self) -> lcmtypes.policy_status_t:
        """The policy server's heartbeat, waiting up to ``startup_timeout_s`` for it."""
        deadline = time.monotonic() + self.config.startup_timeout_s
        while time.monotonic() - self.policy_seen > self.config.policy_timeout_s:
            if time.monotonic() > deadline:
                raise PolicyServerError(
                    f"no policy server on {self.config.url} (channel "
                    f"{self.config.channel('POLICY_STATUS')}) within "
                    f"{self.config.startup_timeout_s:g} s; start one with `robostack "
                    f"policy-server`; nothing moved"
                )
            self.wait(0.05)
        return self.policy

    def drop(self, channel: str, error: MessageError) -> None:
        """Record that a message on ``channel`` was refused for ``error``."""
        if self.safety is None:
            self._pending_drops.append((channel, error))
            return
        self.safety.message_dropped(
            self.tick,
            self.t,
            check=error.check,
            channel=self.config.channel(channel),
            value=error.value,
            limit=error.limit,
            message=str(error),
        )

    # --- out ----------------------------------------------------------------------------

    def publish(self, channel: str, message) -> None:
        """Publish an lcmtypes ``message`` on ``channel`` (a `robostack.ipc.config.CHANNELS`
        name); an observation arms the policy watchdog."""
        self._watching = self._watching or channel == "OBSERVATION"
        self.lcm.publish(self.config.channel(channel), message.encode())

    def publish_event(self, event: SafetyEvent) -> None:
        msg = lcmtypes.safety_event_t()
        msg.utime, msg.session, msg.tick = _utime(event.t), self.session, event.tick
        msg.check, msg.joint = event.check, event.joint or ""
        msg.value, msg.limit = event.value, event.limit
        msg.reaction, msg.message = event.reaction.name, event.message
        self.publish("SAFETY", msg)

    def _publish_status(self, tick, state: JointState, reference: JointReference, tau) -> None:
        dof = len(state.q)
        unknown = [math.nan] * dof
        msg = lcmtypes.robot_status_t()
        msg.utime, msg.session, msg.tick, msg.num_joints = _utime(state.t), self.session, tick, dof
        msg.joint_position = state.q.tolist()
        msg.joint_velocity = state.dq.tolist()
        msg.joint_position_reference = reference.q.tolist()
        msg.joint_torque_commanded = np.asarray(tau).tolist()
        msg.joint_torque_measured = unknown if state.tau is None else state.tau.tolist()
        msg.joint_torque_external = unknown if state.tau_ext is None else state.tau_ext.tolist()
        msg.gripper_width = math.nan if state.gripper_width is None else state.gripper_width
        msg.command_mode = self.command_mode
        msg.safety_state = "idle" if self.safety is None else self.safety.mode.value
        self.publish("STATUS", msg)

    # --- in (called from handle_timeout, in this thread) --------------------------------

    def _on_chunk(self, channel: str, data: bytes) -> None:
        self.chunks.append(data)

    def _on_stop(self, channel: str, data: bytes) -> None:
        try:
            msg = decode(lcmtypes.operator_stop_t, data, max_bytes=max_bytes("STOP"))
        except MessageError as error:
            self.drop("STOP", error)
            return
        reason = f"over LCM from {msg.source or 'unnamed'}: {msg.reason or 'no reason given'}"
        self.stop_requests.append(reason)
        if self.safety is not None:
            self.safety.stop(reason)

    def _on_policy_status(self, channel: str, data: bytes) -> None:
        try:
            msg = decode(lcmtypes.policy_status_t, data, max_bytes=max_bytes("POLICY_STATUS"))
        except MessageError as error:
            self.drop("POLICY_STATUS", error)
            return
        self.policy, self.policy_seen = msg, time.monotonic()


def _utime(t: float) -> int:
    """Seconds -> integer microseconds."""
    return round(t * 1e6)
