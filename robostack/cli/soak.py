"""``robostack soak``: the process split in real time for minutes; late ticks, reactions,
memory growth and recording completeness."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robostack.cli.launch import DEFAULT_LAUNCH_FILE
from robostack.cli.options import add_json
from robostack.core.errors import RobostackError

DEFAULT_GOAL = "reach the blue marker behind the wall"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "soak",
        help="run the policy / control split in real time for minutes and check for decay",
        description="Starts a policy server and runs the launch's task episode after episode "
        "in real time in MuJoCo, this process being the control process, every episode "
        "recorded, for MINUTES. Reports late ticks (the worst second, the longest run), safety "
        "reactions, memory growth of both processes and whether every recording is complete. "
        "Exit 0 when there was no late-tick storm, no growth beyond the bound, no STOP and "
        "every recording is complete.",
    )
    p.add_argument("goal", nargs="?", default=DEFAULT_GOAL, help=f'default: "{DEFAULT_GOAL}"')
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--launch", type=Path, default=DEFAULT_LAUNCH_FILE, help="launch file (TOML)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs/soak"), help="recordings")
    p.add_argument(
        "--memory-bound-mb", type=float, default=50.0, help="allowed growth per process, MB"
    )
    p.add_argument(
        "--keep-recordings",
        action="store_true",
        help="keep every recording (default: the first, the last and any incomplete one)",
    )
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.cli.progress import progress_bar
    from robostack.launcher.launch_file import load_launch_file
    from robostack.launcher.plan import make_plan
    from robostack.launcher.soak import soak

    if not args.minutes > 0 or not args.memory_bound_mb > 0:
        raise RobostackError("--minutes and --memory-bound-mb must be > 0")
    launch = load_launch_file(args.launch)
    if launch.robot.real:
        raise RobostackError(f"the soak runs in simulation; {args.launch} drives a real robot")
    plan = make_plan(args.goal, launch, split=True)
    with progress_bar("soak", total=args.minutes, enabled=not args.json, unit="min") as update:
        report = soak(
            plan,
            minutes=args.minutes,
            runs_dir=args.runs_dir,
            memory_bound_mb=args.memory_bound_mb,
            keep_recordings=args.keep_recordings,
            progress=lambda done: update(round(done), round(args.minutes)),
        )
    if args.json:
        print(json.dumps(report))
        return 0 if report["ok"] else 1
    _print(report)
    return 0 if report["ok"] else 1


def _print(r: dict) -> None:
    print(
        f"robostack soak: {r['minutes']:.1f} min, {r['episodes']} episodes "
        f"({r['successes']} succeeded), {r['ticks']} ticks"
    )
    print(
        f"  late ticks: {r['late_ticks']} ({r['late_share']:.3%}); worst second "
        f"{r['worst_second_late']}, longest run {r['longest_late_run']}; period p99 worst "
        f"{r['period_p99_ms_worst']:.3f} ms, max {r['period_max_ms']:.2f} ms"
    )
    if r["latency_p99_ms_worst"] is not None:
        print(f"  observation to chunk p99, worst episode: {r['latency_p99_ms_worst']:.1f} ms")
    print(f"  reactions: {r['reactions'] or 'none'}")
    for name, m in r["memory"].items():
        print(
            f"  memory, {name}: {m['first_mb']:.0f} -> {m['last_mb']:.0f} MB (max growth "
            f"{m['growth_mb']:.1f} MB, slope {m['slope_mb_per_min']:+.2f} MB/min; bound "
            f"{r['memory_bound_mb']:.0f} MB)"
        )
    rec = r["recordings"]
    print(
        f"  recordings: {rec['episodes_recorded']} episodes, complete: {rec['complete']}; read "
        f"back: " + ", ".join(f"{x['ticks_read']}/{x['ticks_run']} ticks" for x in rec["read_back"])
    )
    print(f"  verdict: {'ok' if r['ok'] else 'NOT ok'}")
