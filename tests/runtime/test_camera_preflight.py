"""Preflight's camera checks on OpenCV playing a video file at 20 Hz: a pass, and a failure
for a rate or a resolution other than the launch file's, or a camera that does not open."""

from __future__ import annotations

import re

import pytest

from robostack.runtime.cameras import CameraConfig
from robostack.runtime.preflight import preflight_cameras
from tests.hardware.camera_helpers import write_video

POSE = {"position": [1.0, 0.0, 0.5], "look_at": [0.0, 0.0, 0.0]}


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "front.avi", frames=20, fps=20.0)


def _config(video, **overrides) -> CameraConfig:
    return CameraConfig(
        **{"device": str(video), "width": 64, "height": 48, "fps": 20.0, **POSE, **overrides}
    )


def test_a_camera_at_its_rate_and_resolution_passes(video):
    (check,) = preflight_cameras({"front": _config(video)})
    assert check.ok, check.detail
    assert check.name == "camera front" and "48x64 pixels" in check.detail


@pytest.mark.parametrize(
    ("overrides", "failure"),
    [
        ({"fps": 40.0}, r"frames/s, expected 40 \+- 20%"),
        ({"fps": 12.0}, r"frames/s, expected 12 \+- 20%"),
        ({"width": 640, "height": 480}, r"48x64 pixels, expected 480x640"),
    ],
)
def test_another_rate_or_resolution_fails(video, overrides, failure):
    checks = preflight_cameras({"ok": _config(video), "bad": _config(video, **overrides)})
    assert [c.ok for c in checks] == [True, False]
    assert pytest.approx(20.0, rel=0.2) == float(checks[0].detail.split(": ")[1].split()[0])
    assert re.search(failure, checks[1].detail), checks[1].detail


def test_a_camera_that_does_not_open_fails(tmp_path):
    (check,) = preflight_cameras({"front": _config(tmp_path / "missing.avi")})
    assert not check.ok and "no such device or video file" in check.detail
