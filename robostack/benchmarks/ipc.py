"""Why the split matters: one real-time session with the policy in three places, in one run.

The plan's task runs in real time in MuJoCo, episode after episode (seeds ``plan.seed``, +1,
...) until ``seconds`` of robot time, with the policy

- ``inline``: called by the loop's own tick (inference blocks the tick that asks);
- ``thread``: in a worker thread of the loop's process (the real-robot sessions before the
  split: the interpreter's switch interval lowered to 0.2 ms, torch on one core);
- ``process``: in a policy server over LCM (`robostack.transport`);
- ``images`` (given a DiT from pixels for the same task): in a policy server over LCM, the
  control process rendering the checkpoint's cameras at the policy rate and sending them with
  each observation (`robostack.transport.images`, as the launch file's ``[ipc]`` says: JPEG by
  default). Its row adds the bytes per second per camera; its latency includes the pixel
  DiT's image encoder, so every row gives the inference time beside it, and the rows over LCM
  ``transport_ms``: per chunk, the latency less the server's inference time (encoding,
  sending, decoding and waiting).

For each it gathers the loop's tick periods (median, p99, max, jitter = standard deviation,
late ticks over 1.5 control periods) and the observation-to-chunk latency: wall time from the
observation a chunk was computed from to the tick that hands it to the loop. Torch uses one
thread (the thread placement: all cores but one, one on a 2-core machine), so the placements
differ only in where inference runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from robostack.core.robots import get_robot
from robostack.launcher.plan import LaunchPlan
from robostack.runtime.loop import period_timing
from robostack.sessions.episodes import run_episode
from robostack.transport.stats import percentiles

PLACEMENTS = ("inline", "thread", "process")


def bench_ipc(
    plan: LaunchPlan,
    *,
    seconds: float,
    progress: Callable[[str], None] | None = None,
    pixels: Path | None = None,
) -> dict:
    """Measure every placement (module doc), ``images`` with the pixel checkpoint ``pixels``
    (None: no such row); the rows and their ratios to ``process``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = []
        for placement in PLACEMENTS + (() if pixels is None else ("images",)):
            if progress is not None:
                progress(placement)
            measured = plan if placement != "images" else replace(plan, checkpoint=pixels)
            rows.append(_measure(measured, placement, seconds))
    finally:
        torch.set_num_threads(threads)
    split = rows[PLACEMENTS.index("process")]
    for row in rows:
        row["vs_process"] = {
            "late_ticks": _ratio(row["late_ticks"], split["late_ticks"]),
            "jitter": _ratio(row["period_ms"]["jitter"], split["period_ms"]["jitter"]),
            "period_p99": _ratio(row["period_ms"]["p99"], split["period_ms"]["p99"]),
        }
    return {"task": plan.task, "goal": plan.interpretation.goal, "seconds": seconds, "rows": rows}


def _measure(plan: LaunchPlan, placement: str, seconds: float) -> dict:
    from robostack.launcher.real_session import responsive_threads
    from robostack.launcher.session import checkpoint_cameras, local_sources, remote_sources
    from robostack.launcher.supervisor import serving
    from robostack.runtime.control_link import ControlLink

    dt = get_robot(plan.launch.robot.name).spec.dt
    with contextlib.ExitStack() as stack:
        link, cameras = None, checkpoint_cameras(plan)
        if placement in ("process", "images"):
            stack.enter_context(serving(plan))
            link = stack.enter_context(ControlLink(config=plan.launch.ipc))
            sources = remote_sources(plan, link)
        else:
            if placement == "thread":
                stack.enter_context(responsive_threads())
            sources = local_sources(plan, thread=placement == "thread")
        periods, latencies, inference, transport = [], [], [], []
        successes, robot_time, i = 0, 0.0, 0
        image_bytes: dict[str, list[int]] = {}
        while robot_time < seconds:
            factory = sources(plan.seed + i)
            spec = replace(plan.episode(i), record=False, realtime=True)
            result = run_episode(
                spec, source=factory, simulator=plan.simulator, link=link, cameras=cameras
            )
            periods.append(result.result.period_ns[1:] / 1e6)
            source = factory.sources[-1]
            latencies += source.latency_ms
            if link is None:
                inference += [1e3 * s for s in source.inference_s]
            else:  # as the server reported it, chunk by chunk with the latency
                inference += source.inference_ms
                transport += list(np.subtract(source.latency_ms, source.inference_ms))
                for name, sizes in source.image_bytes.items():
                    image_bytes.setdefault(name, []).extend(sizes)
            fps = source.features.fps
            successes += result.success
            robot_time += result.duration_s
            i += 1
    periods = np.concatenate(periods)
    return {
        "placement": placement,
        "episodes": i,
        "successes": successes,
        "ticks": int(periods.size),
        **period_timing(periods, dt),
        "latency_ms": percentiles(latencies),
        "inference_ms": percentiles(inference),
        "transport_ms": percentiles(transport),
        "camera_bytes_per_s": {
            name: float(np.mean(sizes)) * fps for name, sizes in image_bytes.items()
        },
    }


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None
