"""What a launch checks beyond its plan before anything moves, ``--dry-run`` included: the
checkpoint loads (config ranges, checksum, finite weights) and the runs folder takes files."""

from __future__ import annotations

from pathlib import Path

from robostack.launcher.plan import LaunchPlan
from robostack.runtime.recording import check_runs_dir


def check_ready(plan: LaunchPlan) -> None:
    """Load ``plan``'s checkpoint and open its runs folder, raising `RobostackError` (a
    `robostack.policies.checkpoint.CheckpointError` for the checkpoint) naming the problem."""
    from robostack.policies.checkpoint import load_policy

    load_policy(plan.checkpoint)
    if plan.launch.recording.enabled:
        check_runs_dir(Path(plan.launch.recording.runs_dir))
