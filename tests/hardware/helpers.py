"""Shared by the hardware tests."""

from __future__ import annotations

import json
from pathlib import Path

from robostack.benchmarks.hardware import run_session
from robostack.runtime.loop import LoopResult
from robostack.runtime.recording import SUMMARY

__all__ = ["checks", "read_summary", "run_session"]


def read_summary(run_dir) -> dict:
    """The summary.json of a recorded run."""
    return json.loads((Path(run_dir) / SUMMARY).read_text())


def checks(result: LoopResult) -> list[str]:
    return [event.check for event in result.events]
