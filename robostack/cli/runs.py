"""``robostack runs``: recent session recordings, what they ran and how they ended."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robostack.cli.options import RECORDING, SUMMARY, add_json, add_runs_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "runs",
        help="list recent session recordings: task, seed, success, robot and wall time",
        description="Lists the newest session folders in --runs-dir: the task and seed, "
        "whether the task succeeded, how the loop ended, the robot time (ticks at the robot's "
        "rate) and the wall time the session took, safety events and the recording's size. "
        "A session without summary.json is listed as incomplete (it ended without closing); "
        "folders that are not sessions (no session.rrd nor summary.json, e.g. eval reports) "
        "are skipped with a note.",
    )
    add_runs_dir(p)
    p.add_argument("--limit", type=int, default=20, help="newest N sessions")
    add_json(p)
    p.set_defaults(run=run)


def is_session(folder: Path) -> bool:
    """A session's run folder: it has a recording or a summary."""
    return (folder / SUMMARY).is_file() or (folder / RECORDING).is_file()


def list_runs(runs_dir: Path, limit: int) -> tuple[list[dict], list[str]]:
    """Newest first, up to ``limit`` sessions: run, path, task, seed, success (None when the
    session did not say), outcome (``incomplete`` without a summary), robot_s, wall_s,
    ticks, events, rrd_mb; and the names of the folders skipped as not sessions."""
    folders = sorted((p for p in runs_dir.glob("*") if p.is_dir()), reverse=True)
    sessions = [folder for folder in folders if is_session(folder)]
    skipped = [folder.name for folder in folders if not is_session(folder)]
    rows = []
    for folder in sessions[:limit]:
        summary_file = folder / SUMMARY
        summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
        rrd = folder / RECORDING
        rows.append(
            {
                "run": folder.name,
                "path": str(folder),
                "task": summary.get("task"),
                "seed": summary.get("seed"),
                "success": summary.get("success"),
                "outcome": summary.get("outcome", "incomplete"),
                "robot_s": summary.get("robot_s"),
                "wall_s": summary.get("wall_s"),
                "ticks": summary.get("ticks"),
                "events": len(summary.get("events", [])),
                "rrd_mb": round(rrd.stat().st_size / 1e6, 2) if rrd.is_file() else None,
            }
        )
    return rows, skipped


def run(args: argparse.Namespace) -> int:
    rows, skipped = list_runs(args.runs_dir, args.limit)
    if args.json:
        print(json.dumps({"runs_dir": str(args.runs_dir), "runs": rows, "skipped": skipped}))
        return 0
    if not rows:
        print(f"no sessions in {args.runs_dir}")
    else:
        header = f"{'run':<44}{'task':<12}{'seed':>5}  {'success':<9}{'outcome':<12}"
        print(header + f"{'robot s':>9}{'wall s':>9}{'events':>8}{'rrd MB':>8}")
        for r in rows:
            success = {True: "yes", False: "no", None: "-"}[r["success"]]
            print(
                f"{r['run']:<44}{r['task'] or '-':<12}{_shown(r['seed']):>5}  {success:<9}"
                f"{r['outcome']:<12}{_shown(r['robot_s'], '.1f'):>9}"
                f"{_shown(r['wall_s'], '.1f'):>9}{r['events']:>8}{_shown(r['rrd_mb']):>8}"
            )
    if skipped:
        print(
            f"skipped {len(skipped)} folder(s) that are not sessions (no {RECORDING} nor "
            f"{SUMMARY}): {', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''}"
        )
    return 0


def _shown(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)
