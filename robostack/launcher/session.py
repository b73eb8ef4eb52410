"""`run_plan`: a `LaunchPlan`'s episodes back to back, in simulation, through the loop.

Each episode draws its scene from its seed (``plan.seed + i``), fixes the slots the goal named,
and runs the checkpoint's policy through the 1 kHz loop and the safety monitor until the task
has held or its time limit; the first ``recording.episodes`` are recorded. Real-robot backends
are refused here until they exist (the plan and its checks still run: ``--dry-run``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from robostack.episodes import EpisodeResult, run_episode
from robostack.errors import RobostackError
from robostack.evaluation.metrics import wilson_interval
from robostack.launcher.plan import LaunchPlan


@dataclass(frozen=True)
class LaunchResult:
    """The episodes of a launch and what they add up to."""

    plan: LaunchPlan
    episodes: list[EpisodeResult]
    wall_s: float

    @property
    def successes(self) -> int:
        return sum(e.success for e in self.episodes)

    def to_dict(self) -> dict:
        n = len(self.episodes)
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
                }
                for e in self.episodes
            ],
        }


def run_plan(
    plan: LaunchPlan, *, progress: Callable[[int, int], None] | None = None
) -> LaunchResult:
    """Run the plan's episodes (see the module doc)."""
    from policies.checkpoint import load_policy
    from robostack.policy_source import policy_source_factory

    launch = plan.launch
    if launch.robot.real:
        raise RobostackError(
            f"the {launch.robot.backend} backend is not built yet (issue 7): nothing was sent to "
            f"{plan.address}; --dry-run shows and checks the plan"
        )
    policy = load_policy(plan.checkpoint)
    options = {"sampler": launch.policy.sampler, "guidance_scale": launch.policy.guidance_scale}
    if launch.policy.sampler != "ddpm":
        options["steps"] = launch.policy.sampling_steps
    if policy.name != "dit":
        options = {}
    began = time.perf_counter()
    results = []
    for i in range(plan.episodes):
        seed = plan.seed + i
        results.append(
            run_episode(
                plan.task,
                robot=launch.robot.name,
                seed=seed,
                controller=launch.controller.name,
                gains=launch.controller.gains or None,
                safety=plan.safety,
                slots=plan.slots,
                record=launch.recording.enabled and i < launch.recording.episodes,
                runs_dir=Path(launch.recording.runs_dir),
                source=policy_source_factory(
                    policy, seed=seed, options=options, velocity_scale=plan.velocity_scale
                ),
                until_success=True,
            )
        )
        if progress is not None:
            progress(i + 1, plan.episodes)
    return LaunchResult(plan=plan, episodes=results, wall_s=time.perf_counter() - began)
