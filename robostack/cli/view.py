"""``robostack view RUN_DIR``: open a session recording in the Rerun viewer."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from robostack.cli.options import RECORDING
from robostack.core.errors import RobostackError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "view",
        help="open a run's recording in the Rerun viewer",
        description="Opens RUN_DIR/session.rrd in the native Rerun viewer, or with --web serves "
        "the web viewer on 127.0.0.1 only (no other machine can reach it).",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder or a .rrd file")
    p.add_argument("--web", action="store_true", help="serve the web viewer on localhost")
    p.add_argument(
        "--port",
        type=int,
        default=9090,
        help="web viewer HTTP port; the recording is served on the next one (default 9090)",
    )
    p.set_defaults(run=run)


def rrd_path(run_dir: Path) -> Path:
    """The .rrd of a run folder (or the file itself); refuses what is not a recording."""
    hint = "give a session's run folder (robostack runs lists them) or a .rrd file"
    if not run_dir.exists():
        raise RobostackError(f"no recording at {run_dir} (no such file or folder): {hint}")
    if run_dir.is_dir() and not (run_dir / RECORDING).is_file():
        raise RobostackError(f"{run_dir} is a folder without a session recording: {hint}")
    if run_dir.is_file() and run_dir.suffix != ".rrd":
        raise RobostackError(f"{run_dir} is not a session recording: {hint}")
    return run_dir / RECORDING if run_dir.is_dir() else run_dir


def viewer_command(rrd: Path, *, web: bool, port: int) -> list[str]:
    """The ``rerun`` command line that shows ``rrd``."""
    rerun = shutil.which(
        "rerun", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if rerun is None:
        raise RobostackError("the Rerun viewer `rerun` is not installed (pip install rerun-sdk)")
    if web:
        return [
            rerun,
            "--web-viewer",
            "--bind",
            "127.0.0.1",
            "--web-viewer-port",
            str(port),
            "--port",
            str(port + 1),
            str(rrd),
        ]
    return [rerun, str(rrd)]


def run(args: argparse.Namespace) -> int:
    rrd = rrd_path(args.run_dir)
    if not args.web and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise RobostackError("no display for the native viewer; use --web to serve it on localhost")
    command = viewer_command(rrd, web=args.web, port=args.port)
    if args.web:
        # only the URLs on the terminal; the viewer's own log lines go to a file
        log = Path(tempfile.gettempdir()) / f"robostack-view-{args.port}.log"
        print(f"web viewer: http://127.0.0.1:{args.port}", flush=True)
        print(f"recording served to it from: 127.0.0.1:{args.port + 1}", flush=True)
        print(f"(Ctrl-C to stop; the viewer's log: {log})", file=sys.stderr, flush=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    # become the viewer: signals (Ctrl-C, SIGTERM) reach it directly, and no child outlives us
    os.execv(command[0], command)
    return 0  # not reached
