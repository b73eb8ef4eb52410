"""The control loop's chunk source when the policy runs in another process.

`RemotePolicySource` publishes an observation at the policy rate (``fps`` from the policy
server's heartbeat, 10 Hz) and turns the chunks the server answers with into the loop's chunks
(`robostack.runtime.policy_source.chunk_from_actions`: led by the position observed at the
observation's time, slowed to the motion limits). A chunk is aligned to the observation it was
computed from, not to its arrival: the interpolator joins it where it is by then, so a late
chunk is stitched in, not jumped to. For a policy with cameras (announced in the heartbeat) each
observation carries their frames, rendered when it is taken (at the policy rate, never at the
control rate) and encoded as the link's config says (`robostack.transport.images`: JPEG by
default); the object state goes only to a policy that takes it.

Before anything moves (the loop's first call) it waits for the chunk of observation 0,
publishing the observation again every `REPEAT_S` (the first copy may have been missed); no
answer within ``startup_timeout_s`` raises `PolicyServerError`; an operator stop meanwhile
ends the wait with no chunk (the loop then STOPs at its first tick, nothing having moved).

A chunk is dropped, with a DROP event through the link, when it is malformed or oversized
(`robostack.transport.codec`), from another session or another server (``ipc_foreign``), for an
earlier episode or older than ``max_chunk_age_s`` (``ipc_stale``), not newer than the last one
taken (``ipc_out_of_order``), for an observation this source never made (``ipc_mismatch``), or
of the wrong shape (``ipc_malformed``). Its numbers are then checked by the safety monitor like
every chunk (finite, within the joint and gripper limits, starting near the reference). A
chunk without gripper widths keeps the gripper as it was observed.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from robostack.core.observations import robot_observation_names
from robostack.core.types import JointState, RobotSpec, TrajectoryChunk
from robostack.policies.features import PolicyFeatures
from robostack.runtime.control_link import ControlLink, PolicyServerError
from robostack.runtime.policy_source import chunk_from_actions, motion_limits
from robostack.transport import lcmtypes
from robostack.transport.codec import MessageError, decode
from robostack.transport.config import max_bytes, utime
from robostack.transport.images import encode_frame
from robostack.transport.stats import percentiles

if TYPE_CHECKING:
    from robostack.runtime.context import EpisodeContext

REPEAT_S = 0.5  # while waiting for the first chunk, publish observation 0 again this often


class RemotePolicySource:
    """Chunk source served by `robostack.sessions.policy_server` over ``link`` (module doc).

    Args:
        link: the control process's link.
        episode: this episode's number in the session (`ControlLink.new_episode`).
        seed: the episode's seed (the server seeds its sampler with it).
        description: the task sentence.
        robot_state: maps a `JointState` to the robot observation (S,).
        environment_state: returns the task's object state now, (n,) m.
        limits: (dq_max, ddq_max, dddq_max), each (dof,): chunks are slowed to them.
        features: the served policy's layout (`features_of` its heartbeat).
        dt: the control period, s: the loop asks every tick, so a chunk takes effect at the
            tick after it arrives.
        images: renders the scene's cameras now, {name: (H, W, 3) uint8} (a policy with
            cameras: called once per observation).
    """

    def __init__(
        self,
        link: ControlLink,
        *,
        episode: int,
        seed: int,
        description: str,
        robot_state: Callable[[JointState], np.ndarray],
        environment_state: Callable[[], np.ndarray],
        limits: tuple[np.ndarray, np.ndarray, np.ndarray],
        features: PolicyFeatures,
        dt: float,
        images: Callable[[], dict[str, np.ndarray]] | None = None,
    ):
        if features.cameras and images is None:
            raise ValueError("a policy with cameras needs their images")
        self.link, self.episode, self.seed, self.description = link, episode, seed, description
        self.images = images
        self.robot_state, self.environment_state = robot_state, environment_state
        self.limits, self.features, self.period = limits, features, dt
        # observations kept to match chunks with: as many as a chunk may be old, and a chunk's
        self.remembered = math.ceil(link.config.max_chunk_age_s * features.fps) + features.executed
        self.next_observation_t: float | None = None
        self.published = 0  # observations published; the next one's index
        self.observed: OrderedDict[int, tuple[JointState, int]] = OrderedDict()  # index ->
        # (the state observed, when the observation was made, ns)
        self.last_index = -1  # the observation of the last chunk taken
        self.latency_ms: list[float] = []  # observation made (its frames rendered, not yet
        # encoded or sent) -> chunk handed to the loop
        self.inference_ms: list[float] = []  # as the server reported it
        self.image_bytes: dict[str, list[int]] = {}  # camera -> each frame's encoded size
        self._last_message: lcmtypes.observation_t | None = None

    def next_chunk(self, state: JointState) -> TrajectoryChunk | None:
        if self.next_observation_t is None or state.t >= self.next_observation_t - 1e-9:
            self.next_observation_t = state.t + 1.0 / self.features.fps
            self._publish(state)
        chunk = self._take(state)
        if chunk is None and self.last_index < 0:
            chunk = self._wait_for_first_chunk(state)
        return chunk

    def stats(self) -> dict:
        """This episode over the link: observations, chunks taken, latency and inference
        time (p50 / p99, ms)."""
        return {
            "observations": self.published,
            "chunks": len(self.latency_ms),
            "latency_ms": percentiles(self.latency_ms),
            "inference_ms": percentiles(self.inference_ms),
        }

    # --- observations out ---------------------------------------------------------------

    def _publish(self, state: JointState) -> None:
        f = self.features
        robot = np.asarray(self.robot_state(state), np.float32)
        environment = np.asarray(self.environment_state() if f.environment_dim else [], np.float32)
        images = self.images() if f.cameras else {}
        taken_ns = time.perf_counter_ns()  # the observation is made: from here on, latency
        msg = lcmtypes.observation_t()
        msg.utime, msg.session = utime(state.t), self.link.session
        msg.episode, msg.seed, msg.index = self.episode, self.seed, self.published
        msg.task = self.description
        msg.state_dim, msg.state = robot.size, robot.tolist()
        msg.environment_dim, msg.environment_state = environment.size, environment.tolist()
        msg.images = self._frames(images, msg.utime)
        msg.num_images = len(msg.images)
        self.link.publish("OBSERVATION", msg)
        seen = JointState(
            t=state.t, q=state.q.copy(), dq=state.dq.copy(), gripper_width=state.gripper_width
        )
        self.observed[self.published] = (seen, taken_ns)
        if len(self.observed) > self.remembered:
            self.observed.popitem(last=False)
        self.published += 1
        self._last_message = msg

    def _frames(self, images: dict[str, np.ndarray], taken_utime: int) -> list[lcmtypes.image_t]:
        """The policy's cameras' ``images``, taken at ``taken_utime``, encoded as the link's
        config says."""
        config, frames = self.link.config, []
        for name, _, _ in self.features.cameras:
            frame = encode_frame(
                name,
                images[name],
                utime=taken_utime,
                encoding=config.image_encoding,
                quality=config.jpeg_quality,
            )
            self.image_bytes.setdefault(name, []).append(frame.size)
            frames.append(frame)
        return frames

    def _wait_for_first_chunk(self, state: JointState) -> TrajectoryChunk | None:
        config = self.link.config
        now = time.monotonic()
        deadline, repeat = now + config.startup_timeout_s, now + REPEAT_S
        while True:
            self.link.wait(0.02)
            chunk = self._take(state)
            if chunk is not None or self.link.stop_requested:
                return chunk
            now = time.monotonic()
            if now > deadline:
                raise PolicyServerError(
                    f"the policy server sent no usable chunk for the first observation within "
                    f"{config.startup_timeout_s:g} s; nothing moved"
                )
            if now > repeat:
                self.link.publish("OBSERVATION", self._last_message)
                repeat = now + REPEAT_S

    # --- chunks in ----------------------------------------------------------------------

    def _take(self, state: JointState) -> TrajectoryChunk | None:
        """The newest usable chunk that arrived since the last call, or None."""
        newest = None
        while self.link.chunks:
            data = self.link.chunks.popleft()
            try:
                msg = decode(lcmtypes.trajectory_chunk_t, data, max_bytes=max_bytes("CHUNK"))
                newest = self._check(msg, state)
                self.last_index = msg.index
            except MessageError as error:
                self.link.drop("CHUNK", error)
        if newest is None:
            return None
        observed, taken_ns = self.observed[newest.index]
        self.latency_ms.append((time.perf_counter_ns() - taken_ns) / 1e6)
        self.inference_ms.append(newest.inference_ms)
        held = observed.gripper_width or 0.0  # none sent: keep it as it was
        gripper = newest.gripper if newest.num_gripper else [held] * newest.num_waypoints
        actions = np.column_stack([np.asarray(newest.joint_position, float), gripper])
        return chunk_from_actions(actions, observed, features=self.features, limits=self.limits)

    def _check(self, msg: lcmtypes.trajectory_chunk_t, state: JointState):
        """``msg`` if this episode can use it now, else `MessageError` (module doc)."""
        if msg.session != self.link.session or msg.server != self.link.server:
            raise MessageError(
                "ipc_foreign",
                f"a chunk from server {msg.server} for session {msg.session}; this is session "
                f"{self.link.session}, served by {self.link.server}",
            )
        if msg.episode != self.episode:
            raise MessageError(
                "ipc_stale" if msg.episode < self.episode else "ipc_mismatch",
                f"a chunk for episode {msg.episode} in episode {self.episode}",
                value=msg.episode,
                limit=self.episode,
            )
        if msg.index <= self.last_index:
            raise MessageError(
                "ipc_out_of_order",
                f"a chunk for observation {msg.index} after one for {self.last_index}",
                value=msg.index,
                limit=self.last_index,
            )
        seen = self.observed.get(msg.index)
        if seen is None or utime(seen[0].t) != msg.obs_utime:
            raise MessageError(
                "ipc_mismatch",
                f"a chunk for observation {msg.index} at {msg.obs_utime} us, which this "
                f"episode did not make",
            )
        age, max_age = state.t - seen[0].t, self.link.config.max_chunk_age_s
        if age > max_age:
            raise MessageError(
                "ipc_stale", f"a chunk {age:.3f} s after its observation", value=age, limit=max_age
            )
        f = self.features
        shape = (msg.num_waypoints, msg.num_joints)
        if shape != (f.horizon, f.action_dim - 1) or msg.num_gripper not in (0, f.horizon):
            raise MessageError(
                "ipc_malformed",
                f"a chunk of {shape[0]} x {shape[1]} positions and {msg.num_gripper} gripper "
                f"widths; the policy makes {f.horizon} x {f.action_dim - 1} and 0 or {f.horizon}",
            )
        if not abs(msg.dt - 1.0 / f.fps) < 1e-9:
            raise MessageError(
                "ipc_malformed",
                f"waypoints {msg.dt} s apart, the policy's are {1.0 / f.fps} s",
                value=msg.dt,
                limit=1.0 / f.fps,
            )
        return msg


def _check_served(
    heartbeat: lcmtypes.policy_status_t, spec: RobotSpec, *, task: str, robot: str
) -> PolicyFeatures:
    """The served policy's layout, from its heartbeat, once it fits ``task`` on ``robot``
    (spec: its `RobotSpec`) (else `PolicyServerError`: nothing has moved)."""
    served = (
        f"the policy server serves {heartbeat.checkpoint} (trained on "
        f"{', '.join(heartbeat.tasks)} with the {heartbeat.robot})"
    )
    if heartbeat.robot != robot or task not in heartbeat.tasks:
        raise PolicyServerError(f"{served}, not {task} on the {robot}; nothing moved")
    try:
        features = PolicyFeatures(
            state_dim=heartbeat.state_dim,
            environment_dim=heartbeat.environment_dim,
            action_dim=heartbeat.action_dim,
            horizon=heartbeat.horizon,
            executed=heartbeat.executed,
            fps=heartbeat.fps,
            cameras=tuple(
                zip(
                    heartbeat.cameras,
                    heartbeat.camera_height,
                    heartbeat.camera_width,
                    strict=True,
                )
            ),
        )
    except ValueError as error:
        raise PolicyServerError(f"{served}, with an unusable layout: {error}") from None
    expected = (len(robot_observation_names(spec.joint_names)), spec.dof + 1)
    if features.fps < 1 or (features.state_dim, features.action_dim) != expected:
        raise PolicyServerError(
            f"{served}: it takes {features.state_dim} state numbers and makes "
            f"{features.action_dim} per waypoint at {features.fps} Hz; this {robot} gives "
            f"{expected[0]} and needs {expected[1]}; nothing moved"
        )
    return features


def remote_source_factory(
    link: ControlLink,
    *,
    seed: int,
    task: str,
    robot: str,
    spec: RobotSpec,
    velocity_scale: float = 1.0,
) -> Callable[[EpisodeContext], RemotePolicySource]:
    """``source`` for `robostack.sessions.episodes.run_episode`: a `RemotePolicySource` for the
    episode. Checks here, and again as the episode starts, that a policy server is up and
    serves ``task`` on ``robot`` (``spec``: its `RobotSpec`) (else `PolicyServerError`):
    build the factory before the start move and nothing moves for a wrong server. A served
    policy whose cameras the scene lacks (or has at another resolution) is refused
    (`CameraMismatchError`) as the episode starts, before the loop. The sources are kept in
    ``sources``."""
    motion_limits(None, velocity_scale)  # a bad scale is refused before any episode
    _check_served(link.wait_for_policy(), spec, task=task, robot=robot)

    def make_source(context: EpisodeContext) -> RemotePolicySource:
        heartbeat = link.wait_for_policy()
        features = _check_served(heartbeat, context.spec, task=task, robot=robot)
        features.check_cameras(context.cameras, where="the scene")
        link.use_server(heartbeat.server)
        source = RemotePolicySource(
            link,
            episode=link.new_episode(),
            seed=seed,
            description=context.description,
            robot_state=context.robot_state,
            environment_state=context.environment_state,
            limits=motion_limits(context.spec, velocity_scale),
            features=features,
            dt=context.spec.dt,
            images=context.images,
        )
        make_source.sources.append(source)
        return source

    make_source.sources = []
    return make_source
