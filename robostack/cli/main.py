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
    tasks,
    track,
    train,
    view,
    virtual_robot,
)
from robostack.core.errors import RobostackError

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
EXIT_BAD_INPUT = 2


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
