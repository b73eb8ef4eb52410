"""``robostack bench cameras``: the cost of one camera frame per simulator and resolution.

The same cameras (`robostack.sim.cameras.CAMERAS`) of a task's scene are rendered in MuJoCo
(offscreen EGL) and PyBullet (TinyRenderer) at each resolution, in one run: the median and p99
of ``frames`` renders after warm-up, the share of one policy period (1 / fps) a frame of every
camera takes, and PyBullet's time over MuJoCo's.
"""

from __future__ import annotations

from robostack.benchmarks.policy import time_chunks
from robostack.sessions.episodes import FPS
from robostack.sim import SIMULATORS, make_simulation
from robostack.sim.cameras import CAMERAS
from robostack.sim.tasks import make_task


def bench_cameras(
    *,
    task: str = "push",
    robot: str = "panda",
    sizes: tuple[int, ...] = (96, 224),
    frames: int = 30,
) -> list[dict]:
    """Rows {simulator, camera, width, height, median_ms, p99_ms, vs_mujoco}, then per
    simulator and size one row with camera "all": every camera once, and ``of_period``, its
    share of a policy period."""
    scene = make_task(task)
    rows = []
    for size in sizes:
        cameras = tuple(c.resized(size, size) for c in CAMERAS.values())
        for simulator in SIMULATORS:
            sim = make_simulation(
                simulator, robot=robot, objects=scene.scene_objects(), cameras=cameras
            )
            with sim:
                sim.reset(seed=0)
                scene.reset(sim, sim.rng)
                for camera in cameras:
                    timing = time_chunks(lambda s=sim, c=camera.name: s.render(c), calls=frames)
                    rows.append(_row(simulator, camera.name, size, timing))
                names = [c.name for c in cameras]
                every = time_chunks(lambda s=sim, n=names: [s.render(c) for c in n], calls=frames)
                row = _row(simulator, "all", size, every)
                row["of_period"] = every["median_ms"] / (1e3 / FPS)
                rows.append(row)
    mujoco = {(r["camera"], r["width"]): r["median_ms"] for r in rows if r["simulator"] == "mujoco"}
    for r in rows:
        r["vs_mujoco"] = r["median_ms"] / mujoco[(r["camera"], r["width"])]
    return rows


def _row(simulator: str, camera: str, size: int, timing: dict) -> dict:
    return {"simulator": simulator, "camera": camera, "width": size, "height": size} | timing
