"""Camera frames of a LeRobot v3.0 dataset as video files, encoded and decoded with PyAV.

Each camera is a ``video`` feature ``observation.images.<name>`` stored as LeRobot stores it:

```
DIR/videos/observation.images.<name>/chunk-000/file-000.mp4   every episode, one after another
```

encoded with ``libsvtav1`` (LeRobot's default: AV1, ``yuv420p``, a keyframe every 2 frames,
CRF 30) at the dataset's fps, frame k of the file at pts k (time base 1 / fps). ``info.json``'s
feature entry carries the codec, pixel format and fps under ``"info"``; each episode's row in
the episodes metadata says where its frames are: ``videos/<key>/chunk_index``, ``file_index``,
``from_timestamp`` and ``to_timestamp`` (s in the file; the episode's frame at timestamp t is
the file's frame at from_timestamp + t).

`VideoWriter` streams frames into the files as episodes come; `read_video_frames` decodes the
frames at given timestamps (frame-accurate: each must match a frame's time within
`TOLERANCE_S`).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from robostack.core.errors import RobostackError

IMAGE_PREFIX = "observation.images."
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
CODEC, PIX_FMT = "libsvtav1", "yuv420p"
CODEC_OPTIONS = {"g": "2", "crf": "30"}
TOLERANCE_S = 1e-4  # LeRobot's tolerance between a requested and a decoded timestamp
os.environ.setdefault("SVT_LOG", "1")  # the AV1 encoder reports errors only, not its settings


class VideoWriter:
    """Encodes each camera's frames into one video file (chunk 0, file 0), episode after
    episode.

    Args:
        root: the dataset folder.  fps: frames per second.
    """

    def __init__(self, root: Path, fps: int):
        self.root, self.fps = Path(root), int(fps)
        self._streams: dict[str, tuple] = {}  # key -> (container, stream)
        self._frames: dict[str, int] = {}  # key -> frames written
        self._shapes: dict[str, tuple[int, int, int]] = {}

    def add_episode(self, frames: dict[str, np.ndarray]) -> dict[str, int | float]:
        """Encode one episode's frames, {key: (T, H, W, 3) uint8}; returns its episodes-row
        columns (`videos/<key>/chunk_index`, ``file_index``, ``from_timestamp``,
        ``to_timestamp``). Every episode must bring the same cameras at the same size."""
        if self._shapes and set(frames) != set(self._shapes):
            raise RobostackError(
                f"an episode brings cameras {sorted(frames)}, the dataset {sorted(self._shapes)}"
            )
        columns: dict[str, int | float] = {}
        for key, images in frames.items():
            images = np.asarray(images)
            shape = images.shape[1:]
            if images.dtype != np.uint8 or images.ndim != 4 or shape[-1] != 3:
                raise RobostackError(
                    f"{key}: frames must be (T, H, W, 3) uint8, got {images.shape}"
                )
            if self._shapes.setdefault(key, shape) != shape:
                raise RobostackError(f"{key}: frames are {shape}, earlier ones {self._shapes[key]}")
            container, stream = self._stream(key, shape)
            first = self._frames.get(key, 0)
            for k, image in enumerate(images):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = first + k
                container.mux(stream.encode(frame))
            self._frames[key] = first + len(images)
            prefix = f"videos/{key}/"
            columns |= {
                prefix + "chunk_index": 0,
                prefix + "file_index": 0,
                prefix + "from_timestamp": first / self.fps,
                prefix + "to_timestamp": (first + len(images)) / self.fps,
            }
        return columns

    def close(self) -> dict[str, dict]:
        """Flush and close the files; returns the info.json feature entry of each key."""
        features = {}
        for key, (container, stream) in self._streams.items():
            container.mux(stream.encode())
            container.close()
            height, width, channels = self._shapes[key]
            features[key] = {
                "dtype": "video",
                "shape": [height, width, channels],
                "names": ["height", "width", "channels"],
                "info": {
                    "video.height": height,
                    "video.width": width,
                    "video.codec": "av1",
                    "video.pix_fmt": PIX_FMT,
                    "video.fps": self.fps,
                    "video.channels": channels,
                    "has_audio": False,
                    "is_depth_map": False,
                },  # the keys and order of LeRobot 0.6.1's get_video_info
            }
        self._streams.clear()
        return features

    def _stream(self, key: str, shape: tuple[int, int, int]):
        if key not in self._streams:
            path = self.root / VIDEO_PATH.format(video_key=key, chunk_index=0, file_index=0)
            path.parent.mkdir(parents=True, exist_ok=True)
            container = av.open(str(path), "w")
            stream = container.add_stream(CODEC, rate=self.fps, options=dict(CODEC_OPTIONS))
            stream.height, stream.width = shape[:2]
            stream.pix_fmt = PIX_FMT
            stream.time_base = Fraction(1, self.fps)
            self._streams[key] = (container, stream)
        return self._streams[key]


def decode_video(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every frame of the video at ``path``: times (F,) s and frames (F, H, W, 3) uint8."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [
            (float(frame.pts * stream.time_base), frame.to_ndarray(format="rgb24"))
            for frame in container.decode(stream)
        ]
    return np.array([t for t, _ in decoded]), np.stack([f for _, f in decoded])


def read_video_frames(
    path: Path, timestamps: np.ndarray, decoded: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """The frames of the video at ``path`` at ``timestamps`` (N,) s, (N, H, W, 3) uint8
    (``decoded``: the file's `decode_video`, if at hand); a timestamp no frame has (within
    `TOLERANCE_S`) raises `RobostackError`."""
    timestamps = np.asarray(timestamps, float)
    times, frames = decode_video(path) if decoded is None else decoded
    nearest = np.abs(times[None, :] - timestamps[:, None]).argmin(axis=1)
    off = np.abs(times[nearest] - timestamps)
    if np.any(off > TOLERANCE_S):
        worst = int(off.argmax())
        raise RobostackError(
            f"{path}: no frame at {timestamps[worst]:.4f} s (nearest {times[nearest[worst]]:.4f} s)"
        )
    return frames[nearest]


def read_videos(root: Path, info: dict, episodes, ranges: np.ndarray) -> dict[str, np.ndarray]:
    """Every video feature of a dataset, {key: (N, H, W, 3) uint8} in global frame order;
    ``episodes`` is the episodes metadata table (pyarrow), ``ranges`` (E, 2) their frame
    ranges. Frame i of an episode is the file's frame at from_timestamp + i / fps."""
    fps = float(info["fps"])
    files: dict[Path, tuple[np.ndarray, np.ndarray]] = {}  # each file decoded once
    out = {}
    for key, feature in info["features"].items():
        if feature.get("dtype") != "video":
            continue
        parts = []
        for row, (start, stop) in enumerate(ranges):
            prefix = f"videos/{key}/"
            chunk = episodes.column(prefix + "chunk_index")[row].as_py()
            file = episodes.column(prefix + "file_index")[row].as_py()
            begin = episodes.column(prefix + "from_timestamp")[row].as_py()
            path = Path(root) / info["video_path"].format(
                video_key=key, chunk_index=chunk, file_index=file
            )
            if path not in files:
                files[path] = decode_video(path)
            timestamps = begin + np.arange(stop - start) / fps
            parts.append(read_video_frames(path, timestamps, files[path]))
        out[key] = np.concatenate(parts)
    return out
