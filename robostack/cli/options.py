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
