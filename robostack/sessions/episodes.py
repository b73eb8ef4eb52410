"""Task episodes: a task's scene and seeded draw, a chunk source, the loop, success.

An `EpisodeSpec` names the episode (task, robot, seed, slots) and how it runs (controller,
safety, recording, pacing). `run_episode` runs it on a simulated robot with a chunk source (by
default the task's scripted expert; a dataset replay or a policy otherwise) through the same
loop, safety monitor and recorder as every session.

`run_robot_episode` runs it on a robot the stack does not simulate (a real arm, Isaac Gym's
bridge): the task's MuJoCo scene becomes the robot's twin, its targets and walls drawn from the
seed as in simulation, its arm mirroring the measured joint positions, and the task's object
state and success are read from it. That is exact for arm-only tasks
(`robostack.sim.tasks.Task.arm_only`). A task that moves objects runs on a real arm only with
real cameras (`robostack.runtime.cameras.RealCameras`) feeding a policy from pixels: the twin
knows nothing of the objects, so such an episode runs its time limit and is not judged
(`EpisodeResult.judged` False).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robostack.controllers.references import ReferenceChunker, check_reference
from robostack.core.errors import RobostackError
from robostack.core.model import RigidBodyModel
from robostack.core.observations import robot_observation
from robostack.core.paths import DEFAULT_RUNS_DIR
from robostack.core.robot import Robot
from robostack.core.robots import RobotDescription, get_robot
from robostack.core.types import JointState, RobotSpec
from robostack.runtime.assembly import make_loop, record_loop, recording
from robostack.runtime.cameras import CameraViews, RealCameras
from robostack.runtime.context import EpisodeContext
from robostack.runtime.loop import ChunkSource, ControlLoop, Link, LoopResult
from robostack.runtime.recording import SessionRecorder
from robostack.runtime.safety import SafetyConfig
from robostack.runtime.safety.operator import stop_on_signals
from robostack.runtime.safety.overrides import SafetyOverrides
from robostack.runtime.start_move import move_to_start
from robostack.sim import make_simulation
from robostack.sim.cameras import Camera, camera_pose
from robostack.sim.frames import RenderWorker
from robostack.sim.scene import TaskScene
from robostack.sim.tasks import ARM_ONLY_TASKS, Task, make_task

FPS = 10  # frames per second of recorded episodes: the policy rate
SESSION_ENDING = ("operator_stop", "policy_lost")  # no episode may follow these events
SETTLE_S = 0.5  # the expert's reference ends, the arm settles, then success is judged
OPERATOR_STOPPED = "the operator stopped the arm (Ctrl-C or a stop signal)"
START_STREAM = 1  # the seed's random stream for the start (`start_configuration`)


@dataclass(frozen=True)
class EpisodeResult:
    """One episode: what was asked, whether it was achieved, how the loop went.

    Attributes:
        task, robot, seed: the episode's identity.  description: the task sentence.
        choices: the expert's random choices (e.g. which way round the obstacle).
        success: the task's predicate at the end of the episode; with ``until_success``,
            whether the task held for `SETTLE_S` before the time limit.
        time_to_success: with ``until_success`` and success, s from the start to the
            beginning of the success that ended the episode; else None.
        mode: which way the tool went where the task has modes (`Task.mode`), else None.
        tool_path: (T, 3) tool positions at `FPS`, m.
        duration_s: robot time, s.  result: the loop's measurements and safety events.
        run_dir: the recording, or None.
        judged: whether ``success`` was judged (False: an object task on a real arm, whose
            objects nothing here sees; ``success`` is then False).
        frames: with ``frames=True``, per-frame arrays at `FPS`: ``observation.state``
            (T, 2 dof + 4) = `robot_observation`; ``observation.environment_state``
            (T, n) = the task's object state, m; ``action`` (T, dof + 1) = the joint target one
            frame ahead, rad, and the gripper target, m (the width held where the expert sets
            none; 0 without a gripper); ``timestamp`` (T,) s; with cameras, per camera
            ``observation.images.<name>`` (T, H, W, 3) uint8.
    """

    task: str
    robot: str
    seed: int
    description: str
    choices: dict[str, str]
    success: bool
    duration_s: float
    result: LoopResult
    run_dir: Path | None
    frames: dict[str, np.ndarray] | None = None
    time_to_success: float | None = None
    mode: str | None = None
    tool_path: np.ndarray | None = None
    judged: bool = True

    @property
    def ends_session(self) -> bool:
        """The operator stopped the arm, or the policy's process went silent: no further
        episode may start (`SESSION_ENDING`)."""
        return any(e.check in SESSION_ENDING for e in self.result.events)


@dataclass(frozen=True, kw_only=True)
class EpisodeSpec:
    """Which episode to run and how, in simulation or on a robot.

    Attributes:
        task: the task's registry name.  robot: the robot's (`robostack.core.robots`).
        seed: draws the scene (where everything is, the slots not fixed).
        slots: description slots fixed instead of drawn, e.g. {"colour": "blue"}.
        controller: the controller's registry name.  gains: overrides of its default gains.
        safety: `SafetyConfig` fields to set (None: the robot's defaults).
        until_success: the episode ends once the task has held for `SETTLE_S` or at its time
            limit; else it lasts the expert's plan plus `SETTLE_S`.
        record: record the episode into a new run folder under ``runs_dir``.
        realtime: pace the loop at the control rate (a robot that paces itself always is).
        label: leads the run folder's name (a launch file's ``[session] name``).
        start_spread: in simulation, the arm starts at the robot's home plus, per joint, a
            uniform draw in [-start_spread, start_spread] rad (from the seed, apart from the
            scene's draw); 0: at home.
    """

    task: str
    robot: str = "panda"
    seed: int = 0
    slots: Mapping[str, str] | None = None
    controller: str = "computed_torque"
    gains: dict | None = None
    safety: SafetyOverrides | None = None
    until_success: bool = False
    record: bool = False
    runs_dir: Path = DEFAULT_RUNS_DIR
    realtime: bool = False
    label: str = ""
    start_spread: float = 0.0

    @property
    def name(self) -> str:
        """The run folder's name stem."""
        stem = f"{self.task}-{self.robot}-seed{self.seed}"
        return f"{self.label}-{stem}" if self.label else stem


Source = Callable[[EpisodeContext], ChunkSource]


def run_episode(
    spec: EpisodeSpec,
    *,
    source: Source | None = None,
    simulator: str = "mujoco",
    frames: bool = False,
    link: Link | None = None,
    cameras: tuple[Camera, ...] = (),
) -> EpisodeResult:
    """Run ``spec``'s episode on a simulated robot in ``simulator`` (`robostack.sim.SIMULATORS`),
    from the start its seed draws.

    ``source(context)`` replaces the task's scripted expert as the chunk source (replays,
    policies). With ``frames``, the episode is also sampled at `FPS` for a dataset
    (`EpisodeResult.frames`). ``link``: the process link when the chunk source is another
    process (`robostack.transport.ControlLink`). ``cameras``: the scene's cameras
    (`robostack.sim.cameras`), rendered at `FPS` for the chunk source, the frames and the
    recording, never at the control rate. Ctrl-C: see `_run`."""
    task = _task(spec)
    description = get_robot(spec.robot)
    cameras = tuple(cameras)
    with ExitStack() as stack:
        sim = stack.enter_context(
            make_simulation(
                simulator, robot=description, objects=task.scene_objects(), cameras=cameras
            )
        )
        views = _CameraViews(sim, cameras, realtime=spec.realtime) if cameras else None
        if views is not None:
            stack.callback(views.close)
        start = sim.reset(seed=spec.seed, q0=start_configuration(spec, description))
        scene = _Scene(spec, task, sim, start, views=views)
        watch = _Watch(scene)
        if frames:
            watch.sampler = _FrameSampler(scene, sim.spec)
        loop = scene.loop(sim, source, link)
        result, signalled = _run(scene, loop, watch, rec=_recording(stack, spec, loop))
    if signalled:
        raise KeyboardInterrupt(OPERATOR_STOPPED)
    return result


def run_robot_episode(
    spec: EpisodeSpec,
    robot: Robot,
    *,
    source: Source | None = None,
    link: Link | None = None,
    cameras: RealCameras | None = None,
    q_start: np.ndarray | None = None,
) -> EpisodeResult:
    """Run ``spec``'s episode on the connected ``robot`` (a real arm, Isaac Gym's bridge) from
    where it stands, the task's MuJoCo scene its twin (module doc); the robot's motion is ended
    right after the loop (FCI and RTDE want a command every period).
    With ``q_start`` (dof,) rad, the arm first makes the start move there
    (`robostack.runtime.start_move`, with the episode's controller and safety), recorded as the
    recording's ``start_move`` segment before the ``episode`` one; a failed start move raises
    `SessionFailedError` with its recording complete. ``source``, ``link``: as for
    `run_episode`. ``cameras``: the open real cameras the policy sees (and the recording
    holds); a task that moves objects needs them."""
    task = _task(spec)
    if not task.arm_only and cameras is None:
        raise RobostackError(
            f"{spec.task} moves objects: on a real robot the policy must see them through "
            f"cameras, and this session has none; without cameras real sessions run "
            f"{', '.join(ARM_ONLY_TASKS)}"
        )
    description = get_robot(spec.robot)
    with ExitStack() as stack:
        rec = _recording(stack, spec, None, rate_hz=robot.spec.control_rate_hz)
        if q_start is not None:
            move_to_start(
                robot,
                q_start,
                model=RigidBodyModel(description),
                controller=spec.controller,
                safety=spec.safety,
                link=link,
                recorder=rec,
            )
        twin = stack.enter_context(
            make_simulation("mujoco", robot=description, objects=task.scene_objects())
        )
        start = robot.read()
        twin.reset(seed=spec.seed, q0=start.q)
        views = None if cameras is None else cameras.views(twin.tool_pose)
        scene = _Scene(spec, task, twin, start, mirror=True, views=views)
        loop = scene.loop(robot, source, link)
        if rec is not None:
            record_loop(rec, loop, phase="episode" if q_start is not None else None, t=start.t)
        watch = _Watch(scene, judged=task.arm_only)
        result, signalled = _run(scene, loop, watch, end_motion=robot.end_motion, rec=rec)
    if signalled:
        raise KeyboardInterrupt(OPERATOR_STOPPED)
    return result


def start_configuration(spec: EpisodeSpec, description: RobotDescription) -> np.ndarray:
    """(dof,) rad: where ``spec``'s simulated episode starts (`EpisodeSpec.start_spread`)."""
    q_home = description.q_home
    if spec.start_spread == 0.0:
        return q_home
    rng = np.random.default_rng([spec.seed, START_STREAM])
    return q_home + rng.uniform(-spec.start_spread, spec.start_spread, size=q_home.shape)


def _recording(
    stack: ExitStack, spec: EpisodeSpec, loop: ControlLoop | None, *, rate_hz: float | None = None
) -> SessionRecorder | None:
    """The episode's recording of ``loop`` (None: loops attached later, on a robot running at
    ``rate_hz``), open until ``stack`` closes; None unless ``spec.record``."""
    if not spec.record:
        return None
    description = get_robot(spec.robot)
    return stack.enter_context(
        recording(
            loop,
            runs_dir=spec.runs_dir,
            name=spec.name,
            description=description,
            control_rate_hz=rate_hz,
        )
    )


def _task(spec: EpisodeSpec) -> Task:
    task = make_task(spec.task)
    if spec.robot not in task.robots:
        raise RobostackError(
            f"task {spec.task!r} is made for {', '.join(task.robots)}, not {spec.robot}"
        )
    return task


class _Scene:
    """An episode's task drawn in ``sim`` (a robot's twin with ``mirror``: it takes the robot's
    measured state before it is read) and its scripted expert from ``start``."""

    def __init__(
        self,
        spec: EpisodeSpec,
        task: Task,
        sim: TaskScene,
        start: JointState,
        *,
        mirror: bool = False,
        views: _CameraViews | CameraViews | None = None,
    ):
        self.spec, self.task, self.sim, self.start, self.mirror = spec, task, sim, start, mirror
        self.views = views
        self.description = get_robot(spec.robot)
        self.model = RigidBodyModel(self.description)
        self.state = task.reset(sim, sim.rng, spec.slots)
        self.expert = task.expert(self.model, start.q, self.state)
        check_reference(self.expert, self.description)

    def tool_position(self, joint_state: JointState) -> np.ndarray:
        """The tool position at ``joint_state`` (mirrored into a twin first), m."""
        if self.mirror:
            self.sim.mirror(joint_state)
        return self.sim.tool_position()

    def loop(self, arm: Robot, source: Source | None, link: Link | None) -> ControlLoop:
        """The loop driving ``arm`` with the expert's chunks, or those of ``source(context)``."""
        spec = self.spec
        if source is None:
            chunks = ReferenceChunker(self.expert, t_offset=self.start.t)
        else:
            chunks = source(
                EpisodeContext(
                    q_start=self.start.q,
                    t0=self.start.t,
                    description=self.task.description(self.state),
                    robot_state=lambda s: robot_observation(s, self.tool_position(s)),
                    environment_state=lambda: self.task.environment_state(self.sim, self.state),
                    spec=arm.spec,
                    images=self.views,
                    cameras={} if self.views is None else self.views.sizes(),
                )
            )
        overrides = spec.safety
        safety = (
            SafetyConfig.for_robot(arm.spec) if overrides is None else overrides.config(arm.spec)
        )
        return make_loop(
            robot=arm,
            model=self.model,
            source=chunks,
            controller=spec.controller,
            gains=spec.gains,
            realtime=spec.realtime,
            safety_config=safety,
            controller_model=arm.dynamics_model(),
            link=link,
        )


def _run(
    scene: _Scene,
    loop: ControlLoop,
    watch: _Watch,
    *,
    end_motion: Callable[[], None] | None = None,
    rec: SessionRecorder | None = None,
) -> tuple[EpisodeResult, bool]:
    """Run ``loop`` for the episode (``watch`` every 1 / FPS s, ``end_motion`` right after)
    into ``rec``, the session's recording (None: not recorded), and judge it. The first
    Ctrl-C (or SIGTERM, SIGHUP) STOPs the arm through the safety monitor; returns the episode
    and whether that happened (the caller raises KeyboardInterrupt once the recording is
    closed, ending whatever runs the episodes)."""
    spec, task, arm = scene.spec, scene.task, loop.robot.spec
    duration = task.time_limit_s if spec.until_success else scene.expert.duration + SETTLE_S
    ticks = round(min(duration, task.time_limit_s) * arm.control_rate_hz)
    every = max(round(arm.control_rate_hz / FPS), 1)
    description = task.description(scene.state)
    with stop_on_signals(loop.safety) as signalled:
        watch.recorder = rec if scene.views is not None else None
        result = loop.run(ticks=ticks, on_tick=watch, every=every)
        if end_motion is not None:
            end_motion()
    success = result.outcome == "completed" and watch.achieved()
    if rec is not None:
        rec.summary.update(_summary(spec, description, success, result, arm.dt))
        rec.summary["judged"] = watch.judged
    episode = EpisodeResult(
        task=spec.task,
        robot=spec.robot,
        seed=spec.seed,
        description=description,
        choices=dict(scene.state.choices),
        success=success,
        duration_s=result.duration,
        result=result,
        run_dir=None if rec is None else rec.run_dir,
        frames=None if watch.sampler is None else watch.sampler.arrays(),
        time_to_success=watch.success_since if spec.until_success and success else None,
        mode=task.mode(watch.tool_path()),
        tool_path=watch.tool_path(),
        judged=watch.judged,
    )
    return episode, signalled.asked


class _Watch:
    """Called every 1 / FPS s: tool path, dataset frames, and with ``until_success`` the end
    on sustained success. A twin first takes the robot's measured state. Not ``judged`` (a
    twin that cannot see the task's objects): never a success, the episode runs its time
    limit."""

    def __init__(self, scene: _Scene, *, judged: bool = True):
        self.scene, self.judged = scene, judged
        self.until_success = scene.spec.until_success and judged
        self.task, self.sim, self.state = scene.task, scene.sim, scene.state
        self.sampler: _FrameSampler | None = None
        self.recorder = None  # with cameras and a recording: frames into it at FPS
        self.success_since: float | None = None
        self.held = False
        self._path: list[np.ndarray] = []

    def __call__(self, tick, joint_state, reference) -> bool:
        self._path.append(self.scene.tool_position(joint_state))
        if self.sampler is not None:
            self.sampler(tick, joint_state, reference)
        if self.recorder is not None:
            self._record_frames(tick, joint_state.t)
        if not self.until_success:
            return False
        t = joint_state.t - self.scene.start.t
        if not self.task.success(self.sim, self.state):
            self.success_since = None
            return False
        if self.success_since is None:
            self.success_since = t
        self.held = t - self.success_since >= SETTLE_S - 1e-9
        return self.held

    def _record_frames(self, tick: int, t: float) -> None:
        """The cameras' frames into the recording: rendered now in lockstep (and where the
        simulation takes no snapshots) and from real cameras (their newest frames); in real
        time requested from the render process now and recorded once rendered (a later call)."""
        views = self.scene.views
        if not (self.scene.spec.realtime and isinstance(views, _CameraViews) and views.snapshots):
            self.recorder.record_frames(tick, t, views.with_poses())
            return
        views.request()
        dt = self.scene.sim.spec.dt
        for seen_t, frames in views.rendered():
            self.recorder.record_frames(tick - round((t - seen_t) / dt), seen_t, frames)

    def achieved(self) -> bool:
        """Success: with ``until_success``, the task held for `SETTLE_S`; else the task's
        predicate at the end; never without ``judged``."""
        if not self.judged:
            return False
        return self.held if self.until_success else self.task.success(self.sim, self.state)

    def tool_path(self) -> np.ndarray:
        return np.asarray(self._path, dtype=float).reshape(-1, 3)


class _CameraViews:
    """Every camera of ``sim`` (a `robostack.sim.frames.FrameSource`): rendered now at most once
    per simulation instant (the policy, the dataset frames and the recording share a render),
    or, in real time, from a snapshot by a render process (`request`; once per instant too), so
    that no control tick waits for a render. ``realtime``: start the render process now (its
    GL contexts before the loop). `close` ends it."""

    def __init__(self, sim, cameras: tuple[Camera, ...], *, realtime: bool = False):
        self.sim, self.cameras = sim, cameras
        self._t: float | None = None
        self._images: dict[str, np.ndarray] = {}
        self._worker = RenderWorker(sim) if realtime and self.snapshots else None
        self._requested: tuple[float, Future] | None = None
        self._unrecorded: list[tuple[float, dict, Future]] = []  # t, poses, frames to come

    @property
    def snapshots(self) -> bool:
        """Whether `request` is offered: the simulation renders snapshots (MuJoCo)."""
        return hasattr(self.sim, "snapshot")

    def sizes(self) -> dict[str, tuple[int, int]]:
        """{name: (height, width)} of every camera."""
        return {c.name: (c.height, c.width) for c in self.cameras}

    def __call__(self) -> dict[str, np.ndarray]:
        """{name: (H, W, 3) uint8} now."""
        t = self.sim.read().t
        if t != self._t:
            self._t, self._images = t, {c.name: self.sim.render(c.name) for c in self.cameras}
        return self._images

    def request(self) -> Future:
        """{name: (H, W, 3) uint8} now, to come from the render process: the caller (a control
        tick) only copies the simulation's state (microseconds) and each camera's pose. Callers
        within half a policy period of the last request (the policy and the recording, a tick
        or two apart) share its frames."""
        t = self.sim.read().t
        if self._requested is None or abs(t - self._requested[0]) >= 0.5 / FPS:
            if self._worker is None:
                self._worker = RenderWorker(self.sim)
            future = self._worker.submit(self.sim.snapshot())
            poses = {c.name: (c.intrinsics(), camera_pose(self.sim, c)) for c in self.cameras}
            self._requested = (t, future)
            self._unrecorded.append((t, poses, future))
        return self._requested[1]

    def rendered(self) -> list[tuple[float, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]]:
        """The requested frames rendered since the last call, in order, for the recording:
        [(t, {name: (image, K (3, 3), pose (4, 4) in the base frame)})]."""
        done = []
        while self._unrecorded and self._unrecorded[0][2].done():
            t, poses, future = self._unrecorded.pop(0)
            done.append((t, {n: (image, *poses[n]) for n, image in future.result().items()}))
        return done

    def with_poses(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """{name: (image, K (3, 3), pose (4, 4) in the base frame)} now (for the recording)."""
        images = self()
        return {
            c.name: (images[c.name], c.intrinsics(), camera_pose(self.sim, c)) for c in self.cameras
        }

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


class _FrameSampler:
    """Collects one dataset frame per call (the loop calls it every 1 / FPS s)."""

    def __init__(self, scene: _Scene, spec: RobotSpec):
        self.task, self.sim, self.state = scene.task, scene.sim, scene.state
        self.expert, self.t0 = scene.expert, scene.start.t
        self.max_width = spec.gripper_width_max
        keys = ("observation.state", "observation.environment_state", "action", "timestamp")
        self.rows: dict[str, list] = {k: [] for k in keys}
        self.views = scene.views
        self.frames: dict[str, list] = {}

    def __call__(self, tick, joint_state, reference) -> None:
        t = joint_state.t - self.t0
        ahead = np.array([t + 1.0 / FPS])
        grippers = self.expert.grippers(ahead)
        # an expert that sets no gripper width leaves the gripper where it is: that is its target
        # (a valid command: the measured width may pass the fully open one by a few nm)
        held = float(np.clip(joint_state.gripper_width or 0.0, 0.0, self.max_width))
        target_width = held if grippers is None else grippers[0]
        self.rows["observation.state"].append(
            robot_observation(joint_state, self.sim.tool_position())
        )
        self.rows["observation.environment_state"].append(
            self.task.environment_state(self.sim, self.state)
        )
        self.rows["action"].append(
            np.concatenate([self.expert.positions(ahead)[0], [target_width]])
        )
        self.rows["timestamp"].append(t)
        if self.views is not None:
            for name, image in self.views().items():
                self.frames.setdefault(f"observation.images.{name}", []).append(image)

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = {k: np.asarray(v, dtype=np.float32) for k, v in self.rows.items()}
        return arrays | {k: np.stack(v) for k, v in self.frames.items()}


def _summary(
    spec: EpisodeSpec, description: str, success: bool, result: LoopResult, dt: float
) -> dict:
    return {
        "task": spec.task,
        "robot": spec.robot,
        "seed": spec.seed,
        "description": description,
        "success": success,
        "outcome": result.outcome,
        "ticks": result.ticks,
        "events": [e.to_dict() for e in result.events],
        "rms_error_rad": np.asarray(result.error_rms).tolist(),
        "timing": result.timing(dt),
    }
