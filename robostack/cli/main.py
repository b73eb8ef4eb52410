"""The ``robostack`` command: one sub-command per module in `robostack.cli`.

Exit codes: 0 success; 1 the command ran and failed (an episode failed, tracking out of
tolerance, a stop no process acknowledged, a session that failed once begun, an unexpected
error); 2 bad input (unknown names, out-of-range values, unreadable files), refused before
anything moves; 130 stopped by the operator (Ctrl-C, SIGTERM, SIGHUP: the arm braked).
Errors are one line on stderr; ``--debug`` or ``ROBOSTACK_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
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
from robostack.core.errors import RobostackError, SessionFailedError

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
EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130
DEBUG_ENV = "ROBOSTACK_DEBUG"  # set to 1: tracebacks instead of one-line errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robostack",
        description="Robot control and policy-learning stack.",
    )
    parser.add_argument("--version", action="version", version=f"robostack {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"show tracebacks instead of one-line errors (or set {DEBUG_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    try:
        return args.run(args)
    except RobostackError as error:
        if debug:
            raise
        return _error(args, error, EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print(f"robostack {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout is gone (a supervisor that died)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as error:
        if debug:
            raise
        return _error(args, error, EXIT_FAILED, hint=not isinstance(error, SessionFailedError))


def _error(args: argparse.Namespace, error: BaseException, code: int, *, hint=False) -> int:
    """Report ``error`` in one line (and as JSON with ``--json``); return ``code``."""
    text = str(error) if isinstance(error, RobostackError | SessionFailedError) else repr(error)
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": text}))
    more = f" (--debug or {DEBUG_ENV}=1 for the traceback)" if hint else ""
    print(f"robostack {args.command}: error: {text}{more}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
