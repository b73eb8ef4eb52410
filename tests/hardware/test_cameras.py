"""The camera backends: OpenCV's real decoder playing a video file written here (frames, RGB,
capture times at the file's rate, newest-frame semantics, a stale frame once it ends), a
missing vendor library, and pyrealsense2 without a device."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from robostack.core.errors import ObservationError, RobostackError
from robostack.hardware.cameras import FrameReader, open_camera
from robostack.runtime.cameras import CameraConfig, RealCameras, StaleFrameError
from tests.conftest import within
from tests.hardware.camera_helpers import RED, marker, write_video

FPS = 20.0
WITHIN_S = 30.0  # for what takes a second at most: a loaded machine's reader waits for a core


def _camera(path, *, loop: bool):
    return open_camera("opencv", device=str(path), width=64, height=48, fps=FPS, loop=loop)


def test_a_video_file_plays_through_opencv_at_its_rate_in_rgb(tmp_path):
    video = write_video(tmp_path / "front.avi", frames=12, fps=FPS)
    with _camera(video, loop=False) as camera:
        frames = []
        while (frame := camera.read()) is not None:
            frames.append(frame)
    assert len(frames) == 12
    assert [f.index for f in frames] == list(range(12))
    assert [marker(f.image) for f in frames] == list(range(12))
    first = frames[0].image
    assert first.shape == (48, 64, 3) and first.dtype == np.uint8 and frames[0].size == (48, 64)
    assert np.abs(first[24, 32].astype(int) - RED).max() <= 12  # RGB, not OpenCV's BGR
    gaps = np.diff([f.t for f in frames])
    # paced at the file's 20 Hz: no frame early, the median on time (a loaded machine is late)
    assert gaps.min() > 0 and frames[-1].t - frames[0].t >= 11 / FPS - 0.01
    assert abs(np.median(gaps) - 1 / FPS) < 0.3 / FPS


def test_the_reader_keeps_the_newest_frame_and_drops_the_rest(tmp_path):
    video = write_video(tmp_path / "front.avi", frames=10, fps=FPS)
    with FrameReader(_camera(video, loop=True)) as reader:
        reader.wait_first(WITHIN_S)
        # the file looped (10 frames, 0.5 s at 20 Hz) and the reader kept only the newest
        assert within(WITHIN_S, lambda: reader.newest().index >= 10)
        newest = reader.newest()
        age = time.monotonic() - newest.t
        times = reader.capture_times()
    assert marker(newest.image) == newest.index % 10
    assert age < 1.0  # fresh: less than two turns of the file, however late the reader ran
    assert len(times) == newest.index + 1 and np.all(np.diff(times) > 0)


def test_a_camera_whose_frames_stop_gives_a_stale_frame_error(tmp_path):
    video = write_video(tmp_path / "front.avi", frames=6, fps=FPS)
    config = CameraConfig(
        device=str(video),
        width=64,
        height=48,
        fps=FPS,
        loop=False,
        position=[1.0, 0.0, 0.5],
        look_at=[0.0, 0.0, 0.0],
    )
    with RealCameras({"front": config}) as cameras:
        images = cameras.images()  # the first frame: fresh
        assert images["front"].shape == (48, 64, 3)
        assert within(
            WITHIN_S, lambda: cameras.readers["front"].ended
        )  # the file has ended (0.3 s)
        time.sleep(config.max_age + 0.1)  # and its last frame has aged past the bound
        with pytest.raises(StaleFrameError, match=r"camera 'front': the newest frame is") as err:
            cameras.images()
    assert isinstance(err.value, ObservationError) and err.value.check == "camera_stale"
    assert err.value.value > err.value.limit == pytest.approx(3 / FPS)


def test_a_missing_device_or_vendor_library_is_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(RobostackError, match=r"no such device or video file"):
        _camera(tmp_path / "none.avi", loop=False).open()
    monkeypatch.setitem(sys.modules, "cv2", None)  # as if opencv were not installed
    with pytest.raises(RobostackError, match=r"pip install 'robostack\[cameras-opencv\]'"):
        _camera(tmp_path / "none.avi", loop=False).open()


def test_realsense_without_a_device_is_refused_by_pyrealsense2():
    pytest.importorskip("pyrealsense2", reason="the cameras-realsense extra (and libusb-1.0)")
    camera = open_camera("realsense", device="", width=640, height=480, fps=30)
    with pytest.raises(RobostackError, match=r"realsense .*: No device connected"):
        camera.open()
    camera.close()
