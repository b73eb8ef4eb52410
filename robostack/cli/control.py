"""``robostack control``: the control loop in its own process, the policy served over LCM."""

from __future__ import annotations

import argparse
import signal
import time
from dataclasses import replace
from pathlib import Path

from robostack.cli.launch import (
    DEFAULT_LAUNCH_FILE,
    add_session_arguments,
    check_standin,
    confirm,
    finish,
    make_checked_plan,
    print_plan,
    run_session,
)
from robostack.cli.options import add_session_tag
from robostack.core.errors import RobostackError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "control",
        help="run the control loop of a launch; the policy comes from `robostack policy-server`",
        description="The control process of a split session: runs the launch file's robot "
        "(MuJoCo in real time, or a real arm) through the 1 kHz loop and the safety monitor, "
        "publishes observations, robot status and safety events over LCM, and tracks the "
        "chunks a policy server answers with. Waits for the server's heartbeat before anything "
        "moves; HOLDs the arm when it stops; STOPs on `robostack stop`. Exit codes as launch.",
    )
    p.add_argument(
        "--plan",
        type=Path,
        help="the checked plan to run, a JSON file (`robostack launch --split` writes one): "
        "checked again, the goal not read again; instead of GOAL and the launch options "
        "(default: none, GOAL and the options make the plan)",
    )
    add_session_arguments(p)
    add_session_tag(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.launcher.supervisor import follow_supervisor
    from robostack.runtime.control_link import ControlLink

    follow_supervisor(signal.SIGINT)  # if launched by `robostack launch`: stop when it dies
    began = time.perf_counter()
    plan = make_checked_plan(args, split=True) if args.plan is None else _read_plan(args)
    confirm(plan, args.yes, args.standin)
    ipc = plan.launch.ipc
    if args.session:  # the channels `robostack launch` drew for this session
        ipc = replace(ipc, session_tag=args.session)
    with ControlLink(config=ipc) as link:
        report = run_session(plan, args, link=link)
    report["stop_requests"] = link.stop_requests
    return finish(report, args.json, began)


def _read_plan(args: argparse.Namespace):
    """The plan in ``--plan``'s file, checked, for a split session; printed unless --json."""
    from robostack.launcher.plan import read_plan

    options = {
        "GOAL": args.goal,
        "--launch": None if args.launch == DEFAULT_LAUNCH_FILE else args.launch,
        "--episodes": args.episodes,
        "--address": args.address,
        "--speed": args.speed,
    }
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise RobostackError(f"--plan holds the goal and the launch; drop {', '.join(given)}")
    plan = read_plan(args.plan)
    if not plan.split:
        raise RobostackError(f"plan file {args.plan}: split is false: run it with robostack launch")
    check_standin(args.standin, plan.launch, split=True)
    if not args.json:
        print_plan(plan)
    return plan
