"""``robostack stop``: an operator stop over LCM for every control process listening."""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time

from robostack.cli.options import add_ipc, add_json, ipc_config
from robostack.core.errors import RobostackError
from robostack.transport.operator_stop import MAX_TEXT_BYTES

REPEATS = 3  # UDP may lose one; a control process counts the copies once
EXIT_NOT_OBEYED = 1  # the stop went out, and no control process acknowledged it


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stop",
        help="stop every arm whose control process listens (operator stop over LCM)",
        description="Publishes an operator stop on the STOP channel: each `robostack control` "
        "process listening STOPs its arm through the safety monitor (damping, then halt), "
        "records the event, runs no further episode and acknowledges the stop. Without "
        "--session it goes to the shared <prefix>_STOP, which every session under the prefix "
        "listens to (sessions have channels of their own for everything else); with --session "
        "TAG to that session only. Lists the processes that acknowledged it; exit 1 when none "
        "did within --wait. Not an emergency stop: use the robot's own E-stop for that.",
    )
    p.add_argument(
        "--reason",
        default="operator",
        help=f"recorded with the stop (cut to {MAX_TEXT_BYTES} bytes: the stop always fits)",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=1.0,
        help="seconds to wait for control processes to acknowledge the stop (default 1)",
    )
    add_ipc(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robostack.transport import lcmtypes
    from robostack.transport.bus import connect, handle
    from robostack.transport.codec import MessageError, decode
    from robostack.transport.config import max_bytes
    from robostack.transport.operator_stop import stop_message

    if not 0 < args.wait <= 60:
        raise RobostackError(f"--wait must be in (0, 60] s, got {args.wait}")
    config = ipc_config(args)
    msg = stop_message(  # the copies are one stop: same time, source, reason
        source=f"robostack stop on {socket.gethostname()}",
        reason=args.reason,
        utime=round(time.time() * 1e6),
    )
    obeyed: dict[int, lcmtypes.operator_stop_ack_t] = {}  # session -> its acknowledgement

    def on_ack(channel: str, data: bytes) -> None:
        try:
            ack = decode(lcmtypes.operator_stop_ack_t, data, max_bytes=max_bytes("STOP_ACK"))
        except MessageError:
            return
        if (ack.stop_utime, ack.stop_source) == (msg.utime, msg.source):
            obeyed.setdefault(ack.session, ack)

    bus = connect(config.url)
    bus.subscribe(config.channel("STOP_ACK"), on_ack)
    for _ in range(REPEATS):
        bus.publish(config.channel("STOP"), msg.encode())
        time.sleep(0.01)
    deadline = time.monotonic() + args.wait
    while (left := deadline - time.monotonic()) > 0:
        handle(bus, left)
    channel = config.channel("STOP")
    sessions = [
        {"session": a.session, "process": a.process, "state": a.state} for a in obeyed.values()
    ]
    if args.json:
        print(
            json.dumps(
                {"ok": bool(obeyed), "channel": channel, "url": config.url, "obeyed_by": sessions}
            )
        )
    elif obeyed:
        print(f"robostack stop: sent on {channel} ({config.url}); obeyed by {len(obeyed)}:")
        for s in sessions:
            print(f"  {s['process']} (session {s['session']:x}): {s['state']}")
    else:
        print(
            f"robostack stop: sent on {channel} ({config.url}), but no control process "
            f"acknowledged it within {args.wait:g} s: nothing listening was stopped",
            file=sys.stderr,
        )
    return 0 if obeyed else EXIT_NOT_OBEYED
