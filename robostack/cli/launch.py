"""``robostack launch``: one sentence starts a session (the main command)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from robostack.cli.options import add_json, add_standin
from robostack.errors import RobostackError
from robostack.paths import LAUNCH_FILES

DEFAULT_LAUNCH_FILE = LAUNCH_FILES / "panda_mujoco.toml"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "launch",
        help="launch a task from a sentence (the main command)",
        description="Reads GOAL as a task and its slots (sentence embeddings over the task "
        "registry plus slot extraction), checks the launch file, robot, checkpoint and safety "
        "profile, prints the plan, then runs the session through the 1 kHz loop and the safety "
        "monitor. Goals that match no task, are ambiguous or name objects not in the scene are "
        "refused before anything moves (exit 2). Exit 1 when an episode fails.",
    )
    p.add_argument("goal", help='e.g. "push the red cube onto the green square"')
    p.add_argument("--launch", type=Path, default=DEFAULT_LAUNCH_FILE, help="launch file (TOML)")
    p.add_argument("--episodes", type=int, help="sessions back to back (default: the file's)")
    p.add_argument("--dry-run", action="store_true", help="print the plan; move nothing")
    p.add_argument("--address", help="a real robot's address (required for real robots)")
    p.add_argument("--yes", action="store_true", help="confirm a real-robot launch up front")
    p.add_argument(
        "--speed",
        type=float,
        help="share of the velocity limits, (0, 1] (real robots default to 0.25)",
    )
    add_standin(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.cli.progress import progress_bar
    from robostack.launcher.launch_file import load_launch_file
    from robostack.launcher.plan import make_plan
    from robostack.launcher.real_session import client_for, open_robot
    from robostack.launcher.session import run_plan

    began = time.perf_counter()
    launch = load_launch_file(args.launch)
    if args.standin and not launch.robot.real:
        raise RobostackError(f"--standin is for real-robot launch files; {args.launch} is not one")
    plan = make_plan(
        args.goal, launch, episodes=args.episodes, address=args.address, speed=args.speed
    )
    if not args.json:
        _print_plan(plan)
    if args.dry_run:
        if args.json:
            print(json.dumps({"ok": True, "dry_run": True, "plan": plan.to_dict()}))
        return 0
    if launch.robot.real:
        _confirm(plan, args.yes, args.standin)
        with (
            client_for(
                launch.robot.backend, launch.robot.name, plan.address, standin=args.standin
            ) as client,
            progress_bar("launch", enabled=not args.json, unit="episode") as update,
        ):
            robot = open_robot(plan, client=client)
            fast = args.standin == "fast"  # the stand-in waits for inference: no thread
            result = run_plan(plan, progress=update, robot=robot, inference_thread=not fast)
    else:
        with progress_bar("launch", enabled=not args.json, unit="episode") as update:
            result = run_plan(plan, progress=update)
    report = result.to_dict()
    ok = result.successes == len(result.episodes)
    total_s = time.perf_counter() - began
    if args.json:
        print(json.dumps({"ok": ok, "plan": plan.to_dict(), **report, "total_s": total_s}))
        return 0 if ok else 1
    for e in report["results"][:10]:
        verdict = "success" if e["success"] else f"failed ({e['outcome']})"
        seconds = e["time_to_success_s"] if e["success"] else e["duration_s"]
        line = f"  seed {e['seed']}: {verdict} after {seconds:.2f} s"
        print(line + (f", recording {e['recording']}" if e["recording"] else ""))
        if e["timing"] is not None:
            t = e["timing"]
            p = t["period_ms"]
            print(
                f"    ticks: period median {p['median']:.3f} ms, p99 {p['p99']:.3f} ms, jitter "
                f"{p['jitter']:.3f} ms; {t['late_ticks']} late, {t['lost_packets']} lost packets"
            )
        for event in e["events"][:3]:
            print(f"    safety: {event['check']}: {event['message']}")
    lo, hi = report["success_ci95"]
    print(
        f"robostack launch: {report['successes']}/{report['episodes']} succeeded "
        f"({report['success_rate']:.0%}, 95% CI {lo:.0%}-{hi:.0%}) in {total_s:.1f} s"
    )
    return 0 if ok else 1


def _print_plan(plan) -> None:
    d = plan.to_dict()
    reading = d["interpretation"]
    scores = ", ".join(f"{k} {v:.2f}" for k, v in reading["scores"].items())
    slots = ", ".join(f"{k}={v}" for k, v in d["slots"].items()) or "none"
    print(f'goal: "{reading["goal"]}"')
    print(
        f"  task: {d['task']} (slots: {slots}); score {reading['score']:.2f}, margin "
        f"{reading['margin']:.2f} [{scores}]"
    )
    where = f" at {d['address']}" if d["address"] else ""
    print(f"  robot: {d['robot']} on {d['backend']}{where}; controller {d['controller']}")
    s = d["sampler"]
    print(
        f"  policy: {d['checkpoint']} ({s['sampler']}, {s['steps']} steps, guidance "
        f"{s['guidance_scale']})"
    )
    print(
        f"  safety: {d['safety_profile']} profile, velocity x{d['velocity_scale']:.2f}; "
        f"{d['episodes']} episode(s) from seed {d['seed']}; launch file {d['launch_file']}"
    )


def _confirm(plan, yes: bool, standin: str | None) -> None:
    """A person confirms that the arm may move: first slowly to the start, then the policy."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise RobostackError(
            "a real-robot launch needs confirmation: run it in a terminal or pass --yes"
        )
    what = "the stand-in of the" if standin else "the"
    answer = input(
        f"move {what} {plan.launch.robot.name} at {plan.address} slowly to its start "
        f"configuration, then run the policy at x{plan.velocity_scale:.2f} speed? type 'yes': "
    )
    if answer.strip().lower() != "yes":
        raise RobostackError("not confirmed; nothing moved")
