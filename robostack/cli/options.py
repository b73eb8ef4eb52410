"""Options several commands share, declared once so they read the same everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from robostack.core.errors import RobostackError
from robostack.core.paths import DEFAULT_RUNS_DIR

# what a session's run folder holds (robostack.runtime.recording's RRD and SUMMARY, named here
# because importing the recorder costs a second at every command's start)
RECORDING, SUMMARY = "session.rrd", "summary.json"
MIN_EPISODES_FOR_INTERVAL = 5  # a 95 % interval over fewer episodes says little: not printed


def success_interval(report: dict) -> str:
    """``", 95% interval lo-hi"`` of a report's ``success_ci95``, or "" under
    `MIN_EPISODES_FOR_INTERVAL` episodes."""
    if report["episodes"] < MIN_EPISODES_FOR_INTERVAL:
        return ""
    lo, hi = report["success_ci95"]
    return f", 95% interval {lo:.0%}-{hi:.0%}"


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
    (`robostack.hardware.rehearsal.standins`) instead of a robot; ``fast`` runs the virtual
    controller as fast as it can instead of in real time (for tests on loaded machines)."""
    parser.add_argument(
        "--standin",
        nargs="?",
        const="realtime",
        choices=STANDIN_PACES,
        help="rehearse against a simulated stand-in of the robot's controller, served at "
        "--address (default pace: realtime)",
    )


def add_sampler(parser: argparse.ArgumentParser) -> None:
    """``--sampler``, ``--sampling-steps``, ``--guidance``: how a DiT samples its chunks."""
    parser.add_argument(
        "--sampler",
        choices=("ddpm", "ddim", "dpmsolver"),
        help="DiT sampler (default: the checkpoint's)",
    )
    parser.add_argument(
        "--sampling-steps", type=int, help="DiT network calls per chunk (default: the checkpoint's)"
    )
    parser.add_argument(
        "--guidance",
        type=float,
        help="classifier-free guidance scale, 1 = none (default: the checkpoint's)",
    )


def sampler_options(args: argparse.Namespace, policy_name: str) -> dict:
    """``predict_chunk`` keyword arguments of the `add_sampler` options given (the policy's
    defaults for the others); refused for a policy without a sampler."""
    given = (
        ("sampler", args.sampler),
        ("steps", args.sampling_steps),
        ("guidance_scale", args.guidance),
    )
    options = {k: v for k, v in given if v is not None}
    if options and policy_name != "dit":
        raise RobostackError(
            f"--sampler/--sampling-steps/--guidance apply to dit, not {policy_name}"
        )
    return options


def add_ipc(parser: argparse.ArgumentParser) -> None:
    """``--url``, ``--prefix`` and ``--session``: where the processes of a split session talk
    (LCM; `robostack.transport.config.IpcConfig`)."""
    from robostack.transport.config import IpcConfig

    parser.add_argument("--url", default=IpcConfig.url, help="LCM URL (udpm, ttl=0: this machine)")
    parser.add_argument("--prefix", default=IpcConfig.prefix, help="channel name prefix")
    add_session_tag(parser)


def add_session_tag(parser: argparse.ArgumentParser) -> None:
    """``--session TAG``: a split session's own channels, ``<prefix>_<TAG>_*``."""
    parser.add_argument(
        "--session",
        default="",
        metavar="TAG",
        help="the session's own channels <prefix>_<TAG>_* (robostack launch prints its TAG; "
        "default: none, the shared channels <prefix>_*)",
    )


def ipc_config(args: argparse.Namespace):
    """The `robostack.transport.config.IpcConfig` of the `add_ipc` options."""
    from robostack.transport.config import IpcConfig

    return IpcConfig(url=args.url, prefix=args.prefix, session_tag=args.session)


def add_ray(parser: argparse.ArgumentParser) -> None:
    """``--ray ADDRESS``: spread the episodes over a Ray cluster's workers."""
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the episodes on a Ray cluster: an address, auto (the one running here) or "
        "local (start one here, a worker per core); default: in this process",
    )


def ray_cluster(args: argparse.Namespace):
    """The `robostack.sessions.distributed.RayCluster` of ``--ray``, or a context giving None."""
    from contextlib import nullcontext

    from robostack.sessions.distributed import RayCluster

    return RayCluster(args.ray) if args.ray else nullcontext()
