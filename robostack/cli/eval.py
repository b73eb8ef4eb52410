"""``robostack eval``: a policy checkpoint in closed loop on a task; JSON + PNG report."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from robostack.cli.options import (
    add_json,
    add_ray,
    add_runs_dir,
    add_sampler,
    ray_cluster,
    sampler_options,
    seed,
    success_interval,
)
from robostack.core.errors import RobostackError
from robostack.sim import SIMULATORS

ROBUSTNESS_SHARES = (0.0, 0.2, 0.4, 0.6)  # of observation dimensions masked, then noised


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a policy checkpoint on a task (success; diversity, robustness if asked)",
        description="Runs the policy through the 1 kHz loop and safety monitor for EPISODES "
        "seeded episodes (seeds SEED..) and nothing more, unless asked: --diversity-samples "
        "measures how varied its chunks are, --robustness adds a sweep (a growing share of "
        "observation dimensions masked, then noised: ROBUSTNESS_EPISODES at each of 6 points; for "
        "a policy from cameras each camera blacked out, 20/40/60 % of each frame occluded, "
        "20/40/60 % of frames dropped, the cameras shifted 1/2 cm and turned 1/2 degrees). "
        "Writes eval.json and eval.png to OUT (default runs/<stamp>-eval-<task>) and records "
        "the first --record episodes. Progress goes to stderr, with its total from the start.",
    )
    p.add_argument("--checkpoint", type=Path, required=True, help="checkpoint folder")
    p.add_argument("--task", required=True, help="a task name (robostack tasks lists them)")
    p.add_argument("--episodes", type=int, default=100, help="seeded episodes to run")
    p.add_argument("--seed", type=seed, default=0, help="first seed (datasets use 1000 on)")
    p.add_argument("--robot", help="default: the checkpoint's robot")
    p.add_argument("--backend", choices=SIMULATORS, default="mujoco", help="the simulator")
    p.add_argument("--latency", type=float, default=0.0, help="simulated inference latency, s")
    add_sampler(p)
    p.add_argument(
        "--robustness",
        action="store_true",
        help="also run the robustness sweep (6 x ROBUSTNESS_EPISODES more episodes; from cameras: "
        "(10 + cameras) x ROBUSTNESS_EPISODES)",
    )
    p.add_argument(
        "--robustness-episodes", type=int, default=20, help="with --robustness: episodes per point"
    )
    p.add_argument(
        "--diversity-samples",
        type=int,
        default=0,
        help="chunks sampled per observation to measure diversity (0: not measured)",
    )
    p.add_argument("--record", type=int, default=2, help="episodes to record (Rerun)")
    p.add_argument("--out", type=Path, help="report folder (default: a new one in --runs-dir)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    add_ray(p)
    p.add_argument(
        "--num-envs",
        type=int,
        default=1,
        help="episodes at once (threads), their chunks predicted in one batched call",
    )
    add_runs_dir(p)
    add_json(p)
    p.set_defaults(run=run)


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse what is wrong without loading torch or the policy (`RobostackError`); the
    task names last: the task registry imports MuJoCo."""
    if args.episodes < 1 or args.robustness_episodes < 0 or args.latency < 0 or args.num_envs < 1:
        raise RobostackError(
            "--episodes and --num-envs must be >= 1, --robustness-episodes and --latency >= 0"
        )
    if args.diversity_samples < 0 or args.record < 0 or args.threads < 1:
        raise RobostackError("--diversity-samples and --record must be >= 0, --threads >= 1")
    if not args.checkpoint.is_dir():
        raise RobostackError(f"no checkpoint folder at {args.checkpoint}")
    from robostack.sim.tasks import TASKS

    if args.task not in TASKS:
        raise RobostackError(f"unknown task {args.task!r}; known: {', '.join(sorted(TASKS))}")


def run(args: argparse.Namespace) -> int:
    check_arguments(args)  # before torch loads: a refusal comes at once
    if not args.json:
        print(f"robostack eval: loading {args.checkpoint} (torch)", file=sys.stderr, flush=True)
    import torch

    from robostack.cli.progress import progress_bar
    from robostack.policies.checkpoint import load_policy, read_checkpoint_config
    from robostack.runtime.recording.recorder import new_run_dir
    from robostack.sessions.evaluation import EvalOptions, evaluate, plot_report

    torch.set_num_threads(args.threads)
    data = read_checkpoint_config(args.checkpoint).get("data", {})
    policy = load_policy(args.checkpoint)
    predict = sampler_options(args, policy.name)
    options = EvalOptions(
        task=args.task,
        robot=args.robot or data.get("robot", "panda"),
        simulator=args.backend,
        num_envs=args.num_envs,
        episodes=args.episodes,
        seed=args.seed,
        latency_s=args.latency,
        predict=tuple(sorted(predict.items())),
        diversity_samples=args.diversity_samples,
        robustness_shares=ROBUSTNESS_SHARES if args.robustness else (),
        robustness_episodes=args.robustness_episodes,
        record=args.record,
        runs_dir=args.runs_dir,
        checkpoint=args.checkpoint.resolve(),
    )
    total = options.total_episodes(policy.features)
    try:
        with (
            ray_cluster(args) as cluster,
            progress_bar("eval", total=total, enabled=not args.json, unit="episode") as update,
        ):
            report = evaluate(policy, options, progress=update, cluster=cluster)
    except ValueError as error:
        raise RobostackError(str(error)) from error
    out = args.out or new_run_dir(args.runs_dir, f"eval-{args.task}")
    out.mkdir(parents=True, exist_ok=True)
    report |= {"checkpoint": str(args.checkpoint), "trained_on": sorted(data.get("tasks", {}))}
    (out / "eval.json").write_text(json.dumps(report, indent=2) + "\n")
    plot_report(report, out / "eval.png")
    report |= {"ok": True, "report_dir": str(out)}
    if args.json:
        print(json.dumps(report))
        return 0
    time_s = report["mean_time_to_success_s"]
    print(
        f"robostack eval: {report['policy']} on {args.task}: {report['successes']}/"
        f"{report['episodes']} succeeded ({report['success_rate']:.0%}"
        f"{success_interval(report)})"
    )
    print(f"  mean time to success: {'-' if time_s is None else f'{time_s:.2f} s robot time'}")
    if report["modes"]:
        print("  modes: " + ", ".join(f"{k} {v:.0%}" for k, v in report["modes"].items()))
    if report["diversity_rad"] is not None:
        print(f"  chunk diversity: {report['diversity_rad']:.4f} rad")
    for kind, points in report["robustness"].items():
        curve = ", ".join(f"{_point(p)}: {p['success_rate']:.0%}" for p in points)
        if curve:
            print(f"  {kind}: {curve}")
    median = report["inference_ms_median"]
    if median is not None and not math.isnan(median):
        print(
            f"  inference per chunk: {median:.1f} ms median, {report['inference_ms_p99']:.1f} p99"
        )
    recorded = report["recordings"]
    print(
        f"  recorded: the first {len(recorded)} episode(s) (--record)"
        if recorded
        else "  recorded: none"
    )
    print(f"  report: {out / 'eval.json'}, {out / 'eval.png'}")
    return 0


def _point(point: dict) -> str:
    """A robustness point's x: a share, a camera's name or an amount (cm, degrees)."""
    if "share" in point:
        return f"{point['share']:.0%}"
    return str(point.get("camera", point.get("amount")))
