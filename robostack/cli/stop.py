"""``robostack stop``: an operator stop over LCM for every control process listening."""

from __future__ import annotations

import argparse
import json
import socket
import time

from robostack.cli.options import add_ipc, add_json, ipc_config

REPEATS = 3  # UDP may lose one; a control process counts the copies once


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stop",
        help="stop every arm whose control process listens (operator stop over LCM)",
        description="Publishes an operator stop on the STOP channel: each `robostack control` "
        "process listening STOPs its arm through the safety monitor (damping, then halt), "
        "records the event and runs no further episode. Without --session it goes to the "
        "shared <prefix>_STOP, which every session under the prefix listens to (sessions have "
        "channels of their own for everything else); with --session TAG to that session only. "
        "Not an emergency stop: use the robot's own E-stop for that.",
    )
    p.add_argument("--reason", default="operator", help="recorded with the stop")
    add_ipc(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.transport import lcmtypes
    from robostack.transport.bus import connect

    config = ipc_config(args)
    msg = lcmtypes.operator_stop_t()
    msg.source = f"robostack stop on {socket.gethostname()}"
    msg.reason = args.reason
    msg.utime = round(time.time() * 1e6)  # the copies are one stop: same time, source, reason
    bus = connect(config.url)
    for _ in range(REPEATS):
        bus.publish(config.channel("STOP"), msg.encode())
        time.sleep(0.01)
    channel = config.channel("STOP")
    if args.json:
        print(json.dumps({"ok": True, "channel": channel, "url": config.url}))
    else:
        print(f"robostack stop: sent on {channel} ({config.url})")
    return 0
