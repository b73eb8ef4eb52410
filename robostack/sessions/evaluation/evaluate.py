"""`evaluate`: a trained policy in closed loop on a task, over many seeded episodes.

Each episode draws its scene from its seed (evaluation seeds start at 0; the shipped datasets
were collected from seed 1000 on), runs the policy through the 1 kHz loop and the safety
monitor until the task has held for `robostack.sessions.episodes.SETTLE_S` or the time limit, and
counts as a success if it ended that way. Measured:

- success rate with its 95 % Wilson interval, mean time to success;
- which way the successful episodes went, on tasks with modes (obstacle: left / right);
- diversity: K chunks sampled for the same (first) observation of the first scenes, mean
  pairwise RMS distance, rad;
- robustness: success as a growing share of observation dimensions is masked or noised; for a
  policy from cameras (it has no state numbers to hide), as camera observation is taken away
  instead: each camera blacked out in turn, a growing share of every frame occluded, a growing
  share of frames dropped (`robostack.policies.runner.ImagePerturbation`: applied where the
  frames reach the policy), and every camera shifted or turned from its training pose
  (`robostack.sim.cameras.CameraMove`: the scene renders from the moved pose);
- inference time per chunk; how often the safety monitor held or stopped the arm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from robostack.core.paths import DEFAULT_RUNS_DIR
from robostack.policies.base import Policy
from robostack.policies.batching import ChunkBatcher
from robostack.policies.features import PolicyFeatures
from robostack.policies.language import embed_sentences
from robostack.policies.runner import ImagePerturbation, ObservationPerturbation
from robostack.runtime.policy_source import PolicySource, policy_source_factory
from robostack.runtime.safety.operator import stop_workers_on_signals
from robostack.sessions.distributed import RayCluster
from robostack.sessions.episodes import EpisodeResult, EpisodeSpec, run_episode
from robostack.sessions.evaluation.metrics import mean_pairwise_distance, wilson_interval
from robostack.sim.cameras import CameraMove, cameras_at


@dataclass(frozen=True)
class EvalOptions:
    """What to run.

    Attributes:
        task, robot: what the policy is evaluated on.  simulator: where
        (`robostack.sim.SIMULATORS`). episodes: nominal episodes.
        seed: first episode seed.  controller: the torque controller.
        latency_s: simulated inference latency.  predict: sampler / steps / guidance_scale
            overrides for ``predict_chunk``.
        diversity_scenes, diversity_samples: scenes and samples K per scene for diversity.
        robustness_shares: shares of observation dimensions to mask / noise (0 = nominal); for
            a policy from cameras, of each frame occluded and of frames dropped. None: no
            robustness sweep.
        camera_moves: for a policy from cameras (with a sweep): shifts of every camera, cm, and
            turns, degrees.
        robustness_episodes: episodes per robustness point.
        record: how many of the first nominal episodes to record.  runs_dir: where.
        num_envs: episodes run at once, in threads, with one batched policy call per chunk.
        checkpoint: where the policy was loaded from (Ray workers load it again).
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
    camera_moves: tuple[float, ...] = (1.0, 2.0)
    robustness_episodes: int = 20
    record: int = 2
    runs_dir: Path = DEFAULT_RUNS_DIR
    num_envs: int = 1
    checkpoint: Path | None = None

    def total_episodes(self, features: PolicyFeatures) -> int:
        """The nominal episodes and those of the robustness sweep for a policy of ``features``."""
        return self.episodes + len(robustness_points(self, features)) * self.robustness_episodes


def robustness_points(options: EvalOptions, features: PolicyFeatures) -> list[tuple]:
    """The sweep's points (curve, x, perturbation maker ``seed -> perturbation``) in order: for
    a policy of the object state, mask and noise at each share above 0; for one from cameras,
    each camera blacked out (x: its name), occlusion and dropped frames at each share above 0,
    and the camera moves (x: cm shifted, degrees turned); nothing without a sweep."""
    shares = [s for s in options.robustness_shares if s > 0]
    if not options.robustness_shares:
        return []
    if not features.cameras:
        if not features.environment_dim:  # proprioception alone: nothing to hide
            return []
        return [
            (kind, share, lambda seed, k=kind, s=share: ObservationPerturbation(k, s, seed=seed))
            for kind in ("mask", "noise")
            for share in shares
        ]
    points = [
        ("blackout", name, lambda seed, n=name: ImagePerturbation("blackout", camera=n, seed=seed))
        for name, _, _ in features.cameras
    ]
    points += [
        (kind, share, lambda seed, k=kind, s=share: ImagePerturbation(k, s, seed=seed))
        for kind in ("occlude", "drop")
        for share in shares
    ]
    points += [
        ("shift_cm", cm, lambda seed, m=cm / 100: CameraMove(shift_m=m, seed=seed))
        for cm in options.camera_moves
    ]
    points += [
        ("turn_deg", deg, lambda seed, d=deg: CameraMove(turn_deg=d, seed=seed))
        for deg in options.camera_moves
    ]
    return points


def evaluate(
    policy: Policy,
    options: EvalOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
    cluster: RayCluster | None = None,
) -> dict:
    """Run the evaluation; return the report (JSON-ready; see the module doc). With a
    ``cluster``, the episodes run on its workers (`robostack.sessions.distributed`)."""
    points = robustness_points(options, policy.features)
    total = options.total_episodes(policy.features)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    def episodes(specs: list[tuple]) -> list[EpisodeSummary]:
        if cluster is None:
            return run_episodes(policy, options, specs, step)
        summaries = run_on_cluster(cluster, options, specs)
        for _ in summaries:
            step()
        return summaries

    specs = [(options.seed + i, None, i < options.record) for i in range(options.episodes)]
    nominal = episodes(specs)
    curves = ("occlude", "drop") if policy.features.cameras else ("mask", "noise")
    robustness: dict[str, list[dict]] = {curve: [] for curve in curves}
    for curve, x, perturbation in points:
        specs = [
            (options.seed + i, perturbation(options.seed + i), False)
            for i in range(options.robustness_episodes)
        ]
        wins = sum(r.success for r in episodes(specs))
        key = "camera" if curve == "blackout" else "share" if curve in SHARE_CURVES else "amount"
        robustness.setdefault(curve, []).append(
            {key: x, "success_rate": wins / options.robustness_episodes}
        )
    return _report(policy, options, nominal, robustness)


SHARE_CURVES = ("mask", "noise", "occlude", "drop")  # x: a share; camera moves: an amount


@dataclass(frozen=True)
class EpisodeSummary:
    """What the report needs of one episode (small, picklable: Ray workers send it back).

    Attributes:
        seed, success, outcome, time_to_success (s or None), mode (or None).
        run_dir: its recording, or None.  inference_s: each chunk's inference time, s.
        first_observation: the observation batch of its first chunk (numpy, B = 1).
    """

    seed: int
    success: bool
    outcome: str
    time_to_success: float | None
    mode: str | None
    run_dir: str | None
    inference_s: list[float]
    first_observation: dict[str, np.ndarray] | None

    @classmethod
    def of(cls, result: EpisodeResult, source: PolicySource) -> EpisodeSummary:
        first = source.first_observation
        return cls(
            seed=result.seed,
            success=bool(result.success),
            outcome=result.result.outcome,
            time_to_success=result.time_to_success,
            mode=result.mode,
            run_dir=None if result.run_dir is None else str(result.run_dir),
            inference_s=list(source.inference_s),
            first_observation=None if first is None else {k: v.numpy() for k, v in first.items()},
        )


def run_episodes(
    policy: Policy, options: EvalOptions, specs: list[tuple], step: Callable[[], None]
) -> list[EpisodeSummary]:
    """The episodes of ``specs`` ((seed, perturbation or None, record) each), in order:
    one after the other, or ``options.num_envs`` at a time, each in a thread, the policy
    answering each wave's chunks with one batched call
    (`robostack.policies.batching.ChunkBatcher`)."""
    if options.num_envs > 1 and dict(options.predict).get("sampler") == "ddpm":
        raise ValueError(
            "DDPM adds noise at every step, which a batched call cannot draw per episode: "
            "batched rollouts (num_envs > 1) take ddim or dpmsolver"
        )
    done: list[EpisodeSummary] = []
    for start in range(0, len(specs), options.num_envs):
        wave = specs[start : start + options.num_envs]
        results = (
            [_episode(policy, options, *wave[0])]
            if len(wave) == 1
            else _wave(policy, options, wave)
        )
        for result in results:
            done.append(EpisodeSummary.of(*result))
            step()
    return done


def run_on_cluster(
    cluster: RayCluster, options: EvalOptions, specs: list[tuple]
) -> list[EpisodeSummary]:
    """`run_episodes` of ``specs`` on ``cluster``'s workers, ``options.num_envs`` per task
    (each worker a batched set), the policy loaded there from ``options.checkpoint``."""
    if options.checkpoint is None:
        raise ValueError("episodes on a cluster need options.checkpoint: workers load the policy")
    by_seed = {spec[0]: spec for spec in specs}
    seeds = list(by_seed)
    return list(cluster.map(_remote_episodes, (options, by_seed), seeds, batch=options.num_envs))


def _remote_episodes(payload: tuple, seeds: list[int]) -> list[EpisodeSummary]:
    """A Ray worker's share (`robostack.sessions.distributed`): the episodes of ``seeds``, the
    policy loaded from the options' checkpoint (once per worker process)."""
    options, by_seed = payload
    specs = [by_seed[seed] for seed in seeds]
    return run_episodes(_load(options.checkpoint), options, specs, lambda: None)


_policies: dict[Path, Policy] = {}


def _load(checkpoint: Path) -> Policy:
    from robostack.policies.checkpoint import load_policy

    if checkpoint not in _policies:
        _policies[checkpoint] = load_policy(checkpoint)
    return _policies[checkpoint]


def _wave(policy, options, wave: list[tuple]) -> list[tuple[EpisodeResult, PolicySource]]:
    """``wave``'s episodes at once, a thread each, their chunks predicted together."""
    embed_sentences(["load the sentence model here, once, not in every thread"])
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

    threads = [
        threading.Thread(target=work, args=(k, spec), daemon=True) for k, spec in enumerate(wave)
    ]
    with stop_workers_on_signals() as signalled:  # each episode STOPs, its recording kept
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    if signalled.asked:
        raise KeyboardInterrupt("the operator stopped the episodes (Ctrl-C or a stop signal)")
    return results


def _episode(
    policy, options, seed, perturbation, record, seat=None
) -> tuple[EpisodeResult, PolicySource]:
    cameras = cameras_at(policy.features.cameras)
    if isinstance(perturbation, CameraMove):  # the scene renders from the moved poses
        cameras = tuple(perturbation.moved(c, i) for i, c in enumerate(cameras))
        perturbation = None
    source = policy_source_factory(
        policy,
        seed=seed,
        latency_s=options.latency_s,
        perturbation=perturbation,
        options=dict(options.predict),
        seat=seat,
    )
    spec = EpisodeSpec(
        task=options.task,
        robot=options.robot,
        seed=seed,
        controller=options.controller,
        until_success=True,
        record=record,
        runs_dir=options.runs_dir,
    )
    result = run_episode(
        spec,
        source=source,
        simulator=options.simulator,
        cameras=cameras,
    )
    return result, source.sources[0]


def _report(policy, options, nominal: list[EpisodeSummary], robustness) -> dict:
    results = nominal
    n, wins = len(results), sum(r.success for r in results)
    times = [r.time_to_success for r in results if r.success]
    modes: dict[str, int] = {}
    for r in results:
        if r.success and r.mode is not None:
            modes[r.mode] = modes.get(r.mode, 0) + 1
    inference = np.concatenate([r.inference_s for r in nominal]) * 1e3
    nominal_rate = wins / n if n else 0.0
    for curve, points in robustness.items():
        key = "share" if curve in SHARE_CURVES else "amount"
        if curve != "blackout" and 0.0 in options.robustness_shares:
            points.insert(0, {key: 0.0, "success_rate": nominal_rate})
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
        "held_or_stopped": sum(r.outcome != "completed" for r in results),
        "failed_seeds": [r.seed for r in results if not r.success],
        "recordings": [r.run_dir for r in results if r.run_dir is not None],
        "latency_s": options.latency_s,
        "seeds": [options.seed, options.seed + n - 1],
    }


def _diversity(policy, nominal, options) -> float | None:
    """Mean pairwise distance of K joint chunks sampled for each scene's first observation;
    None when not measured (K < 2: no pairs)."""
    if options.diversity_samples < 2:
        return None
    values = []
    dof = policy.features.action_dim - 1
    for i, episode in enumerate(nominal[: options.diversity_scenes]):
        obs = {k: torch.from_numpy(v) for k, v in episode.first_observation.items()}
        batch = {k: v.expand(options.diversity_samples, *v.shape[1:]) for k, v in obs.items()}
        generator = torch.Generator().manual_seed(options.seed + i)
        chunks = policy.predict_chunk(batch, generator=generator, **dict(options.predict))
        values.append(mean_pairwise_distance(chunks[..., :dof].numpy()))
    return float(np.mean(values)) if values else 0.0
