"""``robostack runs``: recent session recordings and how they ended."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robostack.cli.options import add_json, add_runs_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list recent runs with their outcome")
    add_runs_dir(p)
    p.add_argument("--limit", type=int, default=20, help="newest N runs (default 20)")
    add_json(p)
    p.set_defaults(run=run)


def list_runs(runs_dir: Path, limit: int) -> list[dict]:
    """Newest first: name, path, outcome (``incomplete`` without a summary), a few figures."""
    folders = sorted((p for p in runs_dir.glob("*") if p.is_dir()), reverse=True)[:limit]
    rows = []
    for folder in folders:
        summary_file = folder / "summary.json"
        summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
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


def run(args: argparse.Namespace) -> int:
    rows = list_runs(args.runs_dir, args.limit)
    if args.json:
        print(json.dumps({"runs_dir": str(args.runs_dir), "runs": rows}))
        return 0
    if not rows:
        print(f"no runs in {args.runs_dir}")
        return 0
    print(f"{'run':<48}{'outcome':<12}{'ticks':>8}{'events':>8}{'rrd MB':>8}")
    for r in rows:
        ticks, size = r["ticks"] or "-", r["rrd_mb"] or "-"
        print(f"{r['run']:<48}{r['outcome']:<12}{ticks:>8}{r['events']:>8}{size:>8}")
    return 0
