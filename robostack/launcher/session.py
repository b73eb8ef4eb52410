"""`run_plan`: a `LaunchPlan`'s episodes back to back, in simulation, through the loop.

Each episode draws its scene from its seed (``plan.seed + i``), fixes the slots the goal named,
and runs the checkpoint's policy through the 1 kHz loop and the safety monitor until the task
has held or its time limit; the first ``recording.episodes`` are recorded. On a real robot the
episodes run there instead (`robostack.launcher.real_session`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from robostack.episodes import EpisodeResult, run_episode
from robostack.errors import RobostackError
from robostack.evaluation.metrics import wilson_interval
from robostack.launcher.plan import LaunchPlan
from robostack.preflight import PreflightReport
from robostack.robot import Robot
from robostack.robots import get_robot


@dataclass(frozen=True)
class LaunchResult:
    """The episodes of a launch and what they add up to."""

    plan: LaunchPlan
    episodes: list[EpisodeResult]
    wall_s: float
    preflight: PreflightReport | None = None

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
                    "outcome": e.result.outcome,
                    "duration_s": e.duration_s,
                    "time_to_success_s": e.time_to_success,
                    "events": [event.to_dict() for event in e.result.events],
                    "recording": None if e.run_dir is None else str(e.run_dir),
                    "timing": e.result.timing(dt) if real else None,
                }
                for e in self.episodes
            ],
            "preflight": None if self.preflight is None else self.preflight.to_dict(),
        }


def run_plan(
    plan: LaunchPlan,
    *,
    progress: Callable[[int, int], None] | None = None,
    robot: Robot | None = None,
    inference_thread: bool | None = None,
) -> LaunchResult:
    """Run the plan's episodes (see the module doc); a real-robot plan needs its ``robot``
    (unconnected, `robostack.launcher.real_session.open_robot`). ``inference_thread``: run
    the policy in a worker thread (default: on real robots, which do not wait for it; a
    stand-in running faster than real time does, and takes False)."""
    from policies.checkpoint import load_policy
    from robostack.policy_source import policy_source_factory

    launch = plan.launch
    if launch.robot.real and robot is None:
        raise RobostackError(f"a {launch.robot.backend} plan runs on its robot: pass robot=")
    policy = load_policy(plan.checkpoint)
    options = {"sampler": launch.policy.sampler, "guidance_scale": launch.policy.guidance_scale}
    if launch.policy.sampler != "ddpm":
        options["steps"] = launch.policy.sampling_steps
    if policy.name != "dit":
        options = {}

    def source_for(seed: int):
        return policy_source_factory(
            policy,
            seed=seed,
            options=options,
            velocity_scale=plan.velocity_scale,
            background=launch.robot.real if inference_thread is None else inference_thread,
        )

    began = time.perf_counter()
    if launch.robot.real:
        from robostack.launcher.real_session import run_on_robot

        results, report = run_on_robot(plan, robot, source_for, progress=progress)
        return LaunchResult(
            plan=plan, episodes=results, wall_s=time.perf_counter() - began, preflight=report
        )
    results = []
    for i in range(plan.episodes):
        results.append(run_episode(**plan.episode(i), source=source_for(plan.seed + i)))
        if progress is not None:
            progress(i + 1, plan.episodes)
    return LaunchResult(plan=plan, episodes=results, wall_s=time.perf_counter() - began)
