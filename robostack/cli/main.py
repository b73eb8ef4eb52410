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
    tasks,
    track,
    train,
    view,
    virtual_robot,
)
from robostack.core.errors import RobostackError, SessionFailedError

COMMANDS = (
    launch,
    tasks,
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


class DefaultsShown(argparse.HelpFormatter):
    """Help that ends each option with its default, unless it has none (None, False) or its
    text already says what it is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or default is None
            or default is False
            or default == argparse.SUPPRESS
            or "default" in text
            or "%(default)" in text
        ):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """Every robostack parser: full option names only (no abbreviations), defaults shown."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", DefaultsShown)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="robostack", description="Robot control and policy-learning stack.")
    parser.add_argument("--version", action="version", version=f"robostack {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"show tracebacks instead of one-line errors (or set {DEBUG_ENV}=1)",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments; an unknown one is refused with its sub-command's usage (exit 2)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
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
