"""``robostack control``: the control loop in its own process, the policy served over LCM."""

from __future__ import annotations

import argparse
import time

from robostack.cli.launch import (
    add_session_arguments,
    confirm,
    finish,
    make_checked_plan,
    run_session,
)


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
    add_session_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.launcher.readiness import check_ready
    from robostack.launcher.supervisor import follow_supervisor
    from robostack.runtime.control_link import ControlLink

    follow_supervisor()  # if launched by `robostack launch`: stop (once) when it dies
    began = time.perf_counter()
    plan = make_checked_plan(args, split=True)
    check_ready(plan)  # the checkpoint loads, the runs folder takes files
    confirm(plan, args.yes, args.standin)
    with ControlLink(config=plan.launch.ipc) as link:
        report = run_session(plan, args, link=link)
    report["stop_requests"] = link.stop_requests
    return finish(report, args.json, began)
