"""The ``robostack`` command: one sub-command per module in `robostack.cli`.

Exit codes: 0 success, 1 the command ran and failed (e.g. tracking out of tolerance),
2 bad input (unknown names, out-of-range values), refused before anything moves.
"""

from __future__ import annotations

import argparse
import json
import sys

from robostack import __version__
from robostack.cli import (
    bench,
    collect,
    control,
    eval,
    launch,
    policy_server,
    preflight,
    replay,
    runs,
    soak,
    stop,
    track,
    train,
    view,
    virtual_robot,
)
from robostack.core.errors import RobostackError

COMMANDS = (
    launch,
    control,
    policy_server,
    stop,
    preflight,
    track,
    collect,
    replay,
    train,
    eval,
    bench,
    soak,
    runs,
    view,
    virtual_robot,
)
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robostack",
        description="Robot control and policy-learning stack.",
    )
    parser.add_argument("--version", action="version", version=f"robostack {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except RobostackError as error:
        if getattr(args, "json", False):
            print(json.dumps({"ok": False, "error": str(error)}))
        print(f"robostack {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"robostack {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
