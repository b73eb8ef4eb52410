"""Real-robot sessions: preflight, the start move, then the plan's episodes on the robot.

`open_robot` builds the plan's backend (unconnected). `run_on_robot` connects, opens the launch
file's cameras, runs the preflight checks (the cameras' too) and refuses to move when one fails,
then for each episode moves the arm slowly to the start configuration
(`robostack.runtime.start_move`) and runs the policy through the loop paced by the robot, the
twin scene judging the task, the cameras' newest frames the policy's images, start move and
episode in the episode's recording (`robostack.sessions.episodes.run_robot_episode`). A safety
stop or a robot fault ends the session; the robot is stopped and disconnected, the cameras
closed, on every exit path. Before anything connects the session collects the garbage and
freezes the heap (`settled_heap`), so no full collection stalls the loop while the arm moves.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from robostack.core.errors import RobostackError
from robostack.core.robot import Robot
from robostack.core.robots import get_robot
from robostack.launcher.plan import LaunchPlan
from robostack.runtime.backends import make_robot
from robostack.runtime.cameras import RealCameras
from robostack.runtime.loop import Link
from robostack.runtime.preflight import PreflightReport, check_cameras, check_robot
from robostack.sessions.episodes import EpisodeResult, run_robot_episode

SWITCH_INTERVAL_S = 0.0002  # the interpreter's thread switch interval during a real session


@contextmanager
def client_for(backend: str, robot: str, address: str, *, standin: str | None) -> Iterator[object]:
    """The vendor client to connect with: None (the installed vendor library), or with
    ``standin`` (``realtime`` or ``fast``) the simulated stand-in, serving a virtual arm at
    ``address`` meanwhile (a rehearsal without a robot,
    `robostack.hardware.rehearsal.standins.rehearsal`)."""
    if standin is None:
        yield None
        return
    from robostack.hardware.rehearsal.standins import rehearsal

    with rehearsal(backend, robot, address, realtime=standin == "realtime") as (client, _arm):
        yield client


def require_vendor_client(backend: str) -> None:
    """Import ``backend``'s vendor library (pylibfranka, ur_rtde); a missing one raises
    `RobostackError` naming the extra that installs it, before any process starts."""
    from robostack.hardware.vendor import import_vendor

    if backend == "franka_fci":
        import_vendor("pylibfranka", extra="franka")
    else:
        from robostack.hardware.ur.robot import vendor_client

        vendor_client()


def open_robot(plan: LaunchPlan, *, client=None) -> Robot:
    """The plan's real robot, unconnected; ``client`` replaces the vendor library."""
    launch = plan.launch
    options = launch.connection.backend_options(launch.robot.backend)
    description = get_robot(launch.robot.name)
    return make_robot(
        launch.robot.backend, description, address=plan.address, client=client, **options
    )


def run_on_robot(
    plan: LaunchPlan,
    robot: Robot,
    source_for: Callable[[int], Callable],
    *,
    progress: Callable[[int, int], None] | None = None,
    link: Link | None = None,
) -> tuple[list[EpisodeResult], PreflightReport]:
    """Run the plan's episodes on ``robot`` (module doc); ``source_for(seed)`` is the chunk
    source factory of an episode, ``link`` the process link of a split session. Returns the
    episodes run and the preflight report."""
    launch = plan.launch
    description = get_robot(launch.robot.name)
    results: list[EpisodeResult] = []
    with ExitStack() as stack:
        stack.enter_context(settled_heap())
        stack.enter_context(robot)
        cameras = None
        if launch.cameras:
            cameras = RealCameras(launch.camera_configs(), address=plan.address)
            stack.enter_context(cameras)
        stack.enter_context(responsive_threads())
        report = check_robot(
            robot,
            backend=launch.robot.backend,
            address=plan.address,
            q_start=description.q_home,
            payload_kg=launch.connection.payload_kg,
        )
        if cameras is not None:
            report.checks.extend(check_cameras(cameras))
        if not report.ok:
            raise RobostackError(f"preflight failed, nothing moved: {report.failures()}")
        for i in range(plan.episodes):
            source = source_for(plan.seed + i)  # a split session's server checked: not moved yet
            result = run_robot_episode(
                plan.episode(i),
                robot,
                source=source,
                link=link,
                cameras=cameras,
                q_start=description.q_home,
            )
            results.append(result)
            if progress is not None:
                progress(i + 1, plan.episodes)
            if result.result.outcome == "stopped" or result.ends_session:
                break  # a safety stop, a robot fault or the policy gone: no further episode
    return results, report


@contextmanager
def settled_heap() -> Iterator[None]:
    """Collect the garbage now, while nothing moves or waits, then keep the collector off every
    object that exists (`gc.freeze`) until the block ends.

    A full collection walks every tracked object while it holds the interpreter, and every
    thread waits: with a policy, a simulator and their libraries loaded (some 0.5 M objects)
    that is tens of ms on an idle machine and up to ~1 s on a loaded 2-core one, longer than
    FCI waits for a command and than a camera frame may age. Frozen, a collection walks only
    what the session made since; those objects are collected as usual. A heap already frozen
    by the caller is left as it is."""
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def responsive_threads() -> Iterator[None]:
    """Keep the control thread responsive next to the policy's inference thread: it takes the
    interpreter back within `SWITCH_INTERVAL_S` (Python's default is 5 ms, five Franka
    periods), and inference leaves it a core (torch would otherwise use them all)."""
    import torch

    interval, threads = sys.getswitchinterval(), torch.get_num_threads()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        torch.set_num_threads(threads)
