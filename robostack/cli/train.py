"""``robostack train``: fit a policy (DiT or MLP baseline) on LeRobot datasets."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

from robostack.cli.options import add_json, seed
from robostack.core.errors import RobostackError

POLICY_NAMES = ("dit", "mlp")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a DiT diffusion policy (or the MLP baseline) on datasets",
        description="Trains on one or more LeRobot datasets of one robot (several tasks make a "
        "multi-task, language-conditioned policy). OUT receives checkpoint/ (EMA weights as "
        "safetensors + config.json + stats.json), the training state for --resume, and "
        "log.jsonl. Works under `torchrun --nproc_per_node=N` (DDP, gloo on CPU). Evaluation "
        "rollouts run every --eval-every steps on each task in the data.",
    )
    p.add_argument("--dataset", type=Path, nargs="+", required=True, help="dataset folders")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--policy", choices=POLICY_NAMES, default="dit")
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--batch-size", type=int, default=64, help="windows per step, all processes")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--resume", action="store_true", help="continue OUT's training state")
    p.add_argument(
        "--init",
        type=Path,
        metavar="CHECKPOINT",
        help="fine-tune: start from this checkpoint's network, weights and normalization (its "
        "features must be the data's; a fresh optimizer and schedule; default: none, a new "
        "network)",
    )
    p.add_argument("--eval-every", type=int, default=0, help="steps between evaluations (0: none)")
    p.add_argument("--eval-episodes", type=int, default=5, help="episodes per task per evaluation")
    p.add_argument("--half", action="store_true", help="store the checkpoint in float16")
    p.add_argument(
        "--task-weight",
        metavar="TASK=W",
        action="append",
        default=[],
        help="relative share of the training draws for TASK (default 1 each; repeatable)",
    )
    p.add_argument(
        "--cameras",
        help="train from these cameras of the datasets (e.g. front,wrist) with proprioception "
        "and language, and without the object state (default: none, from the object state); "
        "the DiT then reads no joint velocities (--set proprioception=full to read them)",
    )
    p.add_argument(
        "--probe",
        type=float,
        default=0.0,
        metavar="W",
        help="with --cameras (DiT): also train a linear probe of the observation embedding to "
        "predict the datasets' object state, its squared error weighted W in the loss; the "
        "policy never reads the object state (default: no probe; with --init, the "
        "checkpoint's own probe trains on)",
    )
    p.add_argument(
        "--obs-horizon",
        type=int,
        default=2,
        help="observation steps the policy sees, the latest last",
    )
    p.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="policy config override, e.g. --set d_model=96 (repeatable)",
    )
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from robostack.cli.progress import progress_bar
    from robostack.policies.language import embed_sentences
    from robostack.policies.registry import policy_class
    from robostack.policies.training import TrainConfig, load_training_data, train

    if not 1 <= args.obs_horizon <= 64:
        raise RobostackError(f"--obs-horizon must be in [1, 64], got {args.obs_horizon}")
    if args.init and (args.set or args.resume):
        raise RobostackError("--init takes the checkpoint's network: no --set or --resume with it")
    for folder in args.dataset:
        if not folder.is_dir():
            raise RobostackError(f"dataset {folder} does not exist")
    try:
        config = TrainConfig(
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            eval_every=args.eval_every,
            half=args.half,
            warmup_steps=min(200, args.steps // 10),
            checkpoint_every=min(1000, args.steps),
        )
    except ValueError as error:
        raise RobostackError(str(error)) from error
    cameras = [c.strip() for c in (args.cameras or "").split(",") if c.strip()]
    if not 0.0 <= args.probe <= 100.0:
        raise RobostackError(f"--probe must be in [0, 100], got {args.probe}")
    if args.probe and not (cameras and args.policy == "dit"):
        raise RobostackError("--probe is for the DiT from cameras: give --cameras, --policy dit")
    data = load_training_data(
        args.dataset,
        embed=embed_sentences,
        task_weights=_task_weights(args.task_weight),
        cameras=cameras,
        obs_horizon=args.obs_horizon,
    )
    torch.manual_seed(args.seed)
    cls = policy_class(args.policy)
    overrides = _overrides(cls.config_class, args.set)
    if cameras and "proprioception" in {f.name for f in dataclasses.fields(cls.config_class)}:
        overrides.setdefault("proprioception", "positions")
    width = data.environment_state.shape[1]  # object-state numbers in the data
    if args.probe:
        if not width:
            raise RobostackError("--probe: the datasets hold no observation.environment_state")
        if {"probe_dim", "probe_weight"} & set(overrides):
            raise RobostackError("--probe sets probe_dim and probe_weight: no --set of them")
        overrides.update(probe_dim=width, probe_weight=args.probe)
    try:
        features = data.features(obs_horizon=args.obs_horizon)
        if args.init:
            policy = _initial_policy(args, features)
            if args.probe:
                policy = _with_probe(policy, width, args.probe, data.stats())
        else:
            policy = cls(cls.config_class(features=features, **overrides), data.stats())
        probe = getattr(policy.config, "probe_dim", 0)
        if probe and probe != width:
            raise ValueError(
                f"the policy's probe predicts {probe} object-state numbers, the datasets hold "
                f"{width}"
            )
    except ValueError as error:
        raise RobostackError(str(error)) from error
    evaluate = _evaluator(data, args.eval_episodes) if args.eval_every else None
    with progress_bar("train", total=args.steps, enabled=not args.json, unit="step") as update:
        result = train(
            policy,
            data,
            args.out,
            config=config,
            resume=args.resume,
            progress=update,
            evaluate=evaluate,
        )
    summary = {
        "ok": True,
        "policy": args.policy,
        "tasks": sorted(data.tasks),
        "windows": len(data),
        "parameters": sum(p.numel() for p in policy.parameters()),
        "steps": result.steps,
        "resumed_from": result.resumed_from,
        "world_size": result.world_size,
        "first_loss": result.losses[0] if result.losses else None,
        "final_loss": result.losses[-1] if result.losses else None,
        "evaluations": result.evaluations,
        "wall_s": result.wall_s,
        "steps_per_s": result.steps_per_s,
        "checkpoint": result.checkpoint,
    }
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 reports
        return 0
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"robostack train: {args.policy} on {', '.join(summary['tasks'])} "
            f"({summary['parameters'] / 1e6:.2f} M parameters, {len(data)} windows)\n"
            f"  steps {result.resumed_from} -> {result.steps} in {result.wall_s:.0f} s "
            f"({result.steps_per_s:.1f} steps/s, {result.world_size} process(es))\n"
            f"  loss {summary['first_loss']:.4f} -> {summary['final_loss']:.4f}\n"
            f"  checkpoint: {result.checkpoint}"
        )
    return 0


def _initial_policy(args: argparse.Namespace, features):
    """The policy of checkpoint ``args.init`` in training precision, refused (RobostackError)
    where its type or features are not what the data and options ask for."""
    from robostack.policies.checkpoint import load_policy, read_checkpoint_config

    kind = read_checkpoint_config(args.init).get("policy")
    if kind != args.policy:
        raise RobostackError(f"--init {args.init} is a {kind} checkpoint, not {args.policy}")
    policy = load_policy(args.init).float()
    if policy.features != features:
        raise RobostackError(
            f"--init {args.init} was trained on other features than these datasets and options "
            f"give: {policy.features} != {features}"
        )
    return policy


def _with_probe(policy, width: int, weight: float, stats: dict):
    """``policy`` with a probe of ``width`` numbers weighted ``weight``: its weights kept, its
    probe too where it has one, else a new probe normalized over ``stats["probe"]`` (the
    data's); ValueError where its probe predicts another width."""
    if policy.config.probe_dim not in (0, width):
        raise ValueError(
            f"the checkpoint's probe predicts {policy.config.probe_dim} numbers, the datasets' "
            f"object state has {width}"
        )
    config = dataclasses.replace(policy.config, probe_dim=width, probe_weight=weight)
    new = policy.probe is None
    probed = type(policy)(config, {**policy.stats(), **({"probe": stats["probe"]} if new else {})})
    missing, unexpected = probed.load_state_dict(policy.state_dict(), strict=False)
    if unexpected or sorted(missing) != (["probe.bias", "probe.weight"] if new else []):
        raise ValueError(f"the checkpoint's weights do not fit: {unexpected or missing}")
    return probed


def _overrides(config_class: type, pairs: list[str]) -> dict:
    """``KEY=VALUE`` strings -> typed config fields (bad keys or values: RobostackError)."""
    fields = {f.name: f for f in dataclasses.fields(config_class) if f.name != "features"}
    values = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        if key not in fields or not raw:
            raise RobostackError(f"--set {pair!r}: use KEY=VALUE with KEY in {sorted(fields)}")
        kind = type(fields[key].default)
        try:
            values[key] = kind(raw)
        except ValueError as error:
            raise RobostackError(f"--set {pair!r}: {error}") from error
    return values


def _task_weights(pairs: list[str]) -> dict[str, float]:
    """``TASK=W`` strings -> {task: weight} (malformed: RobostackError)."""
    weights = {}
    for pair in pairs:
        task, _, raw = pair.partition("=")
        try:
            weights[task] = float(raw)
        except ValueError:
            raise RobostackError(f"--task-weight {pair!r}: use TASK=W, W a number") from None
    return weights


def _evaluator(data, episodes: int):
    """Evaluation rollouts of the EMA policy on every task of the data (needs the simulator)."""
    from robostack.sessions.evaluation import EvalOptions, evaluate

    def run_evaluation(policy, step: int) -> dict:
        rates = {}
        for task in sorted(data.tasks):
            options = EvalOptions(
                task=task,
                robot=data.robot,
                episodes=episodes,
                seed=10_000,  # neither the training seeds nor the evaluation seeds
                diversity_scenes=0,
                robustness_shares=(),
                record=0,
            )
            rates[task] = evaluate(policy, options)["success_rate"]
        return {"success_rate": rates}

    return run_evaluation
