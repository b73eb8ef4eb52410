"""`make_plan`: a goal sentence and a launch file -> a `LaunchPlan`, every check done before
anything moves.

Checks, each refused with a `RobostackError` naming the problem: the goal
(`robostack.launcher.goals`), the task on this robot, the checkpoint (it exists, loads, and was
trained on this task and robot), the controller gains (known keys, one value per joint), and
for a real robot the address (given on the command line, agreeing with the file) and the task
(arm-only: `robostack.sim.tasks.Task.arm_only`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from robostack.controllers.gains import DEFAULT_GAINS, MAX_GAIN_FACTOR
from robostack.core.errors import RobostackError
from robostack.core.paths import CHECKPOINTS
from robostack.core.robots import get_robot
from robostack.launcher.goals import GoalInterpreter, Interpretation
from robostack.launcher.launch_file import FROM_GOAL, LaunchFile, LaunchFileError
from robostack.sim.tasks import ARM_ONLY_TASKS, TASKS, make_task


@dataclass(frozen=True)
class LaunchPlan:
    """Everything a launch will do.

    Attributes:
        launch: the validated launch file.  interpretation: what the goal was read as.
        task, slots: the task and its fixed slots.  checkpoint: the policy folder.
        episodes, seed: episodes to run, the first one's seed.
        safety: `SafetyConfig` overrides (velocity share, tracking, collision, watchdog).
        velocity_scale: share of the velocity limit chunks are slowed to.
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
    safety: dict = field(default_factory=dict)
    address: str | None = None
    split: bool = False

    def episode(self, i: int) -> dict:
        """Keyword arguments of `robostack.sessions.episodes.run_episode` for the plan's episode
        ``i`` (its seed, task, slots, controller, safety, recording), the chunk source aside."""
        launch = self.launch
        return {
            "task_name": self.task,
            "robot": launch.robot.name,
            "seed": self.seed + i,
            "controller": launch.controller.name,
            "gains": launch.controller.gains or None,
            "safety": self.safety,
            "slots": self.slots,
            "record": launch.recording.enabled and i < launch.recording.episodes,
            "runs_dir": Path(launch.recording.runs_dir),
            "until_success": True,
            "realtime": self.split,
            "simulator": "mujoco" if launch.robot.twin else launch.robot.backend,
            "label": launch.session.name,
        }

    def to_dict(self) -> dict:
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
            "safety": self.safety,
            "episodes": self.episodes,
            "seed": self.seed,
            "split": self.split,
            "recording": {
                "enabled": launch.recording.enabled,
                "runs_dir": launch.recording.runs_dir,
                "episodes": launch.recording.episodes,
            },
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
) -> LaunchPlan:
    """Check everything (module doc) and return the plan; nothing moves here. ``goal``: the
    sentence (None: the launch file's ``[session] goal``). ``speed`` in (0, 1] overrides the
    launch file's velocity scale (``--speed``), ``split`` its ``[ipc] split``."""
    goal = goal or launch.session.goal
    if not goal:
        raise RobostackError(f"no goal: give a sentence, or set [session] goal in {launch.path}")
    robot = launch.robot
    task_name = launch.session.task
    if task_name != FROM_GOAL and task_name not in TASKS:
        raise LaunchFileError(
            launch.path, "[session] task", f"unknown task; use {FROM_GOAL} or {', '.join(TASKS)}"
        )
    if interpreter is None:
        interpreter = GoalInterpreter(tasks=None if task_name == FROM_GOAL else [task_name])
    reading = interpreter.interpret(goal)
    task = make_task(reading.task)
    if robot.name not in task.robots:
        raise RobostackError(
            f"{reading.task} is made for {', '.join(task.robots)}, not the {robot.name} this "
            f"launch file drives"
        )
    if robot.twin and not task.arm_only:
        raise RobostackError(
            f"{reading.task} moves objects, whose state a {robot.backend} robot would need from "
            f"perception (or a scene of its own), which robostack does not have; it runs "
            f"{', '.join(ARM_ONLY_TASKS)}"
        )
    checkpoint = _checkpoint(launch, reading.task)
    _check_gains(launch)
    if robot.real:
        address = _address(launch, address)
    elif address is not None:
        raise RobostackError(f"--address is for real robots; {launch.path} runs {robot.backend}")
    episodes = launch.session.episodes if episodes is None else episodes
    if episodes < 1:
        raise RobostackError(f"--episodes must be >= 1, got {episodes}")
    if speed is not None and not 0 < speed <= 1:
        raise RobostackError(f"--speed must be in (0, 1], got {speed}")
    spec = get_robot(robot.name).spec
    safety = launch.safety
    scale = safety.speed if speed is None else speed
    return LaunchPlan(
        launch=launch,
        interpretation=reading,
        task=reading.task,
        slots=reading.slots,
        checkpoint=checkpoint,
        episodes=episodes,
        seed=launch.session.seed,
        velocity_scale=scale,
        safety={
            "velocity_fraction": scale,
            "tracking_error_max": safety.tracking_error_max,
            "collision_torque": (safety.collision_torque_fraction * spec.tau_max).tolist(),
            "stale_reference_s": safety.stale_reference_s,
            **({"read_timeout_s": safety.read_timeout_s} if safety.read_timeout_s else {}),
        },
        address=address,
        split=launch.ipc.split if split is None else split,
    )


def _checkpoint(launch: LaunchFile, task: str) -> Path:
    """The checkpoint for ``task``: [policy.tasks] override, else [policy] checkpoint, else
    the shipped one named after the task."""
    from robostack.policies.checkpoint import read_checkpoint_config

    key = f"[policy.tasks] {task}" if task in launch.policy.tasks else "[policy] checkpoint"
    name = launch.policy.tasks.get(task, launch.policy.checkpoint) or task
    path = CHECKPOINTS / name if (CHECKPOINTS / name).is_dir() else launch.resolve(name)
    if not path.is_dir():
        raise LaunchFileError(
            launch.path, key, f"no checkpoint {name!r} (neither in {CHECKPOINTS} nor at {path})"
        )
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
