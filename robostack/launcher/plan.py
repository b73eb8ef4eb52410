"""`make_plan`: a goal sentence and a launch file -> a `LaunchPlan`, every check done before
anything moves. `write_plan` / `read_plan`: the plan as a JSON file, for another process
(`robostack control`), read back with the same checks but the goal's reading.

Checks, each refused with a `RobostackError` naming the problem: the goal
(`robostack.launcher.goals`), the task on this robot, the checkpoint (it exists, loads, and was
trained on this task and robot), the controller gains (known keys, one value per joint), and
for a real robot the address (given on the command line, agreeing with the file) and the
cameras: a checkpoint trained from cameras needs each of them (name, resolution) in the launch
file's ``[cameras]`` (`robostack.policies.features.CameraMismatchError` otherwise), and a task
that moves objects (not `robostack.sim.tasks.Task.arm_only`) runs on a real robot only with such
a checkpoint, one that reads no object state.
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from robostack.controllers.gains import DEFAULT_GAINS, MAX_GAIN_FACTOR
from robostack.core.errors import RobostackError
from robostack.core.paths import CHECKPOINTS
from robostack.core.robots import get_robot
from robostack.launcher.goals import GoalInterpreter, Interpretation, check_wording
from robostack.launcher.launch_file import (
    FROM_GOAL,
    LaunchFile,
    LaunchFileError,
    launch_from_tables,
)
from robostack.runtime.safety.overrides import SafetyOverrides
from robostack.sessions.episodes import EpisodeSpec
from robostack.sim.tasks import ARM_ONLY_TASKS, TASKS, make_task

# a shipped checkpoint trained from cameras: assets/checkpoints/<task>_pixels
PIXELS_SUFFIX = "_pixels"


@dataclass(frozen=True)
class LaunchPlan:
    """Everything a launch will do.

    Attributes:
        launch: the validated launch file.  interpretation: what the goal was read as.
        task, slots: the task and its fixed slots.  checkpoint: the policy folder.
        episodes, seed: episodes to run, the first one's seed.
        velocity_scale: share of the velocity limit chunks are slowed to.
        safety: the `SafetyConfig` fields the launch sets (velocity share, tracking,
            collision, watchdog).
        address: the real robot's address, or None in simulation.
        split: the policy runs in its own process, over LCM (`robostack.transport`); the session
            then runs in real time.
    """

    launch: LaunchFile
    interpretation: Interpretation
    task: str
    slots: dict[str, str]
    checkpoint: Path
    episodes: int
    seed: int
    velocity_scale: float
    safety: SafetyOverrides
    address: str | None = None
    split: bool = False

    @property
    def simulator(self) -> str:
        """Where the plan's simulated episodes run: the launch file's backend, or MuJoCo for a
        robot outside the stack's simulators (its twin)."""
        return "mujoco" if self.launch.robot.twin else self.launch.robot.backend

    def episode(self, i: int) -> EpisodeSpec:
        """The plan's episode ``i``: its seed, task, slots, controller, safety, recording."""
        launch = self.launch
        return EpisodeSpec(
            task=self.task,
            robot=launch.robot.name,
            seed=self.seed + i,
            slots=self.slots,
            controller=launch.controller.name,
            gains=launch.controller.gains or None,
            safety=self.safety,
            until_success=True,
            record=launch.recording.enabled and i < launch.recording.episodes,
            runs_dir=Path(launch.recording.runs_dir),
            realtime=self.split,
            label=launch.session.name,
        )

    def to_dict(self) -> dict:
        """The plan as JSON values: what it does at a glance, and under ``launch`` the launch
        file's validated tables; `from_dict` reads it back."""
        launch = self.launch
        return {
            "launch_file": str(launch.path),
            "interpretation": self.interpretation.to_dict(),
            "task": self.task,
            "slots": self.slots,
            "robot": launch.robot.name,
            "backend": launch.robot.backend,
            "real_robot": launch.robot.real,
            "address": self.address,
            "checkpoint": str(self.checkpoint),
            "sampler": {
                "sampler": launch.policy.sampler,
                "steps": launch.policy.sampling_steps,
                "guidance_scale": launch.policy.guidance_scale,
            },
            "controller": launch.controller.name,
            "gains": launch.controller.gains,
            "safety_profile": launch.safety.profile,
            "velocity_scale": self.velocity_scale,
            "safety": self.safety.to_dict(),
            "episodes": self.episodes,
            "seed": self.seed,
            "split": self.split,
            "recording": {
                "enabled": launch.recording.enabled,
                "runs_dir": launch.recording.runs_dir,
                "episodes": launch.recording.episodes,
            },
            "launch": launch.tables(),
        }

    @classmethod
    def from_dict(cls, data: object, *, source: str = "the plan") -> LaunchPlan:
        """The plan ``data`` (`to_dict`'s form) holds, checked as `make_plan` checks one, the
        goal's reading taken as written (the sentence is not read again). Every other value
        must be the one the launch tables, the reading and the episodes, address, velocity
        scale and split give. `RobostackError`, naming ``source``, for anything missing,
        mistyped or disagreeing."""
        if not isinstance(data, dict):
            raise RobostackError(f"{source}: not a plan (a JSON object), got {type(data).__name__}")
        try:
            _check_types(data, PLAN_TYPES)
            reading = data["interpretation"]
            _check_types(reading, READING_TYPES, "interpretation ")
            _check_types(reading["scores"], dict.fromkeys(reading["scores"], float), "score ")
            launch = launch_from_tables(Path(data["launch_file"]), data["launch"])
            plan = _checked(
                launch,
                Interpretation(**{key: reading[key] for key in READING_TYPES}),
                episodes=data["episodes"],
                address=data["address"],
                velocity_scale=data["velocity_scale"],
                split=data["split"],
            )
        except KeyError as missing:
            raise RobostackError(f"{source}: no {missing.args[0]!r}") from None
        except RobostackError as error:
            raise RobostackError(f"{source}: {error}") from None
        difference = _first_difference(data, plan.to_dict())
        if difference is not None:
            key, given, made = difference
            raise RobostackError(
                f"{source}: {key} is {reprlib.repr(given)}, but the launch tables and the "
                f"reading give {reprlib.repr(made)}"
            )
        return plan


PLAN_TYPES = {
    "launch_file": str,
    "launch": dict,
    "interpretation": dict,
    "episodes": int,
    "velocity_scale": float,
    "address": (str, type(None)),
    "split": bool,
}
READING_TYPES = {
    "goal": str,
    "task": str,
    "slots": dict,
    "score": float,
    "margin": float,
    "scores": dict,
}


def make_plan(
    goal: str | None,
    launch: LaunchFile,
    *,
    episodes: int | None = None,
    address: str | None = None,
    speed: float | None = None,
    split: bool | None = None,
    interpreter: GoalInterpreter | None = None,
    on_loading: Callable[[], None] | None = None,
) -> LaunchPlan:
    """Check everything (module doc) and return the plan; nothing moves here. ``goal``: the
    sentence (None: the launch file's ``[session] goal``). ``speed`` in (0, 1] overrides the
    launch file's velocity scale (``--speed``), ``split`` its ``[ipc] split``. ``on_loading``
    is called once every check that needs no sentence model has passed, just before the
    model loads (to say what the next seconds go to)."""
    goal = goal or launch.session.goal
    if not goal:
        raise RobostackError(f"no goal: give a sentence, or set [session] goal in {launch.path}")
    task_name = launch.session.task
    if task_name != FROM_GOAL and task_name not in TASKS:
        raise LaunchFileError(
            launch.path, "[session] task", f"unknown task; use {FROM_GOAL} or {', '.join(TASKS)}"
        )
    episodes = launch.session.episodes if episodes is None else episodes
    velocity_scale = launch.safety.speed if speed is None else speed
    address = _check_run(launch, episodes=episodes, address=address, speed=velocity_scale)
    split = launch.ipc.split if split is None else split
    if task_name != FROM_GOAL:  # a launch file for one task names its checkpoint up front
        if launch.robot.real:
            _check_cameras(launch, task_name)
        _checkpoint(launch, task_name)
    check_wording(goal)
    # the checks above need no sentence model: a refusal comes before it loads
    if interpreter is None:
        if on_loading is not None:
            on_loading()
        interpreter = GoalInterpreter(tasks=None if task_name == FROM_GOAL else [task_name])
    return _checked(
        launch,
        interpreter.interpret(goal),
        episodes=episodes,
        address=address,
        velocity_scale=velocity_scale,
        split=split,
    )


def _check_run(
    launch: LaunchFile, *, episodes: int, address: str | None, speed: float
) -> str | None:
    """The checks that need no goal (gains, address, episodes, speed); the real robot's
    address (None in simulation)."""
    _check_gains(launch)
    if launch.robot.real:
        address = _address(launch, address)
    elif address is not None:
        raise RobostackError(
            f"--address is for real robots; {launch.path} runs {launch.robot.backend}"
        )
    if episodes < 1:
        raise RobostackError(f"--episodes must be >= 1, got {episodes}")
    if not 0 < speed <= 1:
        raise RobostackError(f"--speed must be in (0, 1], got {speed}")
    return address


def _checked(
    launch: LaunchFile,
    reading: Interpretation,
    *,
    episodes: int,
    address: str | None,
    velocity_scale: float,
    split: bool,
) -> LaunchPlan:
    """The plan of ``launch`` for the goal's ``reading``, every check but the reading's done."""
    robot = launch.robot
    task = make_task(reading.task)
    if launch.session.task not in (FROM_GOAL, reading.task):
        raise LaunchFileError(
            launch.path, "[session] task", f"is {launch.session.task}, the goal {reading.task}"
        )
    if robot.name not in task.robots:
        raise RobostackError(
            f"{reading.task} is made for {', '.join(task.robots)}, not the {robot.name} this "
            f"launch file drives"
        )
    if robot.twin and not robot.real and not task.arm_only:
        raise RobostackError(
            f"{reading.task} moves objects, whose state a {robot.backend} robot would need from "
            f"perception (or a scene of its own), which robostack does not have; it runs "
            f"{', '.join(ARM_ONLY_TASKS)}"
        )
    task.check_slots(reading.slots)
    if robot.real:
        _check_cameras(launch, reading.task)
    checkpoint = _checkpoint(launch, reading.task)
    address = _check_run(launch, episodes=episodes, address=address, speed=velocity_scale)
    safety = launch.safety
    tau_max = get_robot(robot.name).spec.tau_max
    return LaunchPlan(
        launch=launch,
        interpretation=reading,
        task=reading.task,
        slots=reading.slots,
        checkpoint=checkpoint,
        episodes=episodes,
        seed=launch.session.seed,
        velocity_scale=velocity_scale,
        safety=SafetyOverrides(
            velocity_fraction=velocity_scale,
            tracking_error_max=safety.tracking_error_max,
            collision_torque=tuple((safety.collision_torque_fraction * tau_max).tolist()),
            stale_reference_s=safety.stale_reference_s,
            read_timeout_s=safety.read_timeout_s or None,
        ),
        address=address,
        split=split,
    )


def write_plan(plan: LaunchPlan, path: Path) -> None:
    """Write ``plan`` to ``path`` as JSON (`LaunchPlan.to_dict`); `read_plan` reads it back."""
    Path(path).write_text(json.dumps(plan.to_dict(), indent=1) + "\n")


def read_plan(path: Path) -> LaunchPlan:
    """The plan in the JSON file at ``path``, checked (`LaunchPlan.from_dict`); nothing reads
    the goal again. `RobostackError` for a file that is missing, not JSON or not a plan."""
    source = f"plan file {path}"
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise RobostackError(f"{source}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RobostackError(f"{source}: not JSON: {error}") from None
    return LaunchPlan.from_dict(data, source=source)


def _first_difference(given: object, made: object, key: str = "") -> tuple | None:
    """(the dotted key, ``given``'s value, ``made``'s) where two JSON values first differ
    (None: they are equal)."""
    if isinstance(given, dict) and isinstance(made, dict):
        for k in sorted(set(given) | set(made)):
            inner = _first_difference(given.get(k), made.get(k), f"{key}.{k}" if key else k)
            if inner is not None:
                return inner
        return None
    return None if given == made else (key, given, made)


def _check_types(data: dict, types: dict[str, type | tuple], what: str = "") -> None:
    """Each of ``types``' keys in ``data``, of its type (a bool is no number, an int is a
    float); `RobostackError` naming ``what`` and the key otherwise."""
    for key, kinds in types.items():
        value = data[key]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        kinds = (*kinds, int) if float in kinds else kinds
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise RobostackError(f"{what}{key} has the wrong type: {reprlib.repr(value)}")


def checkpoint_for(launch: LaunchFile, task: str) -> tuple[str, str, Path]:
    """Which checkpoint ``launch`` runs ``task`` with: the key that names it, the name and
    the folder (not checked): [policy.tasks] override, else [policy] checkpoint, else the
    shipped one for the task (`shipped_checkpoint`)."""
    key = f"[policy.tasks] {task}" if task in launch.policy.tasks else "[policy] checkpoint"
    name = launch.policy.tasks.get(task, launch.policy.checkpoint) or shipped_checkpoint(
        launch, task
    )
    path = CHECKPOINTS / name if (CHECKPOINTS / name).is_dir() else launch.resolve(name)
    return key, name, path


def shipped_checkpoint(launch: LaunchFile, task: str) -> str:
    """The shipped checkpoint's name for ``task``: ``<task>_pixels``, trained from MuJoCo's
    cameras, where it ships and the robot is simulated in MuJoCo; else ``<task>``, trained from
    the object state (which a real robot's twin scene also gives for the arm-only tasks)."""
    pixels = f"{task}{PIXELS_SUFFIX}"
    if launch.robot.backend == "mujoco" and (CHECKPOINTS / pixels).is_dir():
        return pixels
    return task


def _checkpoint(launch: LaunchFile, task: str) -> Path:
    """The checkpoint for ``task`` (`checkpoint_for`), checked against the task and robot. A
    missing folder is refused before torch loads."""
    key, name, path = checkpoint_for(launch, task)
    if not path.is_dir():
        raise LaunchFileError(
            launch.path, key, f"no checkpoint {name!r} (neither in {CHECKPOINTS} nor at {path})"
        )
    from robostack.policies.checkpoint import read_checkpoint_config

    try:
        data = read_checkpoint_config(path).get("data", {})
    except (OSError, ValueError, RobostackError) as error:
        raise LaunchFileError(launch.path, key, f"checkpoint {path}: {error}") from None
    trained = sorted(data.get("tasks", {}))
    if task not in trained:
        raise LaunchFileError(
            launch.path, key, f"checkpoint {path} was trained on {', '.join(trained)}, not {task}"
        )
    if data.get("robot") != launch.robot.name:
        raise LaunchFileError(
            launch.path,
            key,
            f"checkpoint {path} was trained on the {data.get('robot')}, not the "
            f"{launch.robot.name}",
        )
    return path


def _check_cameras(launch: LaunchFile, task: str) -> None:
    """On a real robot: the checkpoint's cameras are in the launch file's ``[cameras]`` at
    their resolution, and a ``task`` that moves objects has a checkpoint from cameras that
    reads no object state (nothing on a real robot gives it). A checkpoint that is missing or
    unreadable is left to `_checkpoint`."""
    from robostack.policies.checkpoint import read_checkpoint_config
    from robostack.policies.features import check_cameras

    objects = not make_task(task).arm_only
    checkpoint = checkpoint_for(launch, task)[2]
    try:
        features = read_checkpoint_config(checkpoint).get("config", {}).get("features", {})
    except (OSError, ValueError, RobostackError):
        return
    cameras = tuple(tuple(camera) for camera in features.get("cameras", ()))
    if objects and not cameras:
        raise RobostackError(
            f"{task} moves objects: on a real robot ({launch.robot.backend}) the policy must "
            f"see them through cameras, and checkpoint {checkpoint} was trained from the "
            f"simulator's object state, without cameras; give a checkpoint trained from cameras "
            f"and name them in [cameras]"
        )
    if objects and features.get("environment_dim", 0):
        raise RobostackError(
            f"{task} moves objects: checkpoint {checkpoint} reads their state besides its "
            f"cameras, which a real robot ({launch.robot.backend}) cannot give; give a "
            f"checkpoint trained from cameras alone"
        )
    if not cameras:
        return
    provided = {name: camera.size for name, camera in launch.cameras.items()}
    check_cameras(cameras, provided, where=f"{launch.path} [cameras]")


def _check_gains(launch: LaunchFile) -> None:
    defaults = DEFAULT_GAINS[launch.robot.name][launch.controller.name]
    dof = get_robot(launch.robot.name).spec.dof
    for key, values in launch.controller.gains.items():
        where = f"[controller.gains] {key}"
        if key not in defaults:
            raise LaunchFileError(
                launch.path,
                where,
                f"{launch.controller.name} has no gain {key!r}; its gains: {', '.join(defaults)}",
            )
        if len(values) != dof or not all(0 <= value < math.inf for value in values):
            raise LaunchFileError(
                launch.path, where, f"needs {dof} finite values >= 0 (one per joint), got {values}"
            )
        highest = [MAX_GAIN_FACTOR * default for default in defaults[key]]
        if any(value > high for value, high in zip(values, highest, strict=True)):
            raise LaunchFileError(
                launch.path,
                where,
                f"at most {MAX_GAIN_FACTOR:g}x the defaults per joint ({highest}), got {values}",
            )


def _address(launch: LaunchFile, address: str | None) -> str:
    where = "[connection] address"
    if not address:
        raise RobostackError(
            f"{launch.path} drives a real robot ({launch.robot.backend}): give its address "
            f"with --address"
        )
    written = launch.connection.address if launch.connection else ""
    if written and written != address:
        raise LaunchFileError(
            launch.path, where, f"the file says {written!r}, the command line {address!r}"
        )
    return address
