"""``robostack collect``: roll a task's expert and write a LeRobot v3.0 dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robostack.cli.options import add_json, add_ray, add_runs_dir, ray_cluster, seed
from robostack.core.robots import ROBOTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "collect",
        help="roll a task's scripted expert and write a LeRobot v3.0 dataset",
        description="Runs the task's scripted expert through the control loop and safety monitor "
        "for seeds SEED..SEED+EPISODES-1, keeps the successful episodes, and writes them to OUT in "
        "the LeRobot v3.0 layout (with --cameras, each camera as a video feature). The first "
        "episodes are also recorded (Rerun).",
    )
    p.add_argument("--task", required=True, help="reach, push, pick_place or obstacle")
    p.add_argument("--episodes", type=int, required=True)
    p.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")
    p.add_argument("--robot", choices=sorted(ROBOTS), default="panda")
    p.add_argument("--seed", type=seed, default=0, help="first seed (default 0)")
    p.add_argument(
        "--cameras",
        help="cameras to render at the policy rate (10 Hz) into the dataset, e.g. front,wrist "
        "(of: front, overhead, wrist; default: none, a dataset without images)",
    )
    p.add_argument("--image-size", type=int, default=96, help="with --cameras: square, px")
    p.add_argument(
        "--start-spread",
        type=float,
        default=0.0,
        metavar="RAD",
        help="each episode starts at home plus a uniform draw in [-RAD, RAD] per joint, from "
        "its seed (default 0: at home; at most 0.5), so that a policy from cameras cannot tell "
        "the goal from where the arm is",
    )
    add_ray(p)
    add_runs_dir(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.cli.progress import progress_bar
    from robostack.core.errors import RobostackError
    from robostack.sessions.collect import collect
    from robostack.sim.cameras import cameras_named

    if args.image_size < 8:
        raise RobostackError(f"--image-size must be >= 8, got {args.image_size}")
    cameras = tuple(
        c.resized(args.image_size, args.image_size)
        for c in (cameras_named(args.cameras) if args.cameras else ())
    )

    with (
        ray_cluster(args) as cluster,
        progress_bar(
            "collect", total=args.episodes, enabled=not args.json, unit="episode"
        ) as update,
    ):
        report = collect(
            args.task,
            episodes=args.episodes,
            out=args.out,
            robot=args.robot,
            seed=args.seed,
            runs_dir=args.runs_dir,
            progress=update,
            cluster=cluster,
            cameras=cameras,
            start_spread=args.start_spread,
        )
    summary = {
        "task": report.task,
        "robot": report.robot,
        "episodes": report.episodes,
        "successes": report.successes,
        "success_rate": report.successes / report.episodes,
        "failed_seeds": report.failed_seeds,
        "wall_s": report.wall_s,
        "episodes_per_minute": report.episodes_per_minute,
        "out": str(report.out),
        "dataset_bytes": report.dataset_bytes,
        "recordings": report.recordings,
        "start_spread": args.start_spread,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"robostack collect: {report.task} on {report.robot}: {report.successes}/"
            f"{report.episodes} expert episodes succeeded and were kept "
            f"({report.episodes_per_minute:.0f} episodes/min)\n"
            f"  dataset: {report.out} ({report.dataset_bytes / 1e6:.2f} MB, LeRobot v3.0)\n"
            f"  recordings of the first episodes: {', '.join(report.recordings)}"
        )
    return 0
