"""The LCM message types: round trips, the generated classes, checked decoding."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from robostack.transport import lcmtypes
from robostack.transport.codec import MAX_DIMENSION, MessageError, decode
from robostack.transport.config import CHANNELS, max_bytes
from robostack.transport.generate import LCMTYPES, generate
from robostack.transport.images import encode_frame
from tests.transport.helpers import chunk_message, observation_message


def _filled() -> dict:
    status = lcmtypes.robot_status_t()
    status.utime, status.session, status.tick, status.num_joints = 1_500_000, 42, 1500, 2
    status.joint_position, status.joint_velocity = [0.1, -0.2], [0.0, 0.3]
    status.joint_position_reference, status.joint_torque_commanded = [0.1, -0.19], [1.0, 2.0]
    status.joint_torque_measured, status.joint_torque_external = [math.nan] * 2, [0.5, 0.4]
    status.gripper_width, status.command_mode, status.safety_state = 0.04, "torque", "running"
    event = lcmtypes.safety_event_t()
    event.utime, event.session, event.tick, event.check = 2, 42, 3, "torque_limit"
    event.joint, event.value, event.limit = "panda_joint1", 90.0, 87.0
    event.reaction, event.message = "CLAMP", "command limited"
    stop = lcmtypes.operator_stop_t()
    stop.utime, stop.source, stop.reason = 5, "robostack stop on lab-pc", "the cube fell"
    heartbeat = lcmtypes.policy_status_t()
    heartbeat.checkpoint, heartbeat.policy, heartbeat.robot = (
        "assets/checkpoints/reach",
        "dit",
        "panda",
    )
    heartbeat.num_tasks, heartbeat.tasks = 2, ["reach", "push"]
    heartbeat.state_dim, heartbeat.environment_dim, heartbeat.action_dim = 18, 6, 8
    heartbeat.horizon, heartbeat.executed, heartbeat.fps, heartbeat.inference_ms = 16, 8, 10, 14.5
    heartbeat.num_cameras, heartbeat.cameras = 2, ["front", "wrist"]
    heartbeat.camera_height, heartbeat.camera_width = [96, 64], [96, 80]
    return {
        "robot_status_t": status,
        "observation_t": observation_message(index=3, images=_frames()),
        "trajectory_chunk_t": chunk_message(session=42, index=8, obs_utime=800_000),
        "safety_event_t": event,
        "operator_stop_t": stop,
        "policy_status_t": heartbeat,
    }


def _frames() -> tuple:
    """A JPEG and a raw frame of noise (what compresses worst)."""
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)
    return (
        encode_frame("front", noise, utime=300_000, encoding="jpeg", quality=80),
        encode_frame("wrist", noise[:32], utime=300_000, encoding="rgb8"),
    )


def _same(a, b) -> bool:
    if isinstance(a, lcmtypes.image_t):
        return all(_same(getattr(a, f), getattr(b, f)) for f in type(a).__slots__)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == pytest.approx(b, rel=1e-6) if isinstance(a, float) else a == b


@pytest.mark.parametrize("name", sorted(_filled()))
def test_every_message_round_trips_through_checked_decoding(name):
    msg = _filled()[name]
    channel = next(c for c, (type_name, _) in CHANNELS.items() if type_name == name)
    back = decode(type(msg), msg.encode(), max_bytes=max_bytes(channel))
    for field in type(msg).__slots__:
        assert _same(getattr(msg, field), getattr(back, field)), field


def test_the_committed_classes_are_what_lcm_gen_writes(tmp_path):
    written = generate(tmp_path)
    assert {p.name for p in written} == {p.name for p in LCMTYPES.glob("*.py")}
    for path in written:
        assert path.read_text() == (LCMTYPES / path.name).read_text(), (
            f"{path.name} is stale: run python -m robostack.transport.generate"
        )


def _patched(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack(">i", value) + data[offset + 4 :]


def _refusals():
    obs = observation_message().encode()
    raw = encode_frame("front", np.zeros((1, 1, 3), np.uint8), utime=0, encoding="rgb8")
    with_image = observation_message(images=(raw,)).encode()  # ends: size (4), data (3)
    # observation_t: fingerprint 8, utime 8, session 8, episode 4, seed 4, index 4, task (4 + n)
    task_end = 8 + 8 + 8 + 4 + 4 + 4 + 4 + len("reach the red marker") + 1
    return {
        "oversized": (obs + bytes(max_bytes("OBSERVATION")), "ipc_oversized", "at most"),
        "another type": (chunk_message(session=1).encode(), "ipc_malformed", "fingerprint"),
        "truncated": (obs[:-3], "ipc_malformed", "truncated"),
        "trailing bytes": (obs + b"\0\0", "ipc_malformed", "past the end"),
        "huge dimension": (_patched(obs, task_end, 2**31 - 1), "ipc_malformed", r"allowed \[0"),
        "negative dimension": (_patched(obs, task_end, -5), "ipc_malformed", r"allowed \[0"),
        "claims more than it has": (
            _patched(obs, task_end, MAX_DIMENSION),
            "ipc_malformed",
            "truncated",
        ),
        "garbage": (b"\x01\x02\x03", "ipc_malformed", "fingerprint"),
        # its last four bytes: num_images = 0
        "too many images": (
            _patched(obs, len(obs) - 4, MAX_DIMENSION + 1),
            "ipc_malformed",
            "num_images",
        ),
        "an image claims more bytes than it has": (
            _patched(with_image, len(with_image) - 3 - 4, 4),
            "ipc_malformed",
            "truncated",
        ),
        "an image claims more than the message": (
            _patched(with_image, len(with_image) - 3 - 4, 2**31 - 1),
            "ipc_malformed",
            "truncated",
        ),
        "an image's bytes past the end": (with_image + b"\0", "ipc_malformed", "past the end"),
    }


@pytest.mark.parametrize("case", sorted(_refusals()))
def test_unusable_messages_are_refused_naming_the_problem(case):
    data, check, words = _refusals()[case]
    with pytest.raises(MessageError, match=words) as refused:
        decode(lcmtypes.observation_t, data, max_bytes=max_bytes("OBSERVATION"))
    assert refused.value.check == check
