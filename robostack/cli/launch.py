"""``robostack launch``: one sentence starts a session (the main command).

The session runs in this process, or split in two (``--split`` or the launch file's
``[ipc] split``): a policy server and a control process (``robostack control``), which this
process starts, supervises and ends (`robostack.launcher.supervisor`). `run_session`, `print_plan`,
`confirm` and `finish` are shared with ``robostack control``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from robostack.cli.options import add_json, add_standin, success_interval
from robostack.core.errors import RobostackError, SessionFailedError
from robostack.core.paths import LAUNCH_FILES

DEFAULT_LAUNCH_FILE = LAUNCH_FILES / "panda_mujoco.toml"
EXIT_INTERRUPTED = 130


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "launch",
        help="launch a task from a sentence (the main command)",
        description="Reads GOAL as a task and its slots (sentence embeddings over the task "
        "registry plus slot extraction), checks the launch file, robot, checkpoint and safety "
        "profile, prints the plan, then runs the session through the 1 kHz loop and the safety "
        "monitor. Goals that match no task, are ambiguous or name objects not in the scene are "
        "refused before anything moves (exit 2). Exit 1 when an episode fails. `robostack tasks` "
        "lists the tasks, their sentences, the objects and colours of their scenes.",
    )
    add_session_arguments(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="check everything (the checkpoint loaded, the runs folder opened), print the "
        "plan; move nothing",
    )
    p.add_argument(
        "--split",
        action="store_true",
        help="run the policy and the control loop in two processes over LCM, in real time "
        "(default: the launch file's [ipc] split)",
    )
    p.set_defaults(run=run)


def add_session_arguments(p: argparse.ArgumentParser) -> None:
    """What ``launch`` and ``control`` both take."""
    p.add_argument(
        "goal",
        nargs="?",
        help='e.g. "push the red cube onto the green square" (default: the launch file\'s '
        "[session] goal)",
    )
    p.add_argument("--launch", type=Path, default=DEFAULT_LAUNCH_FILE, help="launch file (TOML)")
    p.add_argument("--episodes", type=int, help="sessions back to back (default: the file's)")
    p.add_argument(
        "--address",
        help="a real robot's address (default: the launch file's [connection] address)",
    )
    p.add_argument("--yes", action="store_true", help="confirm a real-robot launch up front")
    p.add_argument(
        "--speed",
        type=float,
        help="share of the velocity limits, (0, 1] (real robots default to 0.25)",
    )
    add_standin(p)
    add_json(p)


def run(args: argparse.Namespace) -> int:
    from robostack.launcher.readiness import check_ready
    from robostack.launcher.supervisor import follow_supervisor

    follow_supervisor()  # started by a supervisor (a test run): end when it dies
    began = time.perf_counter()
    plan = make_checked_plan(args, split=True if args.split else None)
    check_ready(plan)  # the checkpoint loads, the runs folder takes files: --dry-run too
    if args.dry_run:
        if args.json:
            print(json.dumps({"ok": True, "dry_run": True, "plan": plan.to_dict()}))
        return 0
    confirm(plan, args.yes, args.standin)
    if plan.launch.robot.real and not args.standin:
        from robostack.launcher.real_session import require_vendor_client

        require_vendor_client(plan.launch.robot.backend)
    report = _run_split(plan, args) if plan.split else run_session(plan, args)
    return finish(report, args.json, began)


def make_checked_plan(args: argparse.Namespace, *, split: bool | None):
    """The plan for ``args`` (every check done, nothing moved), printed unless ``--json``."""
    from robostack.launcher.launch_file import load_launch_file

    launch = load_launch_file(args.launch)
    check_standin(args.standin, launch, split=split)
    if args.standin == "fast":  # as fast as it can: it waits for inference, in this process
        split = False
    from robostack.launcher.plan import make_plan

    def loading() -> None:  # what the next seconds go to, before torch and the model load
        if not args.json:
            print(
                f"robostack {args.command}: {launch.path}: the {launch.robot.name} on "
                f"{launch.robot.backend}; loading the sentence model to read the goal",
                file=sys.stderr,
                flush=True,
            )

    plan = make_plan(
        args.goal,
        launch,
        episodes=args.episodes,
        address=args.address,
        speed=args.speed,
        split=split,
        on_loading=loading,
    )
    if not args.json:
        print_plan(plan)
    return plan


def check_standin(standin: str | None, launch, *, split: bool | None) -> None:
    """Refuse a ``--standin`` that does not fit ``launch`` (not a real robot) or the split."""
    if standin and not launch.robot.real:
        raise RobostackError(f"--standin is for real-robot launch files; {launch.path} is not one")
    if standin == "fast" and split:
        raise RobostackError("--standin fast waits for inference in one process: not split")


def run_session(plan, args: argparse.Namespace, *, link=None) -> dict:
    """Run ``plan`` in this process (the policy here, or served over ``link``); the report."""
    from robostack.cli.progress import progress_bar
    from robostack.launcher.real_session import client_for, open_robot
    from robostack.launcher.session import run_plan

    launch = plan.launch
    with progress_bar(
        "launch", total=plan.episodes, enabled=not args.json, unit="episode"
    ) as update:
        if not launch.robot.real:
            result = run_plan(plan, progress=update, link=link)
        else:
            standin = args.standin
            with client_for(
                launch.robot.backend, launch.robot.name, plan.address, standin=standin
            ) as client:
                robot = open_robot(plan, client=client)
                fast = standin == "fast"  # the stand-in waits for inference: no thread
                result = run_plan(
                    plan, progress=update, robot=robot, inference_thread=not fast, link=link
                )
    return {"plan": plan.to_dict(), **result.to_dict()}


def _run_split(plan, args: argparse.Namespace) -> dict:
    """Run ``plan`` as a policy server and a control process (module doc); the report."""
    from robostack.launcher.supervisor import (
        control_args,
        policy_server_args,
        run_split,
        with_session_channels,
    )

    plan = with_session_channels(plan)  # the plan handed over carries the session's channels
    ipc = plan.launch.ipc

    def started(server_pid: int, control_pid: int) -> None:
        if not args.json:
            print(
                f"  processes: policy server {server_pid}, control {control_pid} over LCM, "
                f"channels {ipc.channel_prefix}_*"
                + (
                    f" (stop it alone: robostack stop --session {ipc.session_tag})"
                    if ipc.session_tag
                    else ""
                )
            )

    standin = ["--standin", args.standin] if args.standin else []
    with control_args(plan, "--yes", *standin) as handed_over:
        control, server = run_split(
            control_args=handed_over, server_args=policy_server_args(plan), on_start=started
        )
    processes = {"control": control.to_dict(), "policy_server": server.to_dict()}
    if control.exit_code == EXIT_INTERRUPTED:
        raise KeyboardInterrupt("the operator stopped the arm (Ctrl-C)")
    report = control.report
    if control.exit_code == 2 and report is not None and "error" in report:  # nothing moved
        raise RobostackError(f"the control process refused: {report['error']}")
    if report is None or "results" not in report:
        error = (report or {}).get("error", f"exit code {control.exit_code}, no report")
        raise SessionFailedError(f"the control process failed: {error} (processes: {processes})")
    return {**report, "processes": processes}


SHOWN_EPISODES = 10  # per-episode lines printed; the JSON report has them all
SHOWN_EVENTS = 3  # safety events printed per episode


def finish(report: dict, as_json: bool, began: float) -> int:
    """Print the session's report; the exit code (0 when every episode succeeded, else 1)."""
    ok = report["successes"] == report["episodes"]
    total_s = time.perf_counter() - began
    if as_json:
        report.pop("ok", None)
        print(json.dumps({"ok": ok, **report, "total_s": total_s}))
        return 0 if ok else 1
    results = report["results"]
    for e in results[:SHOWN_EPISODES]:
        print_episode(e)
    if len(results) > SHOWN_EPISODES:
        print(f"  ({len(results) - SHOWN_EPISODES} more episodes in the --json report)")
    recorded = [str(e["seed"]) for e in results if e["recording"]]
    print(f"  recorded: {'seed ' + ', '.join(recorded) if recorded else 'none'}")
    print(
        f"robostack: {report['successes']}/{report['episodes']} succeeded "
        f"({report['success_rate']:.0%}{success_interval(report)}) in {total_s:.1f} s wall time"
    )
    return 0 if ok else 1


def print_episode(e: dict) -> None:
    """One episode's lines: outcome in robot time, tick timing, IPC, its safety events."""
    seed = e["seed"]
    if e["success"]:
        verdict = f"success after {e['time_to_success_s']:.2f} s robot time"
    elif not e["judged"]:  # an object task on a real arm: nothing here sees the objects
        verdict = f"not judged ({e['outcome']}) after {e['duration_s']:.2f} s robot time"
    else:
        verdict = f"failed ({e['outcome']}) after {e['duration_s']:.2f} s robot time"
    print(f"  seed {seed}: {verdict}" + (f", recording {e['recording']}" if e["recording"] else ""))
    if e["timing"] is not None:
        t = e["timing"]
        p = t["period_ms"]
        print(
            f"    seed {seed} ticks (wall clock): period median {p['median']:.3f} ms, p99 "
            f"{p['p99']:.3f} ms, jitter {p['jitter']:.3f} ms; {t['late_ticks']} late, "
            f"{t['lost_packets']} lost packets"
        )
    if e["ipc"] is not None and e["ipc"]["latency_ms"] is not None:
        latency = e["ipc"]["latency_ms"]
        print(
            f"    seed {seed} policy over LCM: {e['ipc']['chunks']} chunks, observation to "
            f"chunk p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms (wall clock)"
        )
    events = e["events"]
    for event in events[:SHOWN_EVENTS]:
        print(f"    seed {seed} safety {event['reaction']}: {event['check']}: {event['message']}")
    if len(events) > SHOWN_EVENTS:
        print(f"    seed {seed}: {len(events) - SHOWN_EVENTS} more safety events (--json)")


def print_plan(plan) -> None:
    d = plan.to_dict()
    reading = d["interpretation"]
    scores = ", ".join(f"{k} {v:.2f}" for k, v in reading["scores"].items())
    slots = ", ".join(f"{k}={v}" for k, v in d["slots"].items()) or "none"
    print(f'goal: "{reading["goal"]}"')
    print(f"  task: {d['task']} (slots: {slots})")
    print(
        f"    read with score {reading['score']:.2f} (similarity of the goal to the task's "
        f"phrasings, 1 = the same) and margin {reading['margin']:.2f} (ahead of the next "
        f"task); every task: {scores}"
    )
    where = f" at {d['address']}" if d["address"] else ""
    print(f"  robot: {d['robot']} on {d['backend']}{where}; controller {d['controller']}")
    s = d["sampler"]
    processes = "its own process over LCM, real time" if d["split"] else "this process"
    print(
        f"  policy: {d['checkpoint']} ({s['sampler']}, {s['steps']} steps, guidance "
        f"{s['guidance_scale']}) in {processes}"
    )
    print(
        f"  safety: {d['safety_profile']} profile, velocity x{d['velocity_scale']:.2f}; "
        f"{d['episodes']} episode(s) from seed {d['seed']}; launch file {d['launch_file']}"
    )
    for name, c in plan.launch.cameras.items():
        device = (c.serial or "the one connected") if c.backend == "realsense" else c.device
        print(
            f"  camera {name}: {c.backend} {device}, {c.width}x{c.height} at {c.fps:g} fps, "
            f"{c.mount} mount; frames older than {c.max_age * 1e3:.0f} ms hold the arm"
        )
    r = d["recording"]
    if r["enabled"]:
        recorded = min(r["episodes"], d["episodes"])
        print(f"  recording: the first {recorded} episode(s) into {r['runs_dir']}")
    else:
        print("  recording: off")


def confirm(plan, yes: bool, standin: str | None) -> None:
    """A person confirms that a real arm may move: first slowly to the start, then the
    policy (nothing to confirm in simulation)."""
    if yes or not plan.launch.robot.real:
        return
    if not sys.stdin.isatty():
        raise RobostackError(
            "a real-robot launch needs confirmation: run it in a terminal or pass --yes"
        )
    what = "the stand-in of the" if standin else "the"
    answer = input(
        f"move {what} {plan.launch.robot.name} at {plan.address} slowly to its start "
        f"configuration, then run the policy at x{plan.velocity_scale:.2f} speed? type 'yes': "
    )
    if answer.strip().lower() != "yes":
        raise RobostackError("not confirmed; nothing moved")
