"""Batched rollouts give every seed the outcome it gets alone, and Ctrl-C stops them all."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from robostack.core.paths import CHECKPOINTS
from robostack.policies.checkpoint import load_policy
from robostack.sessions.evaluation.evaluate import EvalOptions, run_episodes


def test_four_episodes_at_once_match_four_alone():
    policy = load_policy(CHECKPOINTS / "obstacle")
    specs = [(seed, None, False) for seed in range(4)]
    alone = run_episodes(policy, EvalOptions(task="obstacle", record=0), specs, lambda: None)
    options = EvalOptions(task="obstacle", record=0, num_envs=4)
    together = run_episodes(policy, options, specs, lambda: None)
    for a, b in zip(alone, together, strict=True):
        assert (a.seed, a.success, a.mode) == (b.seed, b.success, b.mode)
        assert a.time_to_success == pytest.approx(b.time_to_success, abs=0.05)
        assert len(b.inference_s) >= 5  # it asked, and was answered, chunk after chunk


def test_ctrl_c_stops_every_episode_of_a_wave_and_keeps_their_recordings(tmp_path):
    """The episodes run on worker threads; SIGINT reaches the main thread only."""
    policy = load_policy(CHECKPOINTS / "pick_place")  # 8 s episodes: still running at the stop
    options = EvalOptions(task="pick_place", num_envs=2, runs_dir=tmp_path)

    def interrupt_once_recording() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sizes = [rrd.stat().st_size for rrd in tmp_path.glob("*/session.rrd")]
            if len(sizes) == 2 and min(sizes) > 0:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    threading.Thread(target=interrupt_once_recording, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run_episodes(policy, options, [(0, None, True), (1, None, True)], lambda: None)
    runs = sorted(tmp_path.iterdir())
    assert len(runs) == 2
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        assert summary["outcome"] == "stopped" and summary["recorded_ticks"] > 0
        assert "operator_stop" in (run / "events.jsonl").read_text()
