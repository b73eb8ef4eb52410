"""``robostack virtual-robot``: a MuJoCo arm behind a vendor's real wire protocol, until stopped.

The unmodified vendor client (ur_rtde, pylibfranka) connects to it as to a robot, so a
real-robot launch file runs against it unchanged except for the address. The vendors' clients
use fixed ports (RTDE 30004, dashboard 29999, script 30003; FCI 1337), so instances are told
apart by their loopback address (any of 127.0.0.0/8), not by ports. Faults are injected over
the simulation port (`robostack.hardware.rehearsal.virtual.server`), e.g.
``robostack virtual-robot --inject protective_stop``. With ``--task``, the arm's scene holds the
task's objects, placed as its ``--seed`` draws them; with ``--cameras``, the scene's cameras
are rendered at 10 Hz and served (`robostack.hardware.rehearsal.virtual.camera`), for
`VirtualCamera` devices to read.
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
    p.add_argument(
        "--lost-commands",
        type=int,
        metavar="N",
        help="franka: periods in a row without a command that abort a motion "
        "(communication_constraints_violation; default FCI's 20); more for a client on a "
        "machine without a real-time kernel, which now and then waits for a core",
    )
    p.add_argument("--task", help="the scene holds this task's objects (default: none)")
    p.add_argument("--seed", type=int, default=0, help="with --task: draws where they are")
    p.add_argument(
        "--cameras",
        help="serve these scene cameras' frames at 10 Hz on port 29991, e.g. front,wrist "
        "(default: none)",
    )
    p.add_argument("--image-size", type=int, default=96, help="with --cameras: square, px")
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
    from robostack.hardware.rehearsal.virtual.franka_motion import LOST_COMMANDS_LIMIT
    from robostack.hardware.rehearsal.virtual.ur_controller import VirtualURController

    if args.cube is not None and (args.robot != "franka" or not 0.005 <= args.cube <= 0.075):
        raise RobostackError("--cube takes the franka's cube edge, in [0.005, 0.075] m")
    if args.cube is not None and args.task is not None:
        raise RobostackError("--cube and --task are two scenes: give one")
    if args.lost_commands is not None and (args.robot != "franka" or args.lost_commands < 1):
        raise RobostackError("--lost-commands takes the franka's limit, a whole number >= 1")
    scene, task = _scene(args)
    if args.robot == "franka":
        controller = VirtualFrankaController(
            address=args.address,
            scene=scene,
            cube=args.cube,
            lost_commands_limit=args.lost_commands or LOST_COMMANDS_LIMIT,
        )
    else:
        controller = VirtualURController(
            robot=args.robot, address=args.address, firmware=args.firmware, scene=scene
        )
    if task is not None:
        import numpy as np

        task.reset(controller.arm.sim, np.random.default_rng(args.seed))
    try:
        controller.start()
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


def _scene(args: argparse.Namespace):
    """The arm's `SceneConfig` (the task's objects, the cameras) and the task, or (None,
    None) for an empty table."""
    from robostack.sim.cameras import cameras_named
    from robostack.sim.mujoco import SceneConfig
    from robostack.sim.tasks import make_task

    if args.image_size < 8:
        raise RobostackError(f"--image-size must be >= 8, got {args.image_size}")
    robot = "panda" if args.robot == "franka" else args.robot
    task = None if args.task is None else make_task(args.task)
    if task is not None and robot not in task.robots:
        raise RobostackError(
            f"task {args.task!r} is made for {', '.join(task.robots)}, not {robot}"
        )
    cameras = tuple(
        c.resized(args.image_size, args.image_size)
        for c in (cameras_named(args.cameras) if args.cameras else ())
    )
    if task is None and not cameras:
        return None, None
    objects = () if task is None else task.scene_objects()
    return SceneConfig(objects=objects, cameras=cameras), task
