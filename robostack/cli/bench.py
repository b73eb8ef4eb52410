"""``robostack bench``: benchmarks that report ratios measured within one run."""

from __future__ import annotations

import argparse
import json

from controllers import CONTROLLER_NAMES
from robostack.robots import ROBOTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks (ratios measured within one run)")
    benches = p.add_subparsers(dest="bench", required=True, metavar="BENCH")
    control = benches.add_parser(
        "control",
        help="per-tick stack overhead against raw mj_step",
        description="Times raw mj_step and full control-loop ticks on the same MuJoCo model in "
        "one run and reports medians, p99s and the stack overhead (tick minus physics).",
    )
    control.add_argument("--robot", choices=sorted(ROBOTS), default="panda")
    control.add_argument("--controller", choices=CONTROLLER_NAMES, default="impedance", nargs="+")
    control.add_argument("--ticks", type=int, default=10_000)
    control.add_argument("--json", action="store_true", help="print one JSON object")
    control.set_defaults(run=run_control)


def run_control(args: argparse.Namespace) -> int:
    from robostack.benchmarks.control import bench_control
    from robostack.errors import RobostackError

    if args.ticks < 100:
        raise RobostackError(f"--ticks must be at least 100, got {args.ticks}")
    names = args.controller if isinstance(args.controller, list) else [args.controller]
    results = [bench_control(robot=args.robot, controller=c, ticks=args.ticks) for c in names]
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else {"results": results}))
        return 0
    print(f"robostack bench control: {args.robot}, {args.ticks} ticks per measurement")
    header = ("raw step", "tick", "overhead", "p99 ovh", "tick/raw")
    print(f"  {'controller':<17}" + "".join(f"{h:>10}" for h in header))
    for r in results:
        print(
            f"  {r['controller']:<17}{r['raw_step_us']['median']:>8.1f}us"
            f"{r['tick_us']['median']:>8.1f}us{r['overhead_us']['median']:>8.1f}us"
            f"{r['overhead_us']['p99']:>8.1f}us{r['tick_over_raw_median']:>9.1f}x"
        )
    print(
        f"  (medians unless marked; target: overhead <= {results[0]['overhead_target_us']:.0f} us)"
    )
    return 0
