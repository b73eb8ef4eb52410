"""A real-robot session's cameras: what each is (`CameraConfig`, a launch file's
``[cameras.<name>]``) and the open set of them (`RealCameras`).

Each camera is read by a `robostack.hardware.cameras.FrameReader` that keeps its newest frame.
At each policy observation (10 Hz) the policy takes the newest frame of every camera; one
older than its ``max_age_s`` (default: 3 frame periods) raises `StaleFrameError`, on which the
loop HOLDs the arm (safety event ``camera_stale``), as it does when chunks stop coming.

Geometry: the pose is given in the mount's frame (``world``: the robot's base frame; ``wrist``:
the tool link's, moving with the hand) as a position and either a point looked at (with an up
direction, `robostack.sim.cameras.Camera`'s convention) or a quaternion [x, y, z, w] of the
camera frame (OpenCV axes: x right, y down, z along the optical axis). Intrinsics are fx, fy,
cx, cy in pixels, else those the device reports (RealSense), else a pinhole of
`DEFAULT_FOVY_DEG` vertical field of view centred on the image.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from robostack.core.errors import ObservationError, RobostackError
from robostack.hardware.cameras import (
    CAMERA_BACKENDS,
    CameraDevice,
    Frame,
    FrameReader,
    open_camera,
)
from robostack.sim.cameras import MOUNTS, Camera, pose_matrix

DEFAULT_FOVY_DEG = Camera.fovy_deg  # assumed when neither the launch file nor the device says
STALE_PERIODS = 3  # the default bound on a frame's age, in frame periods
FIRST_FRAME_TIMEOUT_S = 5.0


class StaleFrameError(ObservationError):
    """A camera's newest frame is older than its bound: the policy must not act on it."""


BACKENDS = (*CAMERA_BACKENDS, "virtual")


@dataclass(frozen=True, kw_only=True)
class CameraConfig:
    """One real camera (module doc for the geometry).

    Attributes:
        backend: ``opencv``, ``realsense`` or ``virtual`` (a virtual controller's scene
            camera, for rehearsal: `robostack.hardware.rehearsal.virtual.camera`).
            device: OpenCV's device index, device path or a video file (relative paths are the
            caller's to resolve); for ``virtual`` the scene camera's name ("": the table's).
            serial: the RealSense's serial number ("": the one connected).
        width, height: the resolution it must deliver, pixels.  fps: its frame rate, Hz.
        fx, fy, cx, cy: intrinsics, pixels (all four, or none: 0).
        mount: ``world`` or ``wrist``.  position: (3,) m.  look_at: (3,) m, or quaternion:
            (4,) [x, y, z, w].  up: (3,) with look_at.
        max_age_s: the oldest frame the policy may take, s (0: `STALE_PERIODS` periods).
        loop: a video file starts again at its end.
    """

    backend: str = "opencv"
    device: int | str = 0
    serial: str = ""
    width: int = 640
    height: int = 480
    fps: float = 30.0
    fx: float = 0.0
    fy: float = 0.0
    cx: float = 0.0
    cy: float = 0.0
    mount: str = "world"
    position: list[float] = field(default_factory=list)
    look_at: list[float] = field(default_factory=list)
    up: list[float] = field(default_factory=lambda: [0.0, 0.0, 1.0])
    quaternion: list[float] = field(default_factory=list)
    max_age_s: float = 0.0
    loop: bool = True

    def __post_init__(self) -> None:
        problems = [
            (self.backend not in BACKENDS, f"backend must be one of {BACKENDS}"),
            (self.mount not in MOUNTS, f"mount must be one of {MOUNTS}"),
            (
                not (1 <= self.width <= 8192 and 1 <= self.height <= 8192),
                "width and height must be in [1, 8192] pixels",
            ),
            (not 0 < self.fps <= 1000, f"fps must be in (0, 1000], got {self.fps}"),
            (not 0 <= self.max_age_s <= 10, f"max_age_s must be in [0, 10], got {self.max_age_s}"),
            (
                len({v == 0 for v in self.intrinsic_values}) > 1 or min(self.intrinsic_values) < 0,
                "fx, fy, cx, cy: give all four (pixels, fx and fy > 0), or none",
            ),
            (len(self.position) != 3, "position needs 3 numbers (m, in the mount's frame)"),
            (bool(self.look_at) == bool(self.quaternion), "give look_at or quaternion (one)"),
            (bool(self.look_at) and len(self.look_at) != 3, "look_at needs 3 numbers"),
            (len(self.up) != 3, "up needs 3 numbers"),
            (
                bool(self.quaternion)
                and (len(self.quaternion) != 4 or not 0.5 < math.hypot(*self.quaternion) < 2),
                "quaternion needs 4 numbers [x, y, z, w], of norm near 1",
            ),
            (
                not all(
                    map(math.isfinite, [*self.position, *self.look_at, *self.up, *self.quaternion])
                ),
                "the pose needs finite numbers",
            ),
        ]
        for broken, reason in problems:
            if broken:
                raise RobostackError(reason)
        if self.look_at:
            self._pinhole()  # refuses an up along the axis

    @property
    def intrinsic_values(self) -> tuple[float, float, float, float]:
        return (self.fx, self.fy, self.cx, self.cy)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width), pixels."""
        return self.height, self.width

    @property
    def max_age(self) -> float:
        """The oldest frame the policy may take, s."""
        return self.max_age_s or STALE_PERIODS / self.fps

    def mount_from_camera(self) -> np.ndarray:
        """(4, 4) the camera frame (OpenCV axes) in its mount's frame."""
        if self.look_at:
            return self._pinhole().mount_from_camera()
        rotation = Rotation.from_quat(self.quaternion).as_matrix()
        return pose_matrix(rotation, np.asarray(self.position, float))

    def intrinsics(self, reported: np.ndarray | None = None) -> np.ndarray:
        """(3, 3) K: the configured intrinsics, else ``reported`` (the device's), else the
        default pinhole (module doc)."""
        if self.fx:
            return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])
        if reported is not None:
            return reported
        f = 0.5 * self.height / math.tan(math.radians(DEFAULT_FOVY_DEG) / 2.0)
        return np.array([[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0, 0, 1.0]])

    def _pinhole(self) -> Camera:
        position, look_at, up = (
            tuple(map(float, v)) for v in (self.position, self.look_at, self.up)
        )
        return Camera("", self.mount, position=position, look_at=look_at, up=up)


def _device(name: str, c: CameraConfig, address: str) -> CameraDevice:
    """The unopened device of camera ``name`` (``address``: the robot's, for ``virtual``)."""
    if c.backend == "virtual":
        from robostack.hardware.rehearsal.virtual.camera import VirtualCamera

        return VirtualCamera(address, str(c.device or name))
    device = c.serial if c.backend == "realsense" else c.device
    return open_camera(
        c.backend, device=device, width=c.width, height=c.height, fps=c.fps, loop=c.loop
    )


class RealCameras:
    """The named real cameras of ``configs``, each read in its own thread once `open`
    (a context manager: open on entry, closed on every exit). ``configs`` {name: CameraConfig}
    with their devices resolved; ``address``: the robot's (a ``virtual`` camera's server)."""

    def __init__(self, configs: dict[str, CameraConfig], *, address: str = ""):
        self.configs = dict(configs)
        self.readers = {
            name: FrameReader(_device(name, c, address)) for name, c in self.configs.items()
        }
        self._started: list[FrameReader] = []

    def open(self, *, timeout_s: float = FIRST_FRAME_TIMEOUT_S) -> RealCameras:
        """Start every camera and wait for its first frame; `RobostackError` naming the camera
        (those already started are closed)."""
        try:
            for name, reader in self.readers.items():
                try:
                    reader.start()
                except RobostackError as error:
                    raise RobostackError(f"camera {name!r}: {error}") from None
                self._started.append(reader)
            for reader in self._started:
                reader.wait_first(timeout_s)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop and release every started camera."""
        while self._started:
            self._started.pop().close()

    def __enter__(self) -> RealCameras:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def sizes(self) -> dict[str, tuple[int, int]]:
        """{name: (height, width)} as configured (`robostack.policies.features.check_cameras`)."""
        return {name: c.size for name, c in self.configs.items()}

    def newest(self) -> dict[str, Frame]:
        """{name: its newest frame}."""
        frames = {name: reader.newest() for name, reader in self.readers.items()}
        missing = [name for name, frame in frames.items() if frame is None]
        if missing:
            raise RobostackError(f"camera(s) {', '.join(missing)}: no frame yet (not open?)")
        return frames

    def images(self) -> dict[str, np.ndarray]:
        """{name: (H, W, 3) uint8} the newest frame of each camera, for the policy;
        `StaleFrameError` when one is older than its bound."""
        frames, now = self.newest(), time.monotonic()
        for name, frame in frames.items():
            age, limit = now - frame.t, self.configs[name].max_age
            if age > limit:
                error = self.readers[name].error
                why = f" (the camera failed: {error})" if error is not None else ""
                raise StaleFrameError(
                    "camera_stale",
                    f"camera {name!r}: the newest frame is {age * 1e3:.0f} ms old, more than "
                    f"{limit * 1e3:.0f} ms{why}",
                    value=age,
                    limit=limit,
                )
        return {name: frame.image for name, frame in frames.items()}

    def views(self, tool_pose: Callable[[], np.ndarray]) -> CameraViews:
        """The cameras as an episode sees them, ``tool_pose()`` (4, 4) placing wrist cameras."""
        return CameraViews(self, tool_pose)


class CameraViews:
    """What an episode takes from the cameras (a `robostack.sim.frames.FrameSource`): the
    policy's images (`RealCameras.images`), the recording's frames with their pinhole and pose,
    and the sizes. The frames are captured already (reader threads): any tick may take them."""

    snapshots = True  # `request` is offered, answered at once

    def __init__(self, cameras: RealCameras, tool_pose: Callable[[], np.ndarray]):
        self.cameras, self.tool_pose = cameras, tool_pose

    def __call__(self) -> dict[str, np.ndarray]:
        return self.cameras.images()

    def request(self) -> Future[dict[str, np.ndarray]]:
        """The newest frames, as a done future (`StaleFrameError` raised here, in the tick)."""
        future: Future[dict[str, np.ndarray]] = Future()
        future.set_result(self())
        return future

    def sizes(self) -> dict[str, tuple[int, int]]:
        return self.cameras.sizes()

    def with_poses(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """{name: (image, K (3, 3), pose (4, 4) in the base frame)} of the newest frames."""
        frames, views = self.cameras.newest(), {}
        for name, config in self.cameras.configs.items():
            pose = config.mount_from_camera()
            if config.mount == "wrist":
                pose = self.tool_pose() @ pose
            reported = self.cameras.readers[name].device.intrinsics()
            views[name] = (frames[name].image, config.intrinsics(reported), pose)
        return views
