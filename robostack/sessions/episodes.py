"""Task episodes: a task's scene and seeded draw, a chunk source, the loop, success.

`run_episode` runs one episode of a task on a simulated robot with a chunk source (by default
the task's scripted expert; a dataset replay or a policy otherwise) through the same loop,
safety monitor and recorder as every session.

On a real robot (``hardware``) the task's MuJoCo scene becomes the robot's twin: its targets
and walls are drawn from the seed as in simulation, the twin's arm mirrors the measured joint
positions, and the task's object state and success are read from it. That is exact for
arm-only tasks (`robostack.sim.tasks.Task.arm_only`), the only ones a real session runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robostack.controllers.references import ReferenceChunker, check_reference
from robostack.core.errors import RobostackError
from robostack.core.model import RigidBodyModel
from robostack.core.observations import robot_observation
from robostack.core.paths import DEFAULT_RUNS_DIR
from robostack.core.robot import Robot
from robostack.core.robots import get_robot
from robostack.core.types import JointState, RobotSpec
from robostack.runtime.assembly import make_loop, recording
from robostack.runtime.context import EpisodeContext
from robostack.runtime.loop import ChunkSource, Link, LoopResult
from robostack.runtime.safety import SafetyConfig
from robostack.runtime.safety.operator import stop_on_signals
from robostack.sim import make_simulation
from robostack.sim.cameras import Camera, camera_pose
from robostack.sim.scene import TaskScene
from robostack.sim.tasks import ARM_ONLY_TASKS, make_task

FPS = 10  # frames per second of recorded episodes: the policy rate
SESSION_ENDING = ("operator_stop", "policy_lost")  # no episode may follow these events
SETTLE_S = 0.5  # the expert's reference ends, the arm settles, then success is judged


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

    @property
    def ends_session(self) -> bool:
        """The operator stopped the arm, or the policy's process went silent: no further
        episode may start (`SESSION_ENDING`)."""
        return any(e.check in SESSION_ENDING for e in self.result.events)


def run_episode(
    task_name: str,
    *,
    robot: str = "panda",
    seed: int = 0,
    controller: str = "computed_torque",
    record: bool = False,
    runs_dir: Path = DEFAULT_RUNS_DIR,
    frames: bool = False,
    source: Callable[[EpisodeContext], ChunkSource] | None = None,
    until_success: bool = False,
    slots: Mapping[str, str] | None = None,
    gains: dict | None = None,
    safety: Mapping[str, object] | None = None,
    hardware: Robot | None = None,
    realtime: bool = False,
    link: Link | None = None,
    simulator: str = "mujoco",
    cameras: tuple[Camera, ...] = (),
) -> EpisodeResult:
    """Run one lockstep episode of ``task_name`` with its scripted expert.

    ``slots`` fixes description slots (e.g. the cube's colour) instead of drawing them; ``gains``
    overrides the controller's default gains; ``safety`` overrides `SafetyConfig` fields.
    ``hardware``: a connected real robot to run on, from where it stands (module doc).
    ``realtime``: pace a simulation at its control rate (a real robot paces itself).
    ``link``: the process link when the chunk source is another process
    (`robostack.transport.ControlLink`). ``simulator``: where the scene runs
    (`robostack.sim.SIMULATORS`; a real robot's twin is always MuJoCo's). ``cameras``: the
    scene's cameras (`robostack.sim.cameras`), rendered at `FPS` for the chunk source and the
    frames, never at the control rate; simulation only. The first Ctrl-C (or
    SIGTERM, SIGHUP) STOPs the arm through the safety monitor; once the recording is closed,
    KeyboardInterrupt ends whatever runs the episodes.

    With ``frames``, the episode is also sampled at `FPS` for a dataset (`EpisodeResult`).
    ``source(context)`` replaces the expert as the chunk source (replays, policies); the
    episode then lasts as long as the expert's plan (plus `SETTLE_S`) or, with
    ``until_success``, until the task has been achieved for `SETTLE_S` or the time limit."""
    task = make_task(task_name)
    description = get_robot(robot)
    if robot not in task.robots:
        raise RobostackError(
            f"task {task_name!r} is made for {', '.join(task.robots)}, not {robot}"
        )
    if hardware is not None and not task.arm_only:
        raise RobostackError(
            f"{task_name} moves objects: on a real robot it needs their state from perception, "
            f"which robostack does not have; real sessions run {', '.join(ARM_ONLY_TASKS)}"
        )
    if hardware is not None and cameras:
        raise RobostackError("cameras are simulated: a real robot's session takes none")
    simulation = "mujoco" if hardware is not None else simulator  # a twin mirrors in MuJoCo
    sim = make_simulation(
        simulation, robot=description, objects=task.scene_objects(), cameras=tuple(cameras)
    )
    model = RigidBodyModel(description)
    with sim:
        views = _CameraViews(sim, cameras) if cameras else None
        if hardware is None:
            start = sim.reset(seed=seed)
        else:
            start = hardware.read()
            sim.reset(seed=seed, q0=start.q)
        arm = sim if hardware is None else hardware
        state = task.reset(sim, sim.rng, slots)
        expert = task.expert(model, start.q, state)
        check_reference(expert, description)
        if source is None:
            chunks = ReferenceChunker(expert, t_offset=start.t)
        else:
            context = EpisodeContext(
                q_start=start.q,
                t0=start.t,
                description=task.description(state),
                robot_state=lambda joint_state: robot_observation(
                    joint_state, _tool_position(sim, joint_state, hardware)
                ),
                environment_state=lambda: task.environment_state(sim, state),
                spec=arm.spec,
                images=views,
                cameras={c.name: (c.height, c.width) for c in cameras},
            )
            chunks = source(context)
        loop = make_loop(
            robot=arm,
            model=model,
            source=chunks,
            controller=controller,
            gains=gains,
            realtime=realtime,
            safety_config=SafetyConfig.for_robot(arm.spec, **(safety or {})),
            controller_model=arm.dynamics_model(),
            link=link,
        )
        duration = task.time_limit_s if until_success else expert.duration + SETTLE_S
        ticks = round(min(duration, task.time_limit_s) * arm.spec.control_rate_hz)
        name = f"{task_name}-{robot}-seed{seed}"
        watch = _Watch(task, sim, state, start.t, until_success, mirror=hardware is not None)
        if frames:
            watch.sampler = _FrameSampler(task, sim, state, expert, start.t, arm.spec)
            watch.sampler.images = views
        every = max(round(arm.spec.control_rate_hz / FPS), 1)
        run = {"ticks": ticks, "on_tick": watch, "every": every}

        def run_loop() -> LoopResult:
            result = loop.run(**run)
            if hardware is not None:  # at once: FCI and RTDE want a command every period
                hardware.end_motion()
            return result

        if record:
            with (
                recording(loop, runs_dir=runs_dir, name=name, description=description) as rec,
                stop_on_signals(loop.safety) as signalled,
            ):
                watch.recorder, watch.views = (rec, views) if views else (None, None)
                result = run_loop()
                success = result.outcome == "completed" and watch.achieved()
                rec.summary = _summary(
                    task_name, robot, seed, task.description(state), success, result, arm.spec.dt
                )
            run_dir = rec.run_dir
        else:
            with stop_on_signals(loop.safety) as signalled:
                result = run_loop()
            success = result.outcome == "completed" and watch.achieved()
            run_dir = None
    if signalled.asked:
        raise KeyboardInterrupt("the operator stopped the arm (Ctrl-C or a stop signal)")
    return EpisodeResult(
        task=task_name,
        robot=robot,
        seed=seed,
        description=task.description(state),
        choices=dict(state.choices),
        success=success,
        duration_s=result.duration,
        result=result,
        run_dir=run_dir,
        frames=None if watch.sampler is None else watch.sampler.arrays(),
        time_to_success=watch.success_since if until_success and success else None,
        mode=task.mode(watch.tool_path()),
        tool_path=watch.tool_path(),
    )


class _CameraViews:
    """Every camera of ``sim``, rendered at most once per simulation instant (the policy, the
    dataset frames and the recording share a render)."""

    def __init__(self, sim, cameras: tuple[Camera, ...]):
        self.sim, self.cameras = sim, cameras
        self._t: float | None = None
        self._images: dict[str, np.ndarray] = {}

    def __call__(self) -> dict[str, np.ndarray]:
        """{name: (H, W, 3) uint8} now."""
        t = self.sim.read().t
        if t != self._t:
            self._t, self._images = t, {c.name: self.sim.render(c.name) for c in self.cameras}
        return self._images

    def with_poses(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """{name: (image, K (3, 3), pose (4, 4) in the base frame)} now (for the recording)."""
        images = self()
        return {
            c.name: (images[c.name], c.intrinsics(), camera_pose(self.sim, c)) for c in self.cameras
        }


def _tool_position(sim: TaskScene, state: JointState, hardware: Robot | None) -> np.ndarray:
    """The tool position at ``state``: the simulation's, or the real robot's via its twin."""
    if hardware is not None:
        sim.mirror(state)
    return sim.tool_position()


class _Watch:
    """Called every 1 / FPS s: tool path, dataset frames, and the end on sustained success.
    With ``mirror``, the twin ``sim`` first takes the real robot's measured state."""

    def __init__(
        self, task, sim: TaskScene, state, t0: float, until_success: bool, mirror: bool = False
    ):
        self.task, self.sim, self.state, self.t0 = task, sim, state, t0
        self.until_success, self.mirror = until_success, mirror
        self.sampler: _FrameSampler | None = None
        self.recorder = None  # with cameras and a recording: frames into it at FPS
        self.views: _CameraViews | None = None
        self.success_since: float | None = None
        self.held = False
        self._path: list[np.ndarray] = []

    def __call__(self, tick, joint_state, reference) -> bool:
        if self.mirror:
            self.sim.mirror(joint_state)
        self._path.append(self.sim.tool_position())
        if self.sampler is not None:
            self.sampler(tick, joint_state, reference)
        if self.recorder is not None:
            self.recorder.record_frames(tick, joint_state.t, self.views.with_poses())
        if not self.until_success:
            return False
        t = joint_state.t - self.t0
        if not self.task.success(self.sim, self.state):
            self.success_since = None
            return False
        if self.success_since is None:
            self.success_since = t
        self.held = t - self.success_since >= SETTLE_S - 1e-9
        return self.held

    def achieved(self) -> bool:
        """Success: with ``until_success``, the task held for `SETTLE_S`; else the task's
        predicate at the end."""
        return self.held if self.until_success else self.task.success(self.sim, self.state)

    def tool_path(self) -> np.ndarray:
        return np.asarray(self._path, dtype=float).reshape(-1, 3)


class _FrameSampler:
    """Collects one dataset frame per call (the loop calls it every 1 / FPS s)."""

    def __init__(self, task, sim: TaskScene, state, expert, t0: float, spec: RobotSpec):
        self.task, self.sim, self.state, self.expert, self.t0 = task, sim, state, expert, t0
        self.max_width = spec.gripper_width_max
        keys = ("observation.state", "observation.environment_state", "action", "timestamp")
        self.rows: dict[str, list] = {k: [] for k in keys}
        self.images: _CameraViews | None = None
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
        if self.images is not None:
            for name, image in self.images().items():
                self.frames.setdefault(f"observation.images.{name}", []).append(image)

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = {k: np.asarray(v, dtype=np.float32) for k, v in self.rows.items()}
        return arrays | {k: np.stack(v) for k, v in self.frames.items()}


def _summary(task, robot, seed, description, success, result: LoopResult, dt: float) -> dict:
    return {
        "task": task,
        "robot": robot,
        "seed": seed,
        "description": description,
        "success": success,
        "outcome": result.outcome,
        "ticks": result.ticks,
        "events": [e.to_dict() for e in result.events],
        "rms_error_rad": np.asarray(result.error_rms).tolist(),
        "timing": result.timing(dt),
    }
