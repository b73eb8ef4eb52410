"""``robostack runs``: recent session recordings and how they ended."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from robostack.cli.options import add_json, add_runs_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list recent runs with their outcome")
    add_runs_dir(p)
    p.add_argument("--limit", type=int, default=20, help="newest N runs (default 20)")
    add_json(p)
    p.set_defaults(run=run)


def list_runs(runs_dir: Path, limit: int, skipped: list[dict] | None = None) -> list[dict]:
    """Newest first: name, path, outcome (``incomplete`` without a summary), a few figures.
    A folder whose summary.json cannot be read is left out, and noted in ``skipped`` (run,
    reason)."""
    folders = sorted((p for p in runs_dir.glob("*") if p.is_dir()), reverse=True)[:limit]
    rows = []
    for folder in folders:
        try:
            summary = _summary(folder / "summary.json")
        except (OSError, ValueError) as error:
            if skipped is not None:
                skipped.append({"run": folder.name, "reason": str(error)})
            continue
        rrd = folder / "session.rrd"
        rows.append(
            {
                "run": folder.name,
                "path": str(folder),
                "outcome": summary.get("outcome", "incomplete"),
                "ticks": summary.get("ticks"),
                "events": len(summary.get("events", [])),
                "rrd_mb": round(rrd.stat().st_size / 1e6, 2) if rrd.is_file() else None,
            }
        )
    return rows


def _summary(path: Path) -> dict:
    """summary.json's object ({} when there is none yet), or ValueError saying why not."""
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path.name} is not valid JSON ({error})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("events", []), list):
        raise ValueError(f"{path.name} does not hold a run summary")
    return summary


def run(args: argparse.Namespace) -> int:
    skipped: list[dict] = []
    rows = list_runs(args.runs_dir, args.limit, skipped)
    for note in skipped:
        print(f"robostack runs: skipped {note['run']}: {note['reason']}", file=sys.stderr)
    if args.json:
        print(json.dumps({"runs_dir": str(args.runs_dir), "runs": rows, "skipped": skipped}))
        return 0
    if not rows:
        print(f"no runs in {args.runs_dir}")
        return 0
    print(f"{'run':<48}{'outcome':<12}{'ticks':>8}{'events':>8}{'rrd MB':>8}")
    for r in rows:
        ticks, size = r["ticks"] or "-", r["rrd_mb"] or "-"
        print(f"{r['run']:<48}{r['outcome']:<12}{ticks:>8}{r['events']:>8}{size:>8}")
    return 0
