"""``robostack policy-server``: serve a checkpoint's chunks over LCM to a control process."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from robostack.cli.options import add_ipc, add_json, add_sampler, ipc_config, sampler_options
from robostack.core.errors import RobostackError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "policy-server",
        help="serve a policy over LCM to `robostack control` (the process split)",
        description="Loads the checkpoint and answers the observations a control process "
        "publishes with trajectory chunks, every Ta observations, naming the observation each "
        "was computed from; announces what it serves in a 10 Hz heartbeat. Runs until SIGINT "
        "or SIGTERM (or --seconds), then prints what it did.",
    )
    p.add_argument("--checkpoint", type=Path, required=True, help="checkpoint folder")
    add_sampler(p)
    add_ipc(p)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument(
        "--delay", type=float, default=0.0, help="seconds added to every chunk (a slow policy)"
    )
    p.add_argument("--seconds", type=float, help="stop after this long (default: on a signal)")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from robostack.launcher.supervisor import follow_supervisor
    from robostack.policies.checkpoint import load_policy, read_checkpoint_config
    from robostack.policies.language import embed_sentences
    from robostack.sessions.policy_server import PolicyServer

    if args.threads < 1 or args.delay < 0:
        raise RobostackError("--threads must be >= 1 and --delay >= 0")
    config = ipc_config(args)
    torch.set_num_threads(args.threads)
    data = read_checkpoint_config(args.checkpoint).get("data", {})
    policy = load_policy(args.checkpoint)
    embed_sentences(["load the sentence model before the first observation"])
    server = PolicyServer(
        policy,
        checkpoint=args.checkpoint,
        robot=data.get("robot", ""),
        tasks=list(data.get("tasks", {})),
        config=config,
        options=sampler_options(args, policy.name),
        delay_s=args.delay,
    )
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, frame: stopping.append(number))
    follow_supervisor(signal.SIGTERM)  # if launched by `robostack launch`: end when it dies
    if not args.json:
        print(
            f"robostack policy-server: serving {args.checkpoint} ({policy.name}, "
            f"{', '.join(server.tasks)} on the {server.robot}) on {args.url}, channels "
            f"{config.channel_prefix}_*",
            file=sys.stderr,
        )
    stats = server.serve(should_stop=lambda: bool(stopping), seconds=args.seconds or float("inf"))
    if args.json:
        print(json.dumps({"ok": True, **stats}))
    else:
        inference = stats["inference_ms"] or {"p50": float("nan"), "p99": float("nan")}
        print(
            f"robostack policy-server: {stats['observations']} observations, {stats['chunks']} "
            f"chunks (inference p50 {inference['p50']:.1f} ms, p99 {inference['p99']:.1f} ms), "
            f"dropped {stats['dropped'] or 'none'}"
        )
    return 0
