"""``robostack replay DIR --episode N``: play a dataset episode's actions back through the loop."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robostack.cli.options import add_json, add_recording

EXIT_FAILED = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="replay a dataset episode through the loop and check it succeeds",
        description="Redraws the episode's scene from its seed, plays its recorded actions back "
        "as chunks through the control loop and safety monitor, records it, and exits 1 if the "
        "task is not achieved.",
    )
    p.add_argument("dataset", type=Path, metavar="DIR")
    p.add_argument("--episode", type=int, required=True)
    add_recording(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.sessions.replay import replay

    result = replay(
        args.dataset, episode=args.episode, record=not args.no_record, runs_dir=args.runs_dir
    )
    summary = {
        "episode": args.episode,
        "task": result.task,
        "seed": result.seed,
        "description": result.description,
        "success": result.success,
        "outcome": result.result.outcome,
        "run_dir": None if result.run_dir is None else str(result.run_dir),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        verdict = "reproduced" if result.success else "NOT reproduced"
        print(
            f"robostack replay: episode {args.episode} ({result.description!r}, seed "
            f"{result.seed}): {verdict} ({result.result.outcome})"
        )
        if result.run_dir:
            print(f"  recording: {result.run_dir}")
    return 0 if result.success else EXIT_FAILED
