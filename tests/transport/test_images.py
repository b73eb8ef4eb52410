"""Camera frames in messages: raw frames exact, JPEG within its error, bad frames refused."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.core.errors import RobostackError
from robostack.transport import lcmtypes
from robostack.transport.codec import MessageError
from robostack.transport.config import IpcConfig
from robostack.transport.images import decode_frame, encode_frame


def _scene(height: int = 96, width: int = 96) -> np.ndarray:
    """A smooth image with edges, as a render is: a gradient and two flat boxes."""
    rows, cols = np.mgrid[0:height, 0:width]
    image = np.stack([rows * 255 // height, cols * 255 // width, (rows + cols) % 256], -1)
    image[10:40, 20:50] = (200, 30, 30)
    image[50:80, 55:90] = (30, 180, 40)
    return image.astype(np.uint8)


def _through(msg: lcmtypes.image_t) -> lcmtypes.image_t:
    return lcmtypes.image_t.decode(msg.encode())


def test_a_raw_frame_arrives_exactly():
    image = _scene(48, 64)
    msg = encode_frame("front", image, utime=123, encoding="rgb8")
    assert (msg.width, msg.height, msg.size) == (64, 48, 48 * 64 * 3)
    back = decode_frame(_through(msg))
    assert back.dtype == np.uint8 and np.array_equal(back, image)


@pytest.mark.parametrize("quality", [50, 90])
def test_a_jpeg_frame_is_smaller_and_close(quality):
    image = _scene()
    msg = encode_frame("wrist", image, utime=5, encoding="jpeg", quality=quality)
    assert msg.size < image.nbytes / 3 and msg.camera == "wrist" and msg.utime == 5
    back = decode_frame(_through(msg))
    error = np.abs(back.astype(int) - image.astype(int))
    assert back.shape == image.shape and error.mean() < (4.0 if quality == 90 else 8.0)
    assert error.mean() > 0  # lossy: not the raw frame under another name


def _bad(**fields) -> lcmtypes.image_t:
    msg = encode_frame("front", _scene(), utime=0, encoding="jpeg")
    for name, value in fields.items():
        setattr(msg, name, value)
    msg.size = len(msg.data)
    return msg


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"data": b"\xff\xd8not a jpeg"}, "not a JPEG"),
        ({"width": 95}, "declared 95 x 96"),
        ({"width": 0}, "a 0 x 96 frame"),
        ({"encoding": "png"}, "encoding 'png'"),
        ({"encoding": "rgb8"}, "bytes of rgb8 for 96 x 96"),
    ],
)
def test_a_frame_that_does_not_decode_to_its_size_is_refused(fields, words):
    with pytest.raises(MessageError, match=words) as refused:
        decode_frame(_bad(**fields))
    assert refused.value.check == "ipc_malformed"


def test_a_truncated_jpeg_is_refused():
    msg = encode_frame("front", _scene(), utime=0, encoding="jpeg")
    msg.data = msg.data[: msg.size // 2]
    with pytest.raises(MessageError, match="not a JPEG"):
        decode_frame(msg)


@pytest.mark.parametrize(
    ("settings", "words"),
    [({"image_encoding": "png"}, "one of jpeg, rgb8"), ({"jpeg_quality": 0}, r"\[1, 95\]")],
)
def test_the_ipc_config_refuses_an_unknown_encoding_or_quality(settings, words):
    with pytest.raises(RobostackError, match=words):
        IpcConfig(**settings)
