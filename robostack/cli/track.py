"""``robostack track``: follow a built-in reference and report tracking errors and tick times."""

from __future__ import annotations

import argparse
import json
import math

from robostack.cli.options import add_json, add_recording, seed
from robostack.controllers import CONTROLLER_NAMES
from robostack.controllers.references import REFERENCE_NAMES
from robostack.core.errors import RobostackError
from robostack.core.robots import ROBOTS
from robostack.runtime.backends import BACKEND_NAMES

EXIT_FAILED = 1  # out of tolerance, or the safety monitor held or stopped the arm
EXIT_OPERATOR_STOP = 130  # SIGINT: the arm was stopped and the recording closed


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "track",
        help="track a built-in joint reference and report errors and tick times",
        description="A simulated arm tracks a built-in reference (a joint sweep through most of "
        "each joint's range, then a Cartesian circle of the tool solved by IK), fed to the 1 kHz "
        "torque loop as 10 Hz trajectory chunks like a policy's. Exits 1 if any joint's error "
        "exceeds --tolerance.",
    )
    p.add_argument("--robot", choices=sorted(ROBOTS), default="panda")
    p.add_argument("--backend", choices=BACKEND_NAMES, default="mujoco")
    p.add_argument("--controller", choices=CONTROLLER_NAMES, default="computed_torque")
    p.add_argument("--reference", choices=REFERENCE_NAMES, default="all")
    p.add_argument(
        "--speed",
        type=float,
        default=0.5,
        help="fraction of joint speed limits, at most 0.9 (default 0.5)",
    )
    p.add_argument("--realtime", action="store_true", help="pace at 1 kHz by the wall clock")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.05,
        help="largest allowed tracking error on any joint, rad (default 0.05)",
    )
    add_recording(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.cli.progress import progress_bar
    from robostack.sessions.tracking import TrackingOptions, run_tracking

    if not 0 < args.tolerance < math.inf:
        raise RobostackError(f"--tolerance must be a finite angle > 0 rad, got {args.tolerance}")

    options = TrackingOptions(
        robot=args.robot,
        backend=args.backend,
        controller=args.controller,
        reference=args.reference,
        speed=args.speed,
        realtime=args.realtime,
        seed=args.seed,
        record=not args.no_record,
        runs_dir=args.runs_dir,
    )
    with progress_bar("track", enabled=not args.json) as update:
        report = run_tracking(options, progress=update)
    summary = report.summary()
    summary["tolerance_rad"] = args.tolerance
    summary["ok"] = (
        summary["outcome"] == "completed" and max(summary["max_error_rad"]) <= args.tolerance
    )
    if args.json:
        print(json.dumps(summary))
    else:
        print(_format(summary))
    if any(e["check"] == "operator_stop" for e in summary["events"]):
        return EXIT_OPERATOR_STOP
    return 0 if summary["ok"] else EXIT_FAILED


def _format(s: dict) -> str:
    lines = [
        f"robostack track: {s['robot']} on {s['backend']}, {s['controller']}, "
        f"reference {s['reference']} ({s['clock']})",
        f"  {s['sim_time_s']:.1f} s robot time in {s['wall_s']:.1f} s wall, {s['ticks']} ticks",
        f"  {'joint':<22}{'rms [mrad]':>12}{'max [mrad]':>12}",
    ]
    for name, rms, peak in zip(
        s["joint_names"], s["rms_error_rad"], s["max_error_rad"], strict=True
    ):
        lines.append(f"  {name:<22}{rms * 1e3:>12.3f}{peak * 1e3:>12.3f}")
    lines += [
        f"  tick compute: median {s['tick_us_median']:.1f} us, p99 {s['tick_us_p99']:.1f} us "
        f"(stack overhead median {s['overhead_us_median']:.1f} us)",
        f"  tick period: median {s['period_us_median']:.1f} us, p99 {s['period_us_p99']:.1f} us; "
        f"overruns {s['overruns']}",
    ]
    for e in s["events"]:
        joint = f" {e['joint']}" if e["joint"] else ""
        lines.append(
            f"  safety: tick {e['tick']}: {e['reaction']} {e['check']}{joint}: {e['message']}"
        )
    lines.append(
        f"  {'ok' if s['ok'] else 'FAILED'} ({s['outcome']}): max error "
        f"{max(s['max_error_rad']) * 1e3:.2f} mrad (tolerance {s['tolerance_rad'] * 1e3:.1f} mrad)"
    )
    if s["run_dir"]:
        lines.append(f"  recording: {s['run_dir']}  (robostack view {s['run_dir']})")
    return "\n".join(lines)
