"""The control process's end of the process split: status out, chunks and stops in.

One `ControlLink` lives as long as the control process (a context manager); each loop binds
its safety monitor to it (`bind`, done by `robostack.runtime.assembly.make_loop`) and polls it once
per tick, after the write (`poll`). Per tick it

- takes the messages that arrived (never blocking): chunks are queued for the chunk source
  (`robostack.runtime.remote_source`), an operator stop asks the monitor for a STOP (copies of one
  stop count once; on the session's own STOP channel or the shared one,
  `IpcConfig.stop_channels`; one whose texts cannot be read still counts) and is acknowledged
  on the STOP_ACK channel, policy servers' heartbeats are noted;
- HOLDs the arm (check ``policy_lost``) when the heartbeat of the server the episode uses has
  not come for ``policy_timeout_s``: its process died or hangs. The watchdog is armed once the
  episode has asked the policy for anything (its first observation), not during a start move;
- publishes the robot status every ``status_decimation`` ticks.

Every safety event of the bound monitor is published on the SAFETY channel. A message that
cannot be used is dropped through the monitor (`SafetyMonitor.message_dropped`: a DROP event,
counted) and never reaches the controller. Nothing here raises into the loop: a failed send is
counted and reported the same way (``ipc_send_failed``). Wall time (``time.monotonic``) times
the heartbeats: they come from another process.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections import deque

import numpy as np

from robostack.core.errors import RobostackError
from robostack.core.types import CommandMode, JointReference, JointState
from robostack.runtime.safety import SafetyEvent, SafetyMonitor
from robostack.transport import lcmtypes
from robostack.transport.bus import connect, drain, handle
from robostack.transport.codec import MessageError, decode
from robostack.transport.config import HEARTBEAT_HZ, IpcConfig, max_bytes, new_id, utime
from robostack.transport.operator_stop import ack_message

MAX_MESSAGES_PER_TICK = 8  # a flood waits for later ticks instead of stalling this one
MAX_MESSAGES_PER_WAIT = 256  # outside the loop (startup) it can take more at once
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
        self.session = new_id()
        self.lcm = connect(config.url)
        self.chunks: deque[bytes] = deque(maxlen=INBOX)  # raw, for the chunk source to check
        # server id -> (its last heartbeat, when it came (monotonic s))
        self.heartbeats: dict[int, tuple[lcmtypes.policy_status_t, float]] = {}
        self.server: int | None = None  # the server the current episode uses (`use_server`)
        self.safety: SafetyMonitor | None = None
        self.stop_requests: list[str] = []  # every operator stop taken, for the session report
        self.send_failures: dict[str, int] = {}  # channel -> messages that could not be sent
        self.tick, self.t = 0, 0.0
        self.episodes = 0  # episodes begun (`new_episode`)
        self._watching = False  # the policy watchdog is armed (module doc)
        self._stops_seen: set[tuple[int, str, str]] = set()
        self._pending_drops: list[tuple[str, MessageError]] = []  # until the next poll
        self._subscriptions = [
            self.lcm.subscribe(config.channel("CHUNK"), self._on_chunk),
            *(self.lcm.subscribe(channel, self._on_stop) for channel in config.stop_channels()),
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

    @property
    def stop_requested(self) -> bool:
        """An operator stop (over LCM, or Ctrl-C through the bound monitor) is pending."""
        return bool(self.stop_requests) or (self.safety is not None and self.safety.stop_requested)

    def poll(
        self, tick: int, state: JointState, reference: JointReference, tau: np.ndarray
    ) -> None:
        """Once per tick, after the write (module doc)."""
        self.tick, self.t = tick, state.t
        drain(self.lcm, MAX_MESSAGES_PER_TICK)
        for channel, error in self._pending_drops:  # from before this loop's first tick
            self.drop(channel, error)
        self._pending_drops.clear()
        safety = self.safety
        if self._watching and safety is not None and safety.accepting_chunks:
            silent = self.silence()
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

    def silence(self) -> float:
        """Seconds since the heartbeat of the server in use (any server's before one is
        chosen), inf if none came."""
        if self.server is not None:
            seen = self.heartbeats.get(self.server, (None, -math.inf))[1]
        else:
            seen = max((when for _, when in self.heartbeats.values()), default=-math.inf)
        return time.monotonic() - seen

    def wait(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for a message, then take all that are waiting (outside the
        loop: startup, tests)."""
        if handle(self.lcm, timeout_s) > 0:
            drain(self.lcm, MAX_MESSAGES_PER_WAIT)

    def wait_for_policy(self) -> lcmtypes.policy_status_t:
        """The heartbeat of the one policy server alive on the channels, waiting up to
        ``startup_timeout_s`` for it; `PolicyServerError` if none, or several, answer. Only
        heartbeats that arrive after the call count: those queued while this process was busy
        may come from a server that has died since. A pause of this process (a loaded machine)
        is no silence of the server: its next heartbeat is awaited until the deadline."""
        while drain(self.lcm, MAX_MESSAGES_PER_WAIT) == MAX_MESSAGES_PER_WAIT:
            pass
        since = time.monotonic()
        deadline = since + self.config.startup_timeout_s
        while not self._heard(since):
            if time.monotonic() > deadline:
                raise PolicyServerError(
                    f"no policy server on {self.config.url} (channel "
                    f"{self.config.channel('POLICY_STATUS')}) within "
                    f"{self.config.startup_timeout_s:g} s; start one with `robostack "
                    f"policy-server`; nothing moved"
                )
            self.wait(0.05)
        self.wait(1.5 / HEARTBEAT_HZ)  # a second server would have beaten by now
        heard = self._heard(since)
        if len(heard) > 1:
            raise PolicyServerError(
                f"{len(heard)} policy servers answer on {self.config.channel_prefix}_*: stop the "
                f"others, or let `robostack launch` give the session channels of its own; nothing "
                f"moved"
            )
        (server,) = heard
        while not self._fresh(server):
            if time.monotonic() > deadline:
                raise PolicyServerError(
                    "the policy server stopped answering as it was checked; nothing moved"
                )
            self.wait(0.05)
        return self.heartbeats[server][0]

    def use_server(self, server: int) -> None:
        """The episode uses policy server ``server``: its heartbeat feeds the watchdog, and
        chunks from any other are foreign."""
        self.server = server

    def drop(self, channel: str, error: MessageError) -> None:
        """Record that a message on ``channel`` was refused (or not sent) for ``error``."""
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

    def publish(self, channel: str, message, *, to: str | None = None) -> bool:
        """Publish an lcmtypes ``message`` on ``channel`` (a `robostack.transport.config.CHANNELS`
        name; ``to``: the LCM channel, when not this session's own); an observation arms the
        policy watchdog. A failed send is counted and reported (not for SAFETY itself), never
        raised; returns whether it went out."""
        self._watching = self._watching or channel == "OBSERVATION"
        try:
            self.lcm.publish(to or self.config.channel(channel), message.encode())
            return True
        except OSError as error:
            self.send_failures[channel] = self.send_failures.get(channel, 0) + 1
            if channel != "SAFETY":
                self.drop(channel, MessageError("ipc_send_failed", f"sending failed: {error}"))
            return False

    def publish_event(self, event: SafetyEvent) -> None:
        msg = lcmtypes.safety_event_t()
        msg.utime, msg.session, msg.tick = utime(event.t), self.session, event.tick
        msg.check, msg.joint = event.check, event.joint or ""
        msg.value, msg.limit = event.value, event.limit
        msg.reaction, msg.message = event.reaction.name, event.message
        self.publish("SAFETY", msg)

    def _publish_status(self, tick, state: JointState, reference: JointReference, tau) -> None:
        dof = len(state.q)
        unknown = [math.nan] * dof
        msg = lcmtypes.robot_status_t()
        msg.utime, msg.session, msg.tick, msg.num_joints = utime(state.t), self.session, tick, dof
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

    def _heard(self, since: float) -> list[int]:
        """The servers whose last heartbeat came after ``since`` (monotonic s)."""
        return [server for server, (_, when) in self.heartbeats.items() if when > since]

    def _fresh(self, server: int) -> bool:
        """``server``'s last heartbeat came within ``policy_timeout_s``."""
        return time.monotonic() - self.heartbeats[server][1] <= self.config.policy_timeout_s

    def _on_chunk(self, channel: str, data: bytes) -> None:
        self.chunks.append(data)

    def _on_stop(self, channel: str, data: bytes) -> None:
        """An operator stop is obeyed whatever its payload: a message with the stop's
        fingerprint whose texts cannot be read (oversized, cut short) still STOPs the arm, with
        the drop recorded. Every copy taken is acknowledged on the STOP_ACK beside the STOP it
        came on (the session's own, or the shared one a plain `robostack stop` listens to)."""
        fingerprint = lcmtypes.operator_stop_t._get_packed_fingerprint()
        try:
            msg = decode(lcmtypes.operator_stop_t, data, max_bytes=max_bytes("STOP"))
        except MessageError as error:
            self.drop("STOP", error)
            if data[:8] != fingerprint:
                return
            msg = lcmtypes.operator_stop_t()
            msg.utime = int.from_bytes(data[8:16], "big", signed=True) if len(data) >= 16 else 0
            msg.source, msg.reason = "", f"an unreadable operator stop ({error})"
        key = (msg.utime, msg.source, msg.reason)
        if key not in self._stops_seen:  # else another copy of the same stop
            self._stops_seen.add(key)
            reason = f"over LCM from {msg.source or 'unnamed'}: {msg.reason or 'no reason given'}"
            self.stop_requests.append(reason)
            if self.safety is not None:
                self.safety.stop(reason)
        running = self.safety is not None and not self.safety.finished
        ack = ack_message(
            utime=utime(time.time()),
            session=self.session,
            stop_utime=msg.utime,
            stop_source=msg.source,
            process=f"control pid {os.getpid()} on {socket.gethostname()}",
            state="stopping" if running else "idle",
        )
        self.publish("STOP_ACK", ack, to=channel.removesuffix("STOP") + "STOP_ACK")

    def _on_policy_status(self, channel: str, data: bytes) -> None:
        try:
            msg = decode(lcmtypes.policy_status_t, data, max_bytes=max_bytes("POLICY_STATUS"))
        except MessageError as error:
            self.drop("POLICY_STATUS", error)
            return
        self.heartbeats[msg.server] = (msg, time.monotonic())
