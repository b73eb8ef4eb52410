"""Real cameras: a `CameraDevice` per vendor and a `FrameReader` that keeps each one's newest
frame. Frames are (H, W, 3) uint8 RGB, row 0 at the top, with their capture time on
``time.monotonic()``'s clock (s). Backends: ``opencv`` (`cv2.VideoCapture`: UVC webcams, video
devices, or a video file played at its own rate) and ``realsense`` (Intel RealSense over
pyrealsense2, the colour stream). Each vendor library is an optional extra, imported when a
camera opens."""

from robostack.hardware.cameras.base import CAMERA_BACKENDS, CameraDevice, Frame, open_camera
from robostack.hardware.cameras.reader import FrameReader

__all__ = ["CAMERA_BACKENDS", "CameraDevice", "Frame", "FrameReader", "open_camera"]
