"""Cameras of a task scene, as data, and the pinhole model every simulator renders them with.

A `Camera` is mounted in the world (the robot's base frame, where the scene's positions are) or
on the wrist (the tool link's frame, `robostack.core.robots.RobotDescription.tool_link`, so it
moves with the hand). Its pose is given in the mount's frame as a position and a point it looks
at, with an up direction; its image is ``height`` x ``width`` pixels with the vertical field of
view ``fovy_deg`` and square pixels.

Frames: the camera frame is OpenCV's (x right, y down, z forward along the optical axis); pixel
(u, v) = (column, row) with (0, 0) the top-left pixel's top-left corner, so the centre of pixel
(i, j) is at (j + 0.5, i + 0.5). `intrinsics` gives K, `world_from_camera` the camera's pose in the
world for its mount's pose, and `project` maps world points to pixels: what each simulator's
renderer (`robostack.sim.mujoco.camera`, `robostack.sim.pybullet.camera`) must agree with.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from robostack.core.errors import RobostackError

MOUNTS = ("world", "wrist")
NEAR_M, FAR_M = 0.01, 5.0  # clipping planes of every renderer, m


@dataclass(frozen=True)
class Camera:
    """A pinhole camera of the scene.

    Attributes:
        name: e.g. "front"; its dataset feature is ``observation.images.<name>``.
        mount: "world" (fixed in the base frame) or "wrist" (fixed in the tool link's frame).
        position: (3,) the optical centre in the mount's frame, m.
        look_at: (3,) a point on the optical axis in the mount's frame, m.
        up: (3,) a direction in the mount's frame that points up in the image (not along the
            axis).
        fovy_deg: vertical field of view, degrees.
        width, height: resolution, pixels.
    """

    name: str
    mount: str
    position: tuple[float, float, float]
    look_at: tuple[float, float, float]
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    fovy_deg: float = 60.0
    width: int = 96
    height: int = 96

    def __post_init__(self) -> None:
        if self.mount not in MOUNTS:
            raise RobostackError(f"camera {self.name!r}: mount must be one of {MOUNTS}")
        if not 0.0 < self.fovy_deg < 180.0 or self.width < 1 or self.height < 1:
            raise RobostackError(f"camera {self.name!r}: needs 0 < fovy < 180 and a resolution")
        forward = np.subtract(self.look_at, self.position)
        if np.linalg.norm(np.cross(forward, self.up)) < 1e-9:
            raise RobostackError(f"camera {self.name!r}: up is along the optical axis")

    @property
    def shape(self) -> tuple[int, int, int]:
        """(height, width, 3): the shape of one RGB frame."""
        return (self.height, self.width, 3)

    def resized(self, width: int, height: int) -> Camera:
        """The same camera at another resolution (same vertical field of view)."""
        return dataclasses.replace(self, width=width, height=height)

    def intrinsics(self) -> np.ndarray:
        """(3, 3) K: focal length f = (height / 2) / tan(fovy / 2) pixels on both axes,
        principal point at the image centre (width / 2, height / 2)."""
        f = 0.5 * self.height / math.tan(math.radians(self.fovy_deg) / 2.0)
        return np.array([[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0, 0, 1.0]])

    def mount_from_camera(self) -> np.ndarray:
        """(4, 4) the camera frame (OpenCV axes) in its mount's frame."""
        z = np.subtract(self.look_at, self.position)
        z /= np.linalg.norm(z)
        x = np.cross(z, self.up)  # right = forward x up; down = forward x right
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        pose = np.eye(4)
        pose[:3, :3] = np.stack([x, y, z], axis=1)
        pose[:3, 3] = self.position
        return pose

    def world_from_camera(self, world_from_mount: np.ndarray | None = None) -> np.ndarray:
        """(4, 4) the camera's pose in the world: for a wrist camera ``world_from_mount`` is the
        tool link's pose (4, 4); a world camera needs none."""
        if self.mount == "world":
            return self.mount_from_camera()
        if world_from_mount is None:
            raise RobostackError(f"camera {self.name!r} is on the wrist: it needs the tool pose")
        return world_from_mount @ self.mount_from_camera()

    def project(self, points: np.ndarray, world_from_mount: np.ndarray | None = None) -> np.ndarray:
        """World points (N, 3) m -> pixel coordinates (N, 2) (u, v); points behind the camera
        give NaN."""
        pose = self.world_from_camera(world_from_mount)
        rotation, origin = pose[:3, :3], pose[:3, 3]
        local = (np.atleast_2d(points) - origin) @ rotation  # R^T (p - o), row-wise
        depth = local[:, 2:3]
        with np.errstate(divide="ignore", invalid="ignore"):
            pixels = (local @ self.intrinsics().T)[:, :2] / depth
        return np.where(depth > 0, pixels, np.nan)


@dataclass(frozen=True)
class CameraMove:
    """A camera knocked from its pose (partial-observation evaluation): its optical centre and
    look-at point shifted together by ``shift_m`` along a direction drawn from ``seed`` (its
    orientation kept), then its optical axis turned by ``turn_deg`` about the centre, about an
    axis perpendicular to it drawn from ``seed`` (a point on the old axis moves f tan(turn)
    pixels from the image centre). Each camera of a scene draws its own directions
    (``index``: its place in the scene)."""

    shift_m: float = 0.0
    turn_deg: float = 0.0
    seed: int = 0

    def moved(self, camera: Camera, index: int = 0) -> Camera:
        """``camera`` moved (same name, mount and resolution)."""
        rng = np.random.default_rng([self.seed, index])
        shift = rng.normal(size=3)
        shift *= self.shift_m / np.linalg.norm(shift)
        position = np.add(camera.position, shift)
        axis = np.subtract(camera.look_at, camera.position)
        turn_about = np.cross(axis, rng.normal(size=3))
        turn_about /= np.linalg.norm(turn_about)
        look_at = position + _rotated(axis, turn_about, math.radians(self.turn_deg))
        return dataclasses.replace(
            camera, position=tuple(position.tolist()), look_at=tuple(look_at.tolist())
        )


def _rotated(vector: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """``vector`` turned by ``angle`` rad about the unit ``axis`` (Rodrigues)."""
    cos, sin = math.cos(angle), math.sin(angle)
    return vector * cos + np.cross(axis, vector) * sin + axis * np.dot(axis, vector) * (1 - cos)


class CameraScene(Protocol):
    """What a running simulation with cameras offers (`robostack.sim.mujoco.MujocoRobot`,
    `robostack.sim.pybullet.PybulletRobot`)."""

    cameras: tuple[Camera, ...]

    def render(self, camera: str) -> np.ndarray:
        """Camera ``camera``'s RGB image now, (height, width, 3) uint8, row 0 at the top."""
        ...

    def object_mask(self, camera: str, name: str) -> np.ndarray:
        """(height, width) bool: the pixels where camera ``camera`` sees scene object ``name``."""
        ...

    def tool_pose(self) -> np.ndarray:
        """(4, 4) the tool link's pose in the base frame (a wrist camera's mount)."""
        ...


def camera_pose(scene: CameraScene, camera: Camera) -> np.ndarray:
    """(4, 4) ``camera``'s pose (OpenCV axes) in the base frame now."""
    return camera.world_from_camera(None if camera.mount == "world" else scene.tool_pose())


def pose_matrix(rotation: np.ndarray, position: np.ndarray) -> np.ndarray:
    """(4, 4) from a (3, 3) rotation and a (3,) position."""
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = rotation, position
    return pose


# Defaults for the tasks: the Panda on its table (base at the origin, table centre at x 0.3 m).
FRONT = Camera("front", "world", position=(1.25, 0.0, 0.75), look_at=(0.45, 0.0, 0.1))
OVERHEAD = Camera(
    "overhead", "world", position=(0.45, 0.0, 1.3), look_at=(0.45, 0.0, 0.0), up=(1.0, 0.0, 0.0)
)
# beside the hand (clear of its 5 cm wide body), looking past the fingertips; the fingers close
# along the tool frame's y axis, which is left-right in the image
WRIST = Camera(
    "wrist", "wrist", position=(0.05, 0.0, -0.08), look_at=(0.0, 0.0, 0.15), up=(1.0, 0.0, 0.0)
)
CAMERAS = {c.name: c for c in (FRONT, OVERHEAD, WRIST)}


def cameras_at(sizes: tuple[tuple[str, int, int], ...]) -> tuple[Camera, ...]:
    """The default cameras ((name, height, width), ...) names, each at its resolution."""
    named = cameras_named([name for name, _, _ in sizes]) if sizes else ()
    return tuple(c.resized(w, h) for c, (_, h, w) in zip(named, sizes, strict=True))


def cameras_named(names: str | list[str] | tuple[str, ...]) -> tuple[Camera, ...]:
    """The default cameras for a comma-separated list (or a sequence) of names, in order."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n not in CAMERAS]
    if unknown or not names:
        raise RobostackError(
            f"unknown camera(s) {unknown or names}; the scene's cameras: {', '.join(CAMERAS)}"
        )
    if len(set(names)) != len(names):
        raise RobostackError(f"camera named twice in {list(names)}")
    return tuple(CAMERAS[n] for n in names)
