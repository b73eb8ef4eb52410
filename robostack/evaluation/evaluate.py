"""`evaluate`: a trained policy in closed loop on a task, over many seeded episodes.

Each episode draws its scene from its seed (evaluation seeds start at 0; the shipped datasets
were collected from seed 1000 on), runs the policy through the 1 kHz loop and the safety
monitor until the task has held for `robostack.episodes.SETTLE_S` or the time limit, and
counts as a success if it ended that way. Measured:

- success rate with its 95 % Wilson interval, mean time to success;
- which way the successful episodes went, on tasks with modes (obstacle: left / right);
- diversity: K chunks sampled for the same (first) observation of the first scenes, mean
  pairwise RMS distance, rad;
- robustness: success as a growing share of observation dimensions is masked or noised;
- inference time per chunk; how often the safety monitor held or stopped the arm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from policies.base import Policy
from policies.batching import ChunkBatcher
from policies.language import embed_sentences
from policies.runner import ObservationPerturbation
from robostack.episodes import EpisodeResult, run_episode
from robostack.evaluation.metrics import mean_pairwise_distance, wilson_interval
from robostack.paths import DEFAULT_RUNS_DIR
from robostack.policy_source import PolicySource, policy_source_factory


@dataclass(frozen=True)
class EvalOptions:
    """What to run.

    Attributes:
        task, robot: what the policy is evaluated on.  simulator: where (`sim.SIMULATORS`).
        episodes: nominal episodes.
        seed: first episode seed.  controller: the torque controller.
        latency_s: simulated inference latency.  predict: sampler / steps / guidance_scale
            overrides for ``predict_chunk``.
        diversity_scenes, diversity_samples: scenes and samples K per scene for diversity.
        robustness_shares: shares of observation dimensions to mask / noise (0 = nominal).
        robustness_episodes: episodes per robustness point.
        record: how many of the first nominal episodes to record.  runs_dir: where.
        num_envs: episodes run at once, in threads, with one batched policy call per chunk.
    """

    task: str
    robot: str = "panda"
    simulator: str = "mujoco"
    episodes: int = 100
    seed: int = 0
    controller: str = "computed_torque"
    latency_s: float = 0.0
    predict: tuple[tuple[str, object], ...] = ()
    diversity_scenes: int = 10
    diversity_samples: int = 16
    robustness_shares: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6)
    robustness_episodes: int = 20
    record: int = 2
    runs_dir: Path = DEFAULT_RUNS_DIR
    num_envs: int = 1


def evaluate(
    policy: Policy, options: EvalOptions, *, progress: Callable[[int, int], None] | None = None
) -> dict:
    """Run the evaluation; return the report (JSON-ready; see the module doc)."""
    shares = [s for s in options.robustness_shares if s > 0]
    total = options.episodes + 2 * len(shares) * options.robustness_episodes
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    specs = [(options.seed + i, None, i < options.record) for i in range(options.episodes)]
    nominal = run_episodes(policy, options, specs, step)
    robustness = {"mask": [], "noise": []}
    for kind in robustness:
        for share in shares:
            specs = [
                (
                    options.seed + i,
                    ObservationPerturbation(kind, share, seed=options.seed + i),
                    False,
                )
                for i in range(options.robustness_episodes)
            ]
            wins = sum(r.success for r, _ in run_episodes(policy, options, specs, step))
            robustness[kind].append(
                {"share": share, "success_rate": wins / options.robustness_episodes}
            )
    return _report(policy, options, nominal, robustness)


def run_episodes(
    policy: Policy, options: EvalOptions, specs: list[tuple], step: Callable[[], None]
) -> list[tuple[EpisodeResult, PolicySource]]:
    """The episodes of ``specs`` ((seed, perturbation or None, record) each), in order:
    one after the other, or ``options.num_envs`` at a time, each in a thread, the policy
    answering each wave's chunks with one batched call (`policies.batching.ChunkBatcher`)."""
    done: list[tuple[EpisodeResult, PolicySource]] = []
    for start in range(0, len(specs), options.num_envs):
        wave = specs[start : start + options.num_envs]
        results = (
            [_episode(policy, options, *wave[0])]
            if len(wave) == 1
            else _wave(policy, options, wave)
        )
        for result in results:
            done.append(result)
            step()
    return done


def _wave(policy, options, wave: list[tuple]) -> list[tuple[EpisodeResult, PolicySource]]:
    """``wave``'s episodes at once, a thread each, their chunks predicted together."""
    embed_sentences([options.task])  # load the sentence model once, not in every thread
    batcher = ChunkBatcher(policy, options=dict(options.predict))
    seats = [batcher.join() for _ in wave]
    results: list = [None] * len(wave)

    def work(k: int, spec: tuple) -> None:
        try:
            seats[k].start()
            results[k] = _episode(policy, options, *spec, seat=seats[k])
        except BaseException as error:  # re-raised below, in the caller's thread
            results[k] = error
        finally:
            seats[k].leave()

    threads = [threading.Thread(target=work, args=(k, spec)) for k, spec in enumerate(wave)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _episode(
    policy, options, seed, perturbation, record, seat=None
) -> tuple[EpisodeResult, PolicySource]:
    source = policy_source_factory(
        policy,
        seed=seed,
        latency_s=options.latency_s,
        perturbation=perturbation,
        options=dict(options.predict),
        seat=seat,
    )
    result = run_episode(
        options.task,
        robot=options.robot,
        simulator=options.simulator,
        seed=seed,
        controller=options.controller,
        record=record,
        runs_dir=options.runs_dir,
        source=source,
        until_success=True,
    )
    return result, source.sources[0]


def _report(policy, options, nominal, robustness) -> dict:
    results = [r for r, _ in nominal]
    n, wins = len(results), sum(r.success for r in results)
    times = [r.time_to_success for r in results if r.success]
    modes: dict[str, int] = {}
    for r in results:
        if r.success and r.mode is not None:
            modes[r.mode] = modes.get(r.mode, 0) + 1
    inference = np.concatenate([s.inference_s for _, s in nominal]) * 1e3
    nominal_rate = wins / n if n else 0.0
    for points in robustness.values():
        if 0.0 in options.robustness_shares:
            points.insert(0, {"share": 0.0, "success_rate": nominal_rate})
    return {
        "task": options.task,
        "robot": options.robot,
        "simulator": options.simulator,
        "policy": policy.name,
        "episodes": n,
        "successes": wins,
        "success_rate": nominal_rate,
        "success_ci95": list(wilson_interval(wins, n)),
        "mean_time_to_success_s": float(np.mean(times)) if times else None,
        "modes": {k: v / max(1, sum(modes.values())) for k, v in sorted(modes.items())},
        "diversity_rad": _diversity(policy, nominal, options),
        "robustness": robustness,
        "inference_ms_median": float(np.median(inference)) if inference.size else None,
        "inference_ms_p99": float(np.percentile(inference, 99)) if inference.size else None,
        "held_or_stopped": sum(r.result.outcome != "completed" for r in results),
        "failed_seeds": [r.seed for r in results if not r.success],
        "recordings": [str(r.run_dir) for r in results if r.run_dir is not None],
        "latency_s": options.latency_s,
        "seeds": [options.seed, options.seed + n - 1],
    }


def _diversity(policy, nominal, options) -> float:
    """Mean pairwise distance of K joint chunks sampled for each scene's first observation."""
    values = []
    dof = policy.features.action_dim - 1
    for i, (_, source) in enumerate(nominal[: options.diversity_scenes]):
        obs = source.first_observation
        batch = {k: v.expand(options.diversity_samples, *v.shape[1:]) for k, v in obs.items()}
        generator = torch.Generator().manual_seed(options.seed + i)
        chunks = policy.predict_chunk(batch, generator=generator, **dict(options.predict))
        values.append(mean_pairwise_distance(chunks[..., :dof].numpy()))
    return float(np.mean(values)) if values else 0.0
