"""How the control and policy processes talk: the LCM URL, channel names, limits, watchdogs."""

from __future__ import annotations

import os
from dataclasses import dataclass

from robostack.core.errors import RobostackError
from robostack.transport.images import check_encoding

DEFAULT_URL = "udpm://239.255.76.67:7667?ttl=0"  # LCM's multicast group; ttl=0: this machine
HEARTBEAT_HZ = 10.0  # the policy server's policy_status_t rate

# channel -> (message type name, the most bytes a message on it may have)
CHANNELS = {
    "STATUS": ("robot_status_t", 4096),
    "OBSERVATION": ("observation_t", 1 << 22),  # with its camera frames: four raw 640 x 480
    "CHUNK": ("trajectory_chunk_t", 16384),
    "SAFETY": ("safety_event_t", 4096),
    "STOP": ("operator_stop_t", 2048),  # a stop's texts are cut to fit (`operator_stop`)
    "STOP_ACK": ("operator_stop_ack_t", 2048),  # control processes answer each stop
    "POLICY_STATUS": ("policy_status_t", 8192),
    "SIM_COMMAND": ("joint_command_t", 2048),  # to a simulator bridge (sim.isaacgym)
    "SIM_STATUS": ("robot_status_t", 4096),  # from it, per environment
}


# the watchdogs' largest settings, s: each must fire (inf would turn one off)
LIMITS_S = {"max_chunk_age_s": 10.0, "policy_timeout_s": 10.0, "startup_timeout_s": 3600.0}


@dataclass(frozen=True, kw_only=True)
class IpcConfig:
    """The process split's settings (the launch file's ``[ipc]`` table).

    Attributes:
        url: the LCM URL. The default, udpm with ttl=0, reaches only this machine; for a
            policy on another machine use ``udpm://239.255.76.67:7667?ttl=1`` on a network
            you trust (LCM has no authentication). Tests use their own port.
        prefix: every channel is ``<prefix>_<NAME>`` (`CHANNELS`), or with ``session_tag``
            ``<prefix>_<session_tag>_<NAME>``.
        session_tag: the session's own channels (letters and digits; empty: the shared
            channels). ``robostack launch`` draws one per split session (`new_session_tag`)
            and hands it to both of its processes, so that sessions on one host never hear
            each other; the launch file's ``[ipc] shared = true`` gives none. A control process
            also listens for operator stops on the shared ``<prefix>_STOP`` (`stop_channels`):
            a plain ``robostack stop`` reaches every session under the prefix.
        status_decimation: ticks between robot status messages (10: 100 Hz at 1 kHz).
        max_chunk_age_s: a chunk whose observation is older than this when it arrives is
            stale and dropped, s (a slower policy's chunks are stitched in up to this age).
        policy_timeout_s: HOLD when the policy server's heartbeat has not come for this long,
            s (the watchdog; its heartbeat comes at `HEARTBEAT_HZ`).
        startup_timeout_s: how long the control process waits for the policy server (its
            heartbeat, then the first chunk) before giving up with nothing moved, s.
        image_encoding: how an observation carries a policy's camera frames: "jpeg" (the
            default: one datagram per observation) or "rgb8" (raw, exact, fragmented by LCM
            above about 64 kB) (`robostack.transport.images`).
        jpeg_quality: with "jpeg", the encoder's quality, 1-95.
    """

    url: str = DEFAULT_URL
    prefix: str = "ROBOSTACK"
    session_tag: str = ""
    status_decimation: int = 10
    max_chunk_age_s: float = 0.5
    policy_timeout_s: float = 0.5
    startup_timeout_s: float = 60.0
    image_encoding: str = "jpeg"
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        if not self.prefix.replace("_", "").isalnum():
            raise RobostackError(f"ipc prefix must be letters, digits and _, got {self.prefix!r}")
        if self.session_tag and not self.session_tag.isalnum():
            raise RobostackError(
                f"a session tag must be letters and digits, got {self.session_tag!r}"
            )
        if self.status_decimation < 1:
            raise RobostackError(f"status_decimation must be >= 1, got {self.status_decimation}")
        for name, most in LIMITS_S.items():
            if not 0 < getattr(self, name) <= most:
                raise RobostackError(
                    f"{name} must be in (0, {most:g}] s, got {getattr(self, name)}"
                )
        check_encoding(self.image_encoding, self.jpeg_quality)

    def channel(self, name: str) -> str:
        """The LCM channel of ``name`` (a key of `CHANNELS`)."""
        if name not in CHANNELS:
            raise KeyError(f"unknown channel {name!r}; known: {', '.join(CHANNELS)}")
        return f"{self.channel_prefix}_{name}"

    @property
    def channel_prefix(self) -> str:
        """What every channel of this config starts with: ``<prefix>[_<session_tag>]``."""
        return f"{self.prefix}_{self.session_tag}" if self.session_tag else self.prefix

    def stop_channels(self) -> tuple[str, ...]:
        """Where a control process listens for operator stops: its own STOP channel and, for
        a tagged session, the shared ``<prefix>_STOP`` too."""
        shared = f"{self.prefix}_STOP"
        own = self.channel("STOP")
        return (own,) if own == shared else (own, shared)


def new_session_tag() -> str:
    """A random tag of 8 hex digits (upper case): a session's own channels."""
    return os.urandom(4).hex().upper()


def max_bytes(name: str) -> int:
    """The largest message allowed on channel ``name``, bytes."""
    return CHANNELS[name][1]


def new_id() -> int:
    """A random positive int64: a control session's or a policy server's id."""
    return int.from_bytes(os.urandom(8), "big") >> 1


def utime(t: float) -> int:
    """Seconds -> integer microseconds (the messages' time fields)."""
    return round(t * 1e6)
