"""`run_plan`: a `LaunchPlan`'s episodes back to back, in simulation, through the loop.

Each episode draws its scene from its seed (``plan.seed + i``), fixes the slots the goal named,
and runs the checkpoint's policy through the 1 kHz loop and the safety monitor until the task
has held or its time limit; the first ``recording.episodes`` are recorded. On a real robot the
episodes run there instead (`robostack.launcher.real_session`). The policy runs in this process,
or, given the control process's link of a split session, in a policy server reached over LCM
(`robostack.transport`). An operator stop, or a policy server gone silent, ends the session: no
further episode starts. A checkpoint trained from cameras gets them in simulation: the scene's
cameras of its names and resolutions, rendered at the policy rate (in the control process of
a split session, which sends their frames with each observation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from robostack.core.errors import RobostackError
from robostack.core.robot import Robot
from robostack.core.robots import get_robot
from robostack.launcher.launch_file import PolicySection
from robostack.launcher.plan import LaunchPlan
from robostack.runtime.preflight import PreflightReport
from robostack.sessions.episodes import EpisodeResult, run_episode, run_robot_episode
from robostack.sessions.evaluation.metrics import wilson_interval
from robostack.sim.cameras import Camera, cameras_at

if TYPE_CHECKING:
    from robostack.runtime.control_link import ControlLink


@dataclass(frozen=True)
class LaunchResult:
    """The episodes of a launch and what they add up to."""

    plan: LaunchPlan
    episodes: list[EpisodeResult]
    wall_s: float
    preflight: PreflightReport | None = None
    ipc: list[dict | None] | None = None  # per episode over the link of a split session

    @property
    def successes(self) -> int:
        return sum(e.success for e in self.episodes)

    def to_dict(self) -> dict:
        n = len(self.episodes)
        real = self.plan.launch.robot.real
        dt = get_robot(self.plan.launch.robot.name).spec.dt
        return {
            "episodes": n,
            "successes": self.successes,
            "success_rate": self.successes / n,
            "success_ci95": list(wilson_interval(self.successes, n)),
            "wall_s": self.wall_s,
            "results": [
                {
                    "seed": e.seed,
                    "description": e.description,
                    "success": e.success,
                    "judged": e.judged,
                    "outcome": e.result.outcome,
                    "duration_s": e.duration_s,
                    "time_to_success_s": e.time_to_success,
                    "events": [event.to_dict() for event in e.result.events],
                    "recording": None if e.run_dir is None else str(e.run_dir),
                    "timing": e.result.timing(dt) if real or self.plan.split else None,
                    "ipc": None if self.ipc is None else self.ipc[i],
                }
                for i, e in enumerate(self.episodes)
            ],
            "preflight": None if self.preflight is None else self.preflight.to_dict(),
        }


def run_plan(
    plan: LaunchPlan,
    *,
    progress: Callable[[int, int], None] | None = None,
    robot: Robot | None = None,
    inference_thread: bool | None = None,
    link: ControlLink | None = None,
) -> LaunchResult:
    """Run the plan's episodes (see the module doc); a real-robot plan needs its ``robot``
    (unconnected, `robostack.launcher.real_session.open_robot`). ``inference_thread``: run
    the policy in a worker thread (default: on real robots, which do not wait for it; a
    stand-in running faster than real time does, and takes False). ``link``: the policy is
    served over it by another process (the control process of a split session)."""
    launch = plan.launch
    if launch.robot.real and robot is None:
        raise RobostackError(f"a {launch.robot.backend} plan runs on its robot: pass robot=")
    if link is None:
        factory = local_sources(
            plan, launch.robot.real if inference_thread is None else inference_thread
        )
    else:
        factory = remote_sources(plan, link)
    built: list = []  # each episode's source factory, for its link statistics

    def source_for(seed: int):
        built.append(factory(seed))
        return built[-1]

    began = time.perf_counter()
    report = None
    if launch.robot.real:
        from robostack.launcher.real_session import run_on_robot

        results, report = run_on_robot(plan, robot, source_for, progress=progress, link=link)
    elif launch.robot.twin:  # a simulator behind a bridge: its robot, judged by the twin
        results = _on_bridge(plan, source_for, progress, link)
    else:
        results, cameras = [], checkpoint_cameras(plan)
        for i in range(plan.episodes):
            source = source_for(plan.seed + i)
            spec = plan.episode(i)
            results.append(
                run_episode(
                    spec, source=source, simulator=plan.simulator, link=link, cameras=cameras
                )
            )
            if progress is not None:
                progress(i + 1, plan.episodes)
            if results[-1].ends_session:
                break
    ipc = None
    if link is not None:
        ipc = [f.sources[-1].stats() if f.sources else None for f in built]
    return LaunchResult(
        plan=plan, episodes=results, wall_s=time.perf_counter() - began, preflight=report, ipc=ipc
    )


def _on_bridge(plan: LaunchPlan, source_for, progress, link) -> list[EpisodeResult]:
    """The plan's episodes on a robot simulated outside the stack (Isaac Gym), each from rest
    at home; the task's MuJoCo twin mirrors it and judges the task, as for a real robot."""
    from robostack.runtime.backends import make_robot

    launch, results = plan.launch, []
    with make_robot(launch.robot.backend, get_robot(launch.robot.name)) as robot:
        for i in range(plan.episodes):
            robot.reset()
            source = source_for(plan.seed + i)
            results.append(run_robot_episode(plan.episode(i), robot, source=source, link=link))
            if progress is not None:
                progress(i + 1, plan.episodes)
            if results[-1].ends_session:
                break
    return results


def checkpoint_cameras(plan: LaunchPlan) -> tuple[Camera, ...]:
    """The scene's cameras ``plan``'s checkpoint was trained from (none for a policy of the
    object state), at its resolutions."""
    from robostack.policies.checkpoint import read_checkpoint_config

    features = read_checkpoint_config(plan.checkpoint).get("config", {}).get("features", {})
    return cameras_at(tuple(features.get("cameras", ())))


def local_sources(plan: LaunchPlan, thread: bool) -> Callable:
    """seed -> the episode's source factory, the policy in this process."""
    from robostack.policies.checkpoint import load_policy
    from robostack.runtime.policy_source import policy_source_factory

    policy = load_policy(plan.checkpoint)
    return lambda seed: policy_source_factory(
        policy,
        seed=seed,
        options=predict_options(plan.launch.policy, policy.name),
        velocity_scale=plan.velocity_scale,
        background=thread,
    )


def remote_sources(plan: LaunchPlan, link: ControlLink) -> Callable:
    """seed -> the episode's source factory, the policy served over ``link``."""
    from robostack.runtime.remote_source import remote_source_factory

    return lambda seed: remote_source_factory(
        link,
        seed=seed,
        task=plan.task,
        robot=plan.launch.robot.name,
        spec=get_robot(plan.launch.robot.name).spec,
        velocity_scale=plan.velocity_scale,
    )


def predict_options(section: PolicySection, policy_name: str) -> dict:
    """``predict_chunk`` keyword arguments from the launch file's ``[policy]`` (sampler,
    steps, guidance; none for a policy without a sampler, the MLP)."""
    if policy_name != "dit":
        return {}
    options = {"sampler": section.sampler, "guidance_scale": section.guidance_scale}
    if section.sampler != "ddpm":
        options["steps"] = section.sampling_steps
    return options
