"""A scene's cameras in PyBullet: the pinhole model of `robostack.sim.cameras` as OpenGL view
and projection matrices for PyBullet's TinyRenderer (software, no GL needed).

The OpenGL camera looks down its -z axis with y up: the OpenCV frame of
`Camera.world_from_camera` turned half a turn about x. PyBullet takes both matrices as 16
numbers in column-major order; its projection for a vertical field of view and an aspect ratio
puts the principal point at the image centre, as `Camera.intrinsics` does.
"""

from __future__ import annotations

import numpy as np

from robostack.sim.cameras import FAR_M, NEAR_M, Camera

OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])


def view_matrix(world_from_camera: np.ndarray) -> list[float]:
    """The OpenGL view matrix (world -> eye) of a camera pose (4, 4), OpenCV axes."""
    view = np.linalg.inv(world_from_camera @ OPENCV_TO_OPENGL)
    return view.T.ravel().tolist()


def render(
    pb, client: int, camera: Camera, world_from_camera: np.ndarray, *, segmentation: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Render ``camera`` at ``world_from_camera`` (4, 4): the RGB image (height, width, 3)
    uint8, and with ``segmentation`` the body unique id each pixel sees (height, width) int
    (-1: none)."""
    projection = pb.computeProjectionMatrixFOV(
        fov=camera.fovy_deg, aspect=camera.width / camera.height, nearVal=NEAR_M, farVal=FAR_M
    )
    _, _, rgba, _, seg = pb.getCameraImage(
        camera.width,
        camera.height,
        viewMatrix=view_matrix(world_from_camera),
        projectionMatrix=projection,
        renderer=pb.ER_TINY_RENDERER,
        flags=0 if segmentation else pb.ER_NO_SEGMENTATION_MASK,
        physicsClientId=client,
    )
    image = np.asarray(rgba, dtype=np.uint8).reshape(camera.height, camera.width, 4)[..., :3]
    ids = np.asarray(seg, dtype=np.int64).reshape(camera.height, camera.width)
    return np.ascontiguousarray(image), ids if segmentation else None
