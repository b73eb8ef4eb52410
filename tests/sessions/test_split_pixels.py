"""A DiT from pixels across the process split, over real LCM: the control side renders the
cameras at the policy rate and sends them with each observation; the server's policy sees the
frames the control side rendered (raw: exactly; JPEG: within its error). The server runs in a
thread of the test, so both ends can be watched."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

from robostack.core.robots import get_robot
from robostack.policies.runner import PolicyRunner
from robostack.runtime.control_link import ControlLink
from robostack.runtime.remote_source import remote_source_factory
from robostack.sessions.episodes import FPS, EpisodeSpec, run_episode
from robostack.sessions.policy_server import PolicyServer
from robostack.sim.cameras import cameras_at
from tests.sessions.test_pixel_episodes import CAMERAS, PATIENT, pixel_dit
from tests.transport.helpers import private_config

LANGUAGE = np.linspace(-0.3, 0.3, 384).astype(np.float32)


@pytest.mark.parametrize("encoding", ["jpeg", "rgb8"])
def test_the_servers_policy_sees_the_frames_the_control_side_rendered(encoding, monkeypatch):
    # the policy in a thread of this process competes with the loop for the interpreter:
    # generous watchdogs, so a slow chunk on a loaded machine does not end the episode
    config = private_config(
        image_encoding=encoding, policy_timeout_s=3.0, max_chunk_age_s=3.0, startup_timeout_s=60
    )
    seen: dict[int, dict[str, np.ndarray]] = {}  # observation index -> what the policy got
    observe = PolicyRunner.observe

    def watched(self, robot, environment, *, images=None, index=None):
        seen[index] = {name: frame.copy() for name, frame in images.items()}
        return observe(self, robot, environment, images=images, index=index)

    monkeypatch.setattr(PolicyRunner, "observe", watched)
    server = PolicyServer(
        pixel_dit(),
        checkpoint="pixels",
        robot="panda",
        tasks=["reach"],
        config=config,
        options={"sampler": "ddim", "steps": 2},
        embed=lambda task: LANGUAGE,
    )
    done = threading.Event()
    serving = threading.Thread(target=server.serve, kwargs={"should_stop": done.is_set})
    serving.start()
    rendered: list[dict[str, np.ndarray]] = []  # per observation, in order
    try:
        with ControlLink(config=config) as link:
            factory = remote_source_factory(
                link, seed=0, task="reach", robot="panda", spec=get_robot("panda").spec
            )

            def source(context):
                def images():
                    frames = context.images()
                    rendered.append({name: frame.copy() for name, frame in frames.items()})
                    return frames

                return factory(dataclasses.replace(context, images=images))

            result = run_episode(
                EpisodeSpec(task="reach", seed=3, realtime=True, safety=PATIENT),
                source=source,
                link=link,
                cameras=cameras_at(CAMERAS),
            )
        # the server takes the last observations as its thread gets its turn (seconds, on a
        # loaded machine): it serves until it has seen them all, or a minute has passed
        deadline = time.monotonic() + 60
        while len(seen) < len(rendered) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        done.set()
        serving.join()
    assert result.result.outcome == "completed", result.result.events
    stats = factory.sources[0].stats()
    # observation 0 goes out again every 0.5 s until its chunk comes: a slow first chunk
    # makes repeats the server drops as out of order, and nothing else
    assert stats["chunks"] >= 2 and set(server.stats()["dropped"]) <= {"ipc_out_of_order"}
    # one render per observation, at the policy rate
    assert len(rendered) == stats["observations"]
    assert abs(len(rendered) - result.duration_s * FPS) <= 1
    assert len(seen) >= len(rendered) - 2  # the last ones may be lost on their way
    for index, frames in seen.items():
        assert set(frames) == {name for name, _, _ in CAMERAS}
        for name, frame in frames.items():
            sent = rendered[index][name]
            assert frame.shape == sent.shape and frame.dtype == np.uint8
            error = np.abs(frame.astype(int) - sent.astype(int))
            if encoding == "rgb8":
                assert not error.any(), (index, name)
            else:  # quality 90, 4:4:4: a few levels on average, edges worse
                assert error.mean() < 3.0 and np.percentile(error, 99) < 40, (index, name)
    # the frames moved with the arm: not one frame sent again and again
    assert any(not np.array_equal(seen[0]["wrist"], frames["wrist"]) for frames in seen.values())
