"""``robostack virtual-robot``: a MuJoCo arm behind a vendor's real wire protocol, until stopped.

The unmodified vendor client (ur_rtde, pylibfranka) connects to it as to a robot, so a
real-robot launch file runs against it unchanged except for the address. The vendors' clients
use fixed ports (RTDE 30004, dashboard 29999, script 30003; FCI 1337), so instances are told
apart by their loopback address (any of 127.0.0.0/8), not by ports. Faults are injected over
the simulation port (`robostack.hardware.rehearsal.virtual.server`), e.g.
``robostack virtual-robot --inject protective_stop``.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading

from robostack.cli.options import add_json
from robostack.core.errors import RobostackError

ROBOTS = ("ur5e", "ur5", "franka")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "virtual-robot",
        help="serve a simulated arm over a vendor's protocol (UR: RTDE + dashboard; Franka: FCI)",
        description="Starts a virtual robot controller: MuJoCo underneath, the vendor's network "
        "services on --address (a loopback address; one controller per address). It runs until "
        "Ctrl-C or SIGTERM. With --inject, instead sends a fault to the controller running at "
        "--address and exits.",
    )
    p.add_argument("--robot", choices=ROBOTS, default="ur5e", help="the arm it plays")
    p.add_argument("--address", default="127.0.0.1", help="loopback address to serve on")
    p.add_argument("--firmware", help="software version to report (default per robot)")
    p.add_argument(
        "--inject",
        metavar="FAULT",
        help="send FAULT (one of hardware.virtual.arm.FAULTS: communication_loss, reflex, "
        "protective_stop, emergency_stop, stall) to the controller at --address, after --delay "
        "s of its time, and exit (default: serve a controller)",
    )
    p.add_argument("--delay", type=float, default=0.0, help="with --inject: delay, s")
    p.add_argument(
        "--cube",
        type=float,
        metavar="EDGE",
        help="franka: a cube of EDGE m on the table between the Hand's open fingers, the arm "
        "posed over it (to rehearse grasps; default: no object)",
    )
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.hardware.rehearsal.virtual.process import inject

    if args.inject:
        try:
            at = inject(args.address, args.inject, delay=args.delay)
        except OSError as error:
            raise RobostackError(f"no virtual controller at {args.address}: {error}") from None
        report = {"ok": True, "injected": args.inject, "at_s": at}
        print(json.dumps(report) if args.json else f"{args.inject} due at {at:.3f} s")
        return 0
    return serve(args)


def serve(args: argparse.Namespace) -> int:
    from robostack.hardware.rehearsal.virtual.franka_controller import VirtualFrankaController
    from robostack.hardware.rehearsal.virtual.ur_controller import VirtualURController

    if args.cube is not None and (args.robot != "franka" or not 0.005 <= args.cube <= 0.075):
        raise RobostackError("--cube takes the franka's cube edge, in [0.005, 0.075] m")
    try:
        if args.robot == "franka":
            controller = VirtualFrankaController(address=args.address, cube=args.cube).start()
        else:
            controller = VirtualURController(
                robot=args.robot, address=args.address, firmware=args.firmware
            ).start()
    except OSError as error:
        raise RobostackError(f"cannot serve on {args.address}: {error}") from None
    from robostack.launcher.supervisor import follow_supervisor

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    follow_supervisor()  # started by a supervisor (a test run): end when it dies
    ready = {"ok": True, "robot": args.robot, "address": args.address, "ready": True}
    print(json.dumps(ready) if args.json else f"virtual {args.robot} ready at {args.address}")
    try:
        stop.wait()
    finally:
        controller.close()
    summary = {"ok": True, "ticks": controller.ticks, "controller_time_s": controller.arm.t}
    print(json.dumps(summary) if args.json else f"stopped after {controller.arm.t:.1f} s")
    return 0
