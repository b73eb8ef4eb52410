"""Camera frames in LeRobot v3.0 datasets: AV1 videos per camera, their metadata as LeRobot
writes it, and a frame-accurate read back."""

from __future__ import annotations

import json

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from robostack.core.errors import RobostackError
from robostack.policies.datasets import DatasetWriter, read_dataset
from robostack.policies.datasets.video import read_video_frames

NAMES = {
    "observation.state": ["a"],
    "observation.environment_state": ["x"],
    "action": ["a"],
}
SIZE = (48, 64)  # height, width


def _episode(length: int, first: int) -> dict[str, np.ndarray]:
    """Frames whose colour tells their global number (blocks of flat colour survive AV1)."""
    frames = np.zeros((length, *SIZE, 3), np.uint8)
    for k in range(length):
        n = first + k
        frames[k, :, :32] = (n * 20) % 256
        frames[k, :, 32:] = 255 - (n * 20) % 256
    wrist = frames[:, ::2, ::2].copy()
    vector = np.full((length, 1), first, np.float32)
    return {
        "observation.state": vector,
        "observation.environment_state": vector,
        "action": vector,
        "timestamp": (np.arange(length) / 10).astype(np.float32),
        "observation.images.front": frames,
        "observation.images.wrist": wrist,
    }


def test_cameras_are_written_as_lerobot_videos_and_read_back_frame_by_frame(tmp_path):
    root = tmp_path / "ds"
    writer = DatasetWriter(root=root, fps=10, robot_type="panda", names=NAMES)
    lengths, first = (6, 4, 5), 0
    episodes = []
    for length in lengths:
        episodes.append(_episode(length, first))
        writer.add_episode(episodes[-1], "reach the red marker")
        first += length
    writer.close()

    info = json.loads((root / "meta/info.json").read_text())
    assert (
        info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    )
    front = info["features"]["observation.images.front"]
    assert front["dtype"] == "video" and front["shape"] == [48, 64, 3]
    assert front["names"] == ["height", "width", "channels"]
    assert front["info"]["video.codec"] == "av1" and front["info"]["video.pix_fmt"] == "yuv420p"
    assert front["info"]["video.fps"] == 10
    path = root / "videos/observation.images.front/chunk-000/file-000.mp4"
    with av.open(str(path)) as container:  # what the file itself says
        stream = container.streams.video[0]
        assert stream.codec_context.name in ("libdav1d", "av1", "libaom-av1")
        assert (stream.height, stream.width, stream.frames) == (48, 64, sum(lengths))
    table = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet")
    begins = table.column("videos/observation.images.front/from_timestamp").to_pylist()
    ends = table.column("videos/observation.images.front/to_timestamp").to_pylist()
    assert begins == pytest.approx([0.0, 0.6, 1.0]) and ends == pytest.approx([0.6, 1.0, 1.5])
    assert table.column("videos/observation.images.wrist/file_index").to_pylist() == [0, 0, 0]
    stats = json.loads((root / "meta/stats.json").read_text())["observation.images.front"]
    assert np.shape(stats["mean"]) == (3, 1, 1) and stats["max"][0][0][0] <= 1.0

    dataset = read_dataset(root)
    for key, shape in (("front", SIZE), ("wrist", (24, 32))):
        frames = dataset.frames[f"observation.images.{key}"]
        assert frames.shape == (sum(lengths), *shape, 3) and frames.dtype == np.uint8
        expected = np.concatenate([e[f"observation.images.{key}"] for e in episodes])
        # lossy, but each frame is its own: far nearer its original than its neighbours (20 apart)
        error = np.abs(frames.astype(int) - expected.astype(int)).mean(axis=(1, 2, 3))
        assert error.max() < 4.0, (key, error)
    second = dataset.episode(1)["observation.images.front"]
    assert abs(int(second[0, 0, 0, 0]) - 6 * 20) < 8  # frame-accurate by timestamp
    with pytest.raises(RobostackError, match="no frame at"):
        read_video_frames(path, np.array([0.05]))


def test_episodes_must_bring_the_same_cameras(tmp_path):
    writer = DatasetWriter(root=tmp_path / "ds", fps=10, robot_type="panda", names=NAMES)
    writer.add_episode(_episode(3, 0), "reach")
    episode = _episode(3, 3)
    del episode["observation.images.wrist"]
    with pytest.raises(RobostackError, match="cameras"):
        writer.add_episode(episode, "reach")
    episode = _episode(3, 3)
    episode["observation.images.front"] = episode["observation.images.front"][:2]
    with pytest.raises(RobostackError, match="3 frames"):
        writer.add_episode(episode, "reach")
