"""A scene's cameras in MuJoCo: model cameras placed from `robostack.sim.cameras.Camera`, rendered
offscreen (``MUJOCO_GL=egl``; `robostack` sets it by default) with `mujoco.Renderer`.

A world camera is a camera of the world body, a wrist camera one of the tool link's body, so
MuJoCo moves it with the hand. MuJoCo's camera frame looks down its -z axis with y up: the
OpenCV frame of `Camera.mount_from_camera` turned half a turn about x. MuJoCo's vertical field
of view and square pixels are the pinhole model's.

`snapshot` and `SnapshotRenderer` render a copy of the scene's state in another process
(`robostack.sim.frames`): the snapshot holds what moves or changes (joint positions, the
markers' mocap poses, the colours and the fixtures' places a task sets); the renderer owns a
copy of the model and an `MjData` and recomputes the kinematics from the snapshot.

The renderers draw no shadows and no reflections: in Mesa's software EGL a shadow map costs
some 40 times the frame (about 400 ms against 10 ms at 96 x 96 on a 2-core machine).
"""

from __future__ import annotations

import mujoco
import numpy as np

from robostack.core.errors import RobostackError
from robostack.sim.cameras import Camera

OPENCV_TO_MUJOCO = np.diag([1.0, -1.0, -1.0])  # camera axes: (x, y down, z fwd) -> (x, y up, -z)


def add_cameras(spec: mujoco.MjSpec, cameras: tuple[Camera, ...], tool_link: str) -> None:
    """Add ``cameras`` to the uncompiled ``spec`` (wrist cameras on ``tool_link``'s body) and
    size the offscreen buffer for the largest, without multisampling (aliased edges, as
    PyBullet's TinyRenderer draws them; 8 ms instead of 20 ms a frame at 224 x 224)."""
    for camera in cameras:
        body = spec.worldbody if camera.mount == "world" else spec.body(tool_link)
        pose = camera.mount_from_camera()
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, (pose[:3, :3] @ OPENCV_TO_MUJOCO).ravel())
        body.add_camera(name=camera.name, pos=pose[:3, 3], quat=quat, fovy=camera.fovy_deg)
    if cameras:
        spec.visual.global_.offwidth = max(640, *(c.width for c in cameras))
        spec.visual.global_.offheight = max(480, *(c.height for c in cameras))
        spec.visual.quality.offsamples = 0


class MujocoCameras:
    """Renders a compiled scene's cameras (added by `add_cameras`); one renderer per
    resolution, made on first use. `close` frees their GL contexts."""

    def __init__(self, model: mujoco.MjModel, cameras: tuple[Camera, ...]):
        self.model = model
        self.cameras = {c.name: c for c in cameras}
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}

    def render(self, data: mujoco.MjData, name: str) -> np.ndarray:
        """Camera ``name``'s RGB image of ``data``, (height, width, 3) uint8, row 0 at the top."""
        renderer = self._renderer(name)
        renderer.update_scene(data, camera=name)
        return renderer.render()

    def geom_ids(self, data: mujoco.MjData, name: str) -> np.ndarray:
        """Which geom each pixel of camera ``name`` sees, (height, width) int (-1: none)."""
        renderer = self._renderer(name)
        renderer.enable_segmentation_rendering()
        try:
            renderer.update_scene(data, camera=name)
            ids, types = np.moveaxis(renderer.render(), -1, 0)
        finally:
            renderer.disable_segmentation_rendering()
        return np.where(types == mujoco.mjtObj.mjOBJ_GEOM, ids, -1)

    def open(self) -> None:
        """Make every camera's renderer now (its GL context on this thread), not at the first
        render."""
        for name in self.cameras:
            self._renderer(name)

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    def _renderer(self, name: str) -> mujoco.Renderer:
        try:
            camera = self.cameras[name]
        except KeyError:
            known = ", ".join(self.cameras) or "none"
            raise RobostackError(f"no camera {name!r}; the scene's cameras: {known}") from None
        size = (camera.height, camera.width)
        if size not in self._renderers:
            try:
                self._renderers[size] = mujoco.Renderer(self.model, *size)
            except mujoco.FatalError as error:
                raise RobostackError(
                    f"MuJoCo cannot render offscreen ({error}); install Debian's libegl1 "
                    "libegl-mesa0 libgl1-mesa-dri and set MUJOCO_GL=egl before mujoco is imported"
                ) from error
            flags = self._renderers[size].scene.flags
            flags[mujoco.mjtRndFlag.mjRND_SHADOW] = flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        return self._renderers[size]


def snapshot(model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
    """The scene now for a `SnapshotRenderer`, one flat float64 array: time s, qpos (nq,),
    mocap_pos (nmocap, 3), mocap_quat (nmocap, 4), and the model's geom_rgba (ngeom, 4) and
    body_pos (nbody, 3), which a task sets before an episode (colours, fixtures). A few kB,
    copied in microseconds."""
    return np.concatenate(
        (
            [data.time],
            data.qpos,
            data.mocap_pos.ravel(),
            data.mocap_quat.ravel(),
            model.geom_rgba.ravel(),
            model.body_pos.ravel(),
        )
    )


class SnapshotRenderer:
    """Renders `MujocoSnapshot` s of ``model``'s ``cameras`` (a `robostack.sim.frames`
    snapshot renderer): a copy of the model, its own `MjData` and renderers, for the one
    thread (of the render process) that uses it."""

    def __init__(self, model: mujoco.MjModel, cameras: tuple[Camera, ...]):
        self.model, self.data = model, mujoco.MjData(model)
        self.cameras = MujocoCameras(model, cameras)
        self.cameras.open()

    def __call__(self, snapshot: np.ndarray) -> dict[str, np.ndarray]:
        """{camera: (H, W, 3) uint8} of the scene as ``snapshot`` (`snapshot`'s array) holds
        it."""
        m, d = self.model, self.data
        parts = (d.qpos, d.mocap_pos, d.mocap_quat, m.geom_rgba, m.body_pos)
        ends = np.cumsum([1] + [part.size for part in parts])
        d.time = snapshot[0]
        for part, begin, end in zip(parts, ends[:-1], ends[1:], strict=True):
            part[:] = snapshot[begin:end].reshape(part.shape)
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        mujoco.mj_camlight(m, d)
        return {name: self.cameras.render(d, name) for name in self.cameras.cameras}

    def close(self) -> None:
        self.cameras.close()
