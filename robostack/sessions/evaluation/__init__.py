"""Closed-loop policy evaluation: `evaluate` (evaluate.py), statistics (metrics.py) and the
PNG report (plot.py)."""

from robostack.sessions.evaluation.evaluate import EvalOptions, evaluate
from robostack.sessions.evaluation.plot import plot_report

__all__ = ["EvalOptions", "evaluate", "plot_report"]
