"""The policy's process of the split: observations in, chunks out (``robostack policy-server``).

`PolicyServer` serves one checkpoint. A thread of its own publishes its heartbeat
(`policy_status_t`, what it serves and how it is doing) at `HEARTBEAT_HZ`, so a long inference
does not look like a dead process. For every episode of every control session it hears from,
it keeps a `robostack.policies.runner.PolicyRunner`, so it sees and predicts exactly as the policy
does in the loop's own process: each observation joins the episode's history and, every Ta
observations, the chunk for the newest one is published, naming the observation it was
computed from and the server. When it falls behind, it takes every observation that arrived
into the history and answers each episode's newest: a late chunk is better than a queue of
stale ones. A chunk that cannot be sent is counted (``send_failed``), never fatal.

A policy with cameras gets their frames from the observation (`robostack.transport.images`:
raw or JPEG, decoded here), one per camera it announces in its heartbeat.

An observation is dropped (counted per check, reported in `stats`) when it cannot be decoded
or is too large (`robostack.transport.codec`), has the wrong sizes or non-finite numbers, or
lacks a camera's frame, or has one of another size or that does not decode
(``ipc_malformed``), is not newer than the last one of its episode (``ipc_out_of_order``), or
belongs to an episode older than one already served (``ipc_stale``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from robostack.policies.base import Policy
from robostack.policies.features import CameraMismatchError
from robostack.policies.runner import PolicyRunner
from robostack.transport import lcmtypes
from robostack.transport.bus import connect, drain, handle
from robostack.transport.codec import MessageError, decode
from robostack.transport.config import HEARTBEAT_HZ, IpcConfig, max_bytes, new_id, utime
from robostack.transport.images import decode_frame
from robostack.transport.stats import percentiles

EPISODES_KEPT = 4  # runners kept (several control sessions may share a server)
INBOX = 256  # observations waiting; a flood overwrites the oldest
SENTENCES_KEPT = 64  # task sentences whose embeddings are kept


class PolicyServer:
    """Serves ``policy`` over LCM (module doc).

    Args:
        policy: the loaded policy (eval mode).
        checkpoint: where it was loaded from.  robot, tasks: what it was trained on (all three
            are announced in the heartbeat; control processes check them).
        config: the URL and channels.
        options: keyword arguments for ``policy.predict_chunk`` (sampler, steps, guidance).
        delay_s: extra seconds added to every inference, to rehearse a slow policy (>= 0).
        embed: sentence -> (L,) embedding (default: `robostack.policies.language.embed_sentences`).
    """

    def __init__(
        self,
        policy: Policy,
        *,
        checkpoint: Path,
        robot: str,
        tasks: list[str],
        config: IpcConfig,
        options: dict | None = None,
        delay_s: float = 0.0,
        embed: Callable[[str], np.ndarray] | None = None,
    ):
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s}")
        self.policy, self.features, self.checkpoint = policy, policy.features, Path(checkpoint)
        self.config, self.options, self.delay_s = config, options or {}, delay_s
        self.embed = embed or _default_embedding
        self.id = new_id()
        self.lcm = connect(config.url)
        self.inbox: deque[bytes] = deque(maxlen=INBOX)
        self.lcm.subscribe(config.channel("OBSERVATION"), lambda _, data: self.inbox.append(data))
        self.runners: OrderedDict[tuple[int, int], tuple[PolicyRunner, int]] = OrderedDict()
        self.languages: dict[str, np.ndarray] = {}
        self.observations = self.chunks = 0
        self.dropped: dict[str, int] = {}
        self.inference_ms: list[float] = []
        self.robot, self.tasks = robot, sorted(tasks)

    def serve(self, *, should_stop: Callable[[], bool], seconds: float = math.inf) -> dict:
        """Serve until ``should_stop()`` or ``seconds`` have passed; return `stats`."""
        began = time.monotonic()
        done = threading.Event()
        beating = threading.Thread(target=self._beat, args=(done,), name="heartbeat", daemon=True)
        beating.start()
        try:
            while not should_stop() and time.monotonic() - began < seconds:
                handle(self.lcm, 0.05)
                drain(self.lcm, INBOX)  # take everything that is waiting
                self._answer()
        finally:
            done.set()
            beating.join()
        return self.stats()

    def stats(self) -> dict:
        """Observations taken, chunks published, drops per check, inference time (ms)."""
        return {
            "checkpoint": str(self.checkpoint),
            "observations": self.observations,
            "chunks": self.chunks,
            "dropped": dict(self.dropped),
            "inference_ms": percentiles(self.inference_ms),
        }

    # --- in -----------------------------------------------------------------------------

    def _answer(self) -> None:
        """Take the waiting observations; publish the chunks that became due, the newest
        observation of each episode answering."""
        due: dict[PolicyRunner, lcmtypes.observation_t] = {}
        while self.inbox:
            data = self.inbox.popleft()
            try:
                msg = decode(lcmtypes.observation_t, data, max_bytes=max_bytes("OBSERVATION"))
                runner, now_due = self._observe(msg)
            except MessageError as error:
                self._count(error.check)
                continue
            if now_due or runner in due:
                due[runner] = msg
        for runner, msg in due.items():
            self._publish_chunk(runner, msg)

    def _observe(self, msg: lcmtypes.observation_t) -> tuple[PolicyRunner, bool]:
        f = self.features
        if msg.state_dim != f.state_dim or msg.environment_dim > f.environment_dim:
            raise MessageError(
                "ipc_malformed",
                f"an observation with {msg.state_dim} state and {msg.environment_dim} task "
                f"numbers; the policy takes {f.state_dim} and at most {f.environment_dim}",
            )
        state = np.asarray(msg.state, np.float32)
        environment = np.asarray(msg.environment_state, np.float32)
        if not (np.isfinite(state).all() and np.isfinite(environment).all()) or not msg.task:
            raise MessageError("ipc_malformed", "an observation with NaN, Inf or no task")
        if msg.seed < 0 or msg.index < 0:
            raise MessageError("ipc_malformed", f"seed {msg.seed}, index {msg.index}: below 0")
        images = self._images(msg)
        key = (msg.session, msg.episode)
        if key not in self.runners:
            if any(s == msg.session and e > msg.episode for s, e in self.runners):
                raise MessageError("ipc_stale", "an observation of an earlier episode")
            runner = PolicyRunner(
                self.policy, language=self._language(msg.task), seed=msg.seed, options=self.options
            )
            self.runners[key] = (runner, -1)
            if len(self.runners) > EPISODES_KEPT:
                self.runners.popitem(last=False)
        runner, last = self.runners[key]
        if msg.index <= last:
            raise MessageError(
                "ipc_out_of_order",
                f"observation {msg.index} after {last}",
                value=msg.index,
                limit=last,
            )
        self.runners[key] = (runner, msg.index)
        self.observations += 1
        return runner, runner.observe(state, environment, images=images, index=msg.index)

    def _images(self, msg: lcmtypes.observation_t) -> dict[str, np.ndarray] | None:
        """The policy's camera frames in ``msg``, decoded and checked (None for a policy
        without cameras), or `MessageError`."""
        f = self.features
        if not f.cameras:
            return None
        frames = {image.camera: image for image in msg.images}
        if len(frames) != len(msg.images):
            raise MessageError("ipc_malformed", "an observation with a camera's frame twice")
        try:
            f.check_cameras(
                {name: (image.height, image.width) for name, image in frames.items()},
                where="the observation",
            )
        except CameraMismatchError as error:
            raise MessageError("ipc_malformed", str(error)) from None
        return {name: decode_frame(frames[name]) for name, _, _ in f.cameras}

    def _language(self, task: str) -> np.ndarray:
        if task not in self.languages:
            if len(self.languages) >= SENTENCES_KEPT:
                self.languages.clear()
            self.languages[task] = self.embed(task)
        return self.languages[task]

    def _count(self, check: str) -> None:
        self.dropped[check] = self.dropped.get(check, 0) + 1

    # --- out ----------------------------------------------------------------------------

    def _publish_chunk(self, runner: PolicyRunner, obs: lcmtypes.observation_t) -> None:
        actions = runner.predict()
        if self.delay_s:
            time.sleep(self.delay_s)
        inference_ms = runner.inference_s[-1] * 1e3 + self.delay_s * 1e3
        self.inference_ms.append(inference_ms)
        dof = self.features.action_dim - 1
        msg = lcmtypes.trajectory_chunk_t()
        msg.utime, msg.obs_utime, msg.server = utime(time.time()), obs.utime, self.id
        msg.session, msg.episode, msg.index = obs.session, obs.episode, obs.index
        msg.dt = 1.0 / self.features.fps
        msg.num_waypoints, msg.num_joints = actions.shape[0], dof
        msg.joint_position = actions[:, :dof].tolist()
        msg.num_gripper, msg.gripper = actions.shape[0], actions[:, dof].tolist()
        msg.inference_ms = inference_ms
        try:
            self.lcm.publish(self.config.channel("CHUNK"), msg.encode())
            self.chunks += 1
        except OSError:
            self._count("send_failed")

    def _beat(self, done: threading.Event) -> None:
        """Publish the heartbeat every 1 / `HEARTBEAT_HZ` s until ``done`` (a thread, with a
        bus of its own)."""
        bus = connect(self.config.url)
        channel = self.config.channel("POLICY_STATUS")
        while True:
            try:
                bus.publish(channel, self._heartbeat().encode())
            except OSError:
                self._count("send_failed")
            if done.wait(1.0 / HEARTBEAT_HZ):
                return

    def _heartbeat(self) -> lcmtypes.policy_status_t:
        f = self.features
        msg = lcmtypes.policy_status_t()
        msg.utime, msg.server = utime(time.time()), self.id
        msg.checkpoint, msg.policy, msg.robot = str(self.checkpoint), self.policy.name, self.robot
        msg.num_tasks, msg.tasks = len(self.tasks), self.tasks
        msg.state_dim, msg.environment_dim, msg.action_dim = (
            f.state_dim,
            f.environment_dim,
            f.action_dim,
        )
        msg.horizon, msg.executed, msg.fps = f.horizon, f.executed, f.fps
        msg.num_cameras = len(f.cameras)
        msg.cameras = [name for name, _, _ in f.cameras]
        msg.camera_height = [height for _, height, _ in f.cameras]
        msg.camera_width = [width for _, _, width in f.cameras]
        msg.observations, msg.chunks = self.observations, self.chunks
        msg.dropped = sum(self.dropped.values())
        msg.inference_ms = self.inference_ms[-1] if self.inference_ms else math.nan
        return msg


def _default_embedding(task: str) -> np.ndarray:
    from robostack.policies.language import embed_sentences

    return embed_sentences([task])[0]
