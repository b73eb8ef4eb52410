"""Push on the virtual Franka (its own process, through the unmodified pylibfranka) from a
pixel policy whose camera is OpenCV playing a video file: preflight (the command, and the
launch's own) checks the camera, the
policy gets its newest frames, the recording holds them under their pinhole and pose, and when
the video ends the stale frame HOLDs the arm (safety event ``camera_stale``)."""

from __future__ import annotations

import json

import numpy as np
import rerun as rr

from robostack.cli.main import main
from robostack.core.paths import LAUNCH_FILES
from tests.conftest import loopback
from tests.hardware.camera_helpers import RED, camera_table, pixel_checkpoint, write_video
from tests.hardware.helpers import for_a_loaded_machine, read_summary
from tests.hardware.rehearsal.helpers import virtual_franka

PUSH = "push the red cube onto the green square"
VIDEO_S = 10.0  # the camera's video: preflight (1 s), the start move, then the episode's start


def _launch_file(tmp_path) -> str:
    checkpoint = pixel_checkpoint(
        tmp_path / "pixels", tasks=("push",), cameras=(("front", 48, 64),)
    )
    write_video(tmp_path / "front.avi", frames=round(VIDEO_S * 10), fps=10.0)
    text = (LAUNCH_FILES / "franka_fci.toml").read_text()
    text = text.replace('task = "reach"', 'task = "push"', 1)
    text = text.replace('checkpoint = "reach"', f'checkpoint = "{checkpoint}"')
    text = text.replace("enabled = true", f'enabled = true\nruns_dir = "{tmp_path / "runs"}"')
    text = text.replace("split = true", "split = false")  # images do not cross the split
    text = for_a_loaded_machine(text)
    text = text.replace("[connection]\n", '[connection]\nrealtime = "ignore"\n', 1)
    # the video ends and is not played again: its last frame goes stale mid-episode
    text += "\n" + camera_table("front", "front.avi", fps=10, extra="loop = false\n")
    path = tmp_path / "franka_fci.toml"
    path.write_text(text)
    return str(path)


def _reactions(episode: dict) -> list[dict]:
    """The episode's HOLD and STOP events (its CLAMPs left out: they alone end nothing)."""
    return [e for e in episode["events"] if e["reaction"] != "CLAMP"]


def _camera_rows(rrd) -> tuple[dict[str, int], np.ndarray]:
    """Non-null values per column of ``/world/cameras/front``, and its first frame decoded."""
    columns: dict[str, int] = {}
    first = None
    for chunk in rr.chunk.RrdReader(rrd).store().stream():
        if chunk.entity_path != "/world/cameras/front":
            continue
        batch = chunk.to_record_batch()
        for name in batch.schema.names:
            column = batch.column(name)
            columns[name] = columns.get(name, 0) + len(column) - column.null_count
            if (
                name.startswith("EncodedImage:blob")
                and first is None
                and column.null_count < len(column)
            ):
                first = bytes(np.asarray(column[0].values[0].values, np.uint8))
    import cv2

    image = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    return columns, image


def test_push_from_a_video_camera_on_the_virtual_franka_holds_when_the_video_ends(tmp_path, capsys):
    address = loopback(53)
    path = _launch_file(tmp_path)
    argv = ["launch", PUSH, "--launch", path, "--address", address, "--yes", "--speed", "1"]
    with virtual_franka(address):
        assert main(["preflight", "--launch", path, "--address", address, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] and "camera front" in [c["name"] for c in report["checks"]]
        assert main([*argv, "--json"]) == 1  # not a success: an object task is not judged
    out = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in out["preflight"]["checks"]}
    assert out["preflight"]["ok"] and "48x64 pixels" in checks["camera front"]["detail"]
    episode = out["results"][0]
    assert episode["outcome"] == "held", _reactions(episode)
    assert not episode["judged"] and not episode["success"]
    stale = [e for e in episode["events"] if e["check"] == "camera_stale"]
    assert [e["reaction"] for e in stale] == ["HOLD"], episode["events"]
    assert stale[0]["value"] > stale[0]["limit"] == 0.3  # 3 periods at 10 Hz
    assert episode["duration_s"] < 15.0  # held before push's time limit
    summary = read_summary(episode["recording"])
    assert "camera_stale" in [e["check"] for e in summary["events"]] and not summary["judged"]
    columns, image = _camera_rows(f"{episode['recording']}/session.rrd")
    blobs = [n for n in columns if n.startswith("EncodedImage:blob")]
    # at the policy rate while the episode ran (about 10 per second of it)
    expected = 10 * episode["duration_s"]  # a loaded machine's reader may lag a frame or two
    assert blobs and abs(columns[blobs[0]] - expected) <= max(3, 0.15 * expected), columns
    assert any(n.startswith("Pinhole:image_from_camera") for n in columns)
    assert any(n.startswith("Transform3D:translation") for n in columns)
    assert image.shape == (48, 64, 3) and np.abs(image[24, 32].astype(int) - RED).max() < 30


def test_push_rehearsed_on_the_virtual_franka_from_its_own_scene_across_the_split(tmp_path, capsys):
    """The whole real path: the virtual Franka serves push's scene (the objects its seed
    places) and renders its front camera; the launch file names that camera (backend
    ``virtual``) and keeps the shipped split, so the frames cross LCM to the policy server."""
    address = loopback(56)
    checkpoint = pixel_checkpoint(
        tmp_path / "pixels", tasks=("push",), cameras=(("front", 48, 48),)
    )
    text = (LAUNCH_FILES / "franka_fci.toml").read_text()
    text = text.replace('task = "reach"', 'task = "push"', 1)
    text = text.replace('checkpoint = "reach"', f'checkpoint = "{checkpoint}"')
    text = text.replace("enabled = true", f'enabled = true\nruns_dir = "{tmp_path / "runs"}"')
    text = for_a_loaded_machine(text).replace(
        "[connection]\n", '[connection]\nrealtime = "ignore"\n', 1
    )
    text += "\n" + camera_table("front", "front", fps=10, width=48, height=48).replace(
        'backend = "opencv"', 'backend = "virtual"'
    )
    assert "split = true" in text
    path = tmp_path / "franka_fci.toml"
    path.write_text(text)
    scene = ("--task", "push", "--seed", "0", "--cameras", "front", "--image-size", "48")
    argv = ["launch", PUSH, "--launch", str(path), "--address", address, "--yes", "--speed", "1"]
    with virtual_franka(address, extra=scene):
        assert main([*argv, "--json"]) == 1  # not a success: an object task is not judged
    out = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in out["preflight"]["checks"]}
    assert checks["camera front"]["ok"] and "48x48 pixels" in checks["camera front"]["detail"]
    episode = out["results"][0]
    assert episode["outcome"] == "completed" and not episode["judged"], _reactions(episode)
    assert "camera_stale" not in [e["check"] for e in episode["events"]], episode["events"]
    columns, image = _camera_rows(f"{episode['recording']}/session.rrd")
    blobs = [n for n in columns if n.startswith("EncodedImage:blob")]
    expected = 10 * episode["duration_s"]  # frames at the policy rate
    assert blobs and abs(columns[blobs[0]] - expected) <= max(5, 0.15 * expected), columns
    assert image.shape == (48, 48, 3) and image.std() > 5  # the virtual robot's scene
