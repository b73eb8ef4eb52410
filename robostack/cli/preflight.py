"""``robostack preflight``: check a real robot before a launch; nothing moves."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robostack.cli.options import add_json, add_standin
from robostack.core.errors import RobostackError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preflight",
        help="check a real robot before a launch (nothing moves)",
        description="Connects to the launch file's real robot and checks: reachable; robot mode "
        "ready, no errors or stops; client and controller versions; joints inside their limits "
        "with margin; the distance to the start configuration; the payload; each camera of the "
        "launch file delivers frames at its rate and resolution. Exit 0 when every "
        "check passes, 1 when one fails.",
    )
    p.add_argument("--launch", type=Path, required=True, help="a real-robot launch file")
    p.add_argument("--address", required=True, help="the robot's address")
    add_standin(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.core.robots import get_robot
    from robostack.launcher.launch_file import load_launch_file
    from robostack.launcher.real_session import client_for
    from robostack.runtime.backends import make_robot
    from robostack.runtime.preflight import preflight, preflight_cameras

    launch = load_launch_file(args.launch)
    if not launch.robot.real:
        raise RobostackError(
            f"{args.launch} runs {launch.robot.backend}: preflight is for real robots"
        )
    connection, backend = launch.connection, launch.robot.backend
    written = connection.address
    if written and written != args.address:
        raise RobostackError(
            f"{args.launch} says address {written!r}, the command line {args.address!r}"
        )
    description = get_robot(launch.robot.name)
    with client_for(backend, description.name, args.address, standin=args.standin) as client:
        robot = make_robot(
            backend,
            description,
            address=args.address,
            client=client,
            **connection.backend_options(backend),
        )
        try:
            report = preflight(
                robot,
                backend=backend,
                address=args.address,
                q_start=description.q_home,
                payload_kg=connection.payload_kg,
            )
        finally:
            robot.close()
    if launch.cameras:
        report.checks.extend(preflight_cameras(launch.camera_configs(), address=args.address))
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(f"preflight: {description.name} on {backend} at {args.address}")
        for check in report.checks:
            print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
        print("ready to launch" if report.ok else "not ready: nothing may move")
    return 0 if report.ok else 1
