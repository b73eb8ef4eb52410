"""The soak: a split session run in real time for minutes, checked for slow decay.

`soak` starts a policy server (`robostack.launcher.supervisor.serving`) and, in this process as the
control process, runs the plan's task episode after episode (seeds ``plan.seed``, +1, ...) in
real time in MuJoCo with the policy acting, every episode recorded, until the time is up (counted
from the server's first heartbeat: its start-up is no part of the soak).
After each episode it measures

- tick timing: late ticks (a period over 1.5 control periods), the worst second (the most late
  ticks in one second's worth of ticks) and the longest run of consecutive late ticks;
- reactions: safety events per check and reaction;
- memory: the resident set size of both processes;
- the recording: summary.json holds every tick the loop ran, none dropped, no recording error,
  and events.jsonl every event; the first and the last recording are read back with Rerun's
  reader (their tick count). Verified recordings are deleted unless ``keep_recordings``.

The verdict (``ok``): no late-tick storm (no second with more than `STORM_SHARE` of its ticks
late), no process growing by more than ``memory_bound_mb`` after the first episode, every
recording complete, no STOP, and the policy server alive to the end.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from robostack.core.robots import get_robot
from robostack.launcher.plan import LaunchPlan
from robostack.launcher.session import remote_sources
from robostack.launcher.supervisor import serving, with_session_channels
from robostack.runtime.control_link import ControlLink
from robostack.runtime.loop import LoopResult
from robostack.sessions.episodes import EpisodeResult, run_episode

STORM_SHARE = 0.05  # a second with more late ticks than this share is a storm
MEMORY_BOUND_MB = 50.0


def soak(
    plan: LaunchPlan,
    *,
    minutes: float,
    runs_dir: Path,
    memory_bound_mb: float = MEMORY_BOUND_MB,
    keep_recordings: bool = False,
    progress: Callable[[float], None] | None = None,
) -> dict:
    """Run the soak (module doc); the report. ``progress(minutes_done)`` after each episode."""
    dt = get_robot(plan.launch.robot.name).spec.dt
    plan = with_session_channels(plan)
    episodes: list[dict] = []
    memory: list[tuple[float, float, float]] = []  # (minutes, control MB, server MB)
    first = latest = None  # recordings read back at the end; the others are deleted
    with serving(plan) as server, ControlLink(config=plan.launch.ipc) as link:
        sources = remote_sources(plan, link)
        link.wait_for_policy()  # the server's start-up (torch's import) is no part of the soak
        began = time.monotonic()
        while time.monotonic() - began < minutes * 60 and server.poll() is None:
            i = len(episodes)
            factory = sources(plan.seed + i)
            spec = replace(plan.episode(i), record=True, runs_dir=runs_dir)
            result = run_episode(spec, source=factory, simulator=plan.simulator, link=link)
            done = (time.monotonic() - began) / 60
            memory.append((done, rss_mb("self"), rss_mb(server.pid)))
            episodes.append(_episode_report(result, factory.sources[-1].stats(), dt))
            if first is None:
                first = result.run_dir
            elif episodes[-1]["recording_complete"]:  # incomplete ones stay for a person
                if latest is not None and not keep_recordings:
                    shutil.rmtree(latest)
                latest = result.run_dir
            if progress is not None:
                progress(done)
        alive = server.poll() is None
    read_back = [_read_back(path, episodes) for path in (first, latest) if path is not None]
    return _verdict(plan, episodes, memory, read_back, alive, server.report, memory_bound_mb, dt)


def rss_mb(pid: int | str) -> float:
    """Resident set size of process ``pid`` ("self": this one), MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def late_ticks(result: LoopResult, dt: float) -> dict:
    """Late ticks of one run: how many, the worst second's count, the longest run."""
    late = result.period_ns[1:] > LoopResult.LATE * dt * 1e9
    per_second = max(1, round(1.0 / dt))
    windows = [int(late[k : k + per_second].sum()) for k in range(0, late.size, per_second)]
    longest = run = 0
    for flag in late:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return {
        "late": int(late.sum()),
        "worst_second": max(windows, default=0),
        "longest_run": longest,
    }


def _episode_report(result: EpisodeResult, link_stats: dict, dt: float) -> dict:
    loop = result.result
    summary = _read_summary(result.run_dir)
    events_written = (result.run_dir / "events.jsonl").read_text().count("\n")
    complete = (
        summary.get("recorded_ticks") == loop.ticks
        and summary.get("dropped_ticks") == 0
        and summary.get("recording_error") is None
        and events_written == len(loop.events)
    )
    return {
        "seed": result.seed,
        "success": result.success,
        "outcome": loop.outcome,
        "ticks": loop.ticks,
        "period_ms": loop.timing(dt)["period_ms"],
        **late_ticks(loop, dt),
        "reactions": [(e.check, e.reaction.name) for e in loop.events],
        "link": link_stats,
        "recording": str(result.run_dir),
        "recording_complete": complete,
    }


def _read_summary(run_dir: Path) -> dict:
    path = run_dir / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _read_back(path: Path, episodes: list[dict]) -> dict:
    """The .rrd read back with Rerun's reader: its joint samples against the ticks run."""
    from robostack.runtime.recording.reader import joint_signal

    ticks_run = next(e["ticks"] for e in episodes if e["recording"] == str(path))
    ticks, _ = joint_signal(path / "session.rrd", "q")
    return {"recording": str(path), "ticks_run": ticks_run, "ticks_read": int(ticks.size)}


def _verdict(plan, episodes, memory, read_back, alive, server_report, bound_mb, dt) -> dict:
    n = len(episodes)
    ticks = sum(e["ticks"] for e in episodes)
    late = sum(e["late"] for e in episodes)
    worst_second = max((e["worst_second"] for e in episodes), default=0)
    reactions = Counter(
        f"{check} ({reaction})" for e in episodes for check, reaction in e["reactions"]
    )
    samples = np.array(memory) if memory else np.zeros((0, 3))
    growth = {}
    for column, name in ((1, "control"), (2, "policy_server")):
        values = samples[1:, column] if len(samples) > 1 else samples[:, column]
        times = samples[1:, 0] if len(samples) > 1 else samples[:, 0]
        slope = float(np.polyfit(times, values, 1)[0]) if len(values) > 2 else 0.0
        growth[name] = {
            "first_mb": float(values[0]) if len(values) else float("nan"),
            "last_mb": float(values[-1]) if len(values) else float("nan"),
            "max_mb": float(values.max()) if len(values) else float("nan"),
            "growth_mb": float(values.max() - values[0]) if len(values) else 0.0,
            "slope_mb_per_min": slope,
        }
    recordings_complete = all(e["recording_complete"] for e in episodes) and all(
        r["ticks_read"] == r["ticks_run"] for r in read_back
    )
    stops = sum(1 for e in episodes for _, reaction in e["reactions"] if reaction == "STOP")
    storm = worst_second > STORM_SHARE / dt
    memory_ok = all(g["growth_mb"] <= bound_mb for g in growth.values())
    latencies = [e["link"]["latency_ms"]["p99"] for e in episodes if e["link"]["latency_ms"]]
    return {
        "ok": bool(n and not storm and memory_ok and recordings_complete and not stops and alive),
        "minutes": float(samples[-1, 0]) if len(samples) else 0.0,
        "episodes": n,
        "successes": sum(e["success"] for e in episodes),
        "ticks": ticks,
        "late_ticks": late,
        "late_share": late / ticks if ticks else 0.0,
        "worst_second_late": worst_second,
        "longest_late_run": max((e["longest_run"] for e in episodes), default=0),
        "storm": storm,
        "period_p99_ms_worst": max((e["period_ms"]["p99"] for e in episodes), default=0.0),
        "period_max_ms": max((e["period_ms"]["max"] for e in episodes), default=0.0),
        "latency_p99_ms_worst": max(latencies, default=None),
        "reactions": dict(reactions),
        "stops": stops,
        "memory": growth,
        "memory_bound_mb": bound_mb,
        "recordings": {
            "episodes_recorded": n,
            "complete": recordings_complete,
            "incomplete": [e["recording"] for e in episodes if not e["recording_complete"]],
            "read_back": read_back,
        },
        "policy_server": {"alive_to_the_end": alive, **server_report.to_dict()},
        "plan": plan.to_dict(),
    }
