"""Options several commands share, declared once so they read the same everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from robostack.paths import DEFAULT_RUNS_DIR


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def add_runs_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir", type=Path, default=DEFAULT_RUNS_DIR, help="where run folders go (./runs)"
    )


def add_recording(parser: argparse.ArgumentParser) -> None:
    """``--no-record`` and ``--runs-dir``: sessions record by default."""
    parser.add_argument("--no-record", action="store_true", help="do not write a recording")
    add_runs_dir(parser)


STANDIN_PACES = ("realtime", "fast")


def add_standin(parser: argparse.ArgumentParser) -> None:
    """``--standin [realtime|fast]``: a real-robot command against the simulated vendor client
    (`hardware.standins`) instead of a robot; ``fast`` runs the virtual controller as fast as
    it can instead of in real time (for tests on loaded machines)."""
    parser.add_argument(
        "--standin",
        nargs="?",
        const="realtime",
        choices=STANDIN_PACES,
        help="rehearse against a simulated stand-in of the robot's controller, served at "
        "--address (default pace: realtime)",
    )
