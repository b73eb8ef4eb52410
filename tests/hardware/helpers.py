"""Shared by the hardware tests."""

from __future__ import annotations

from robostack.benchmarks.hardware import run_session
from robostack.loop import LoopResult

__all__ = ["checks", "run_session"]


def checks(result: LoopResult) -> list[str]:
    return [event.check for event in result.events]
