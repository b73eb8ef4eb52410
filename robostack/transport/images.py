"""Camera frames in LCM messages (`lcmtypes.image_t`): raw RGB or JPEG (Pillow's libjpeg).

A frame is (H, W, 3) uint8 RGB, row 0 at the top. ``rgb8`` carries its bytes as they are
(H x W x 3: 27.6 kB at 96 x 96, 150.5 kB at 224 x 224); ``jpeg`` carries a baseline JPEG of
``quality`` (1-95) with 4:4:4 chroma (no colour subsampling: the policy's frames are small):
at quality 90 a rendered frame is some 12 times smaller at 96 x 96 and 26 times at 224 x 224,
about 1 level of 255 off on average (`robostack bench images`). A message over about 64 kB
is split by LCM's UDP multicast into fragments, each lost with the message when the
receiver's socket buffer overflows: JPEG keeps an observation with two 224 x 224 frames in one
datagram.

`decode_frame` refuses a frame that does not decode to its declared size (`MessageError`,
``ipc_malformed``): nothing malformed reaches the policy.
"""

from __future__ import annotations

import io

import numpy as np

from robostack.core.errors import RobostackError
from robostack.transport import lcmtypes
from robostack.transport.codec import MessageError

ENCODINGS = ("jpeg", "rgb8")
MAX_SIDE = 4096  # pixels: no camera frame is larger


def check_encoding(encoding: str, quality: int) -> None:
    """`RobostackError` unless ``encoding`` is one of `ENCODINGS` and ``quality`` in [1, 95]."""
    if encoding not in ENCODINGS:
        raise RobostackError(
            f"image encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}"
        )
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 95:
        raise RobostackError(f"JPEG quality must be an integer in [1, 95], got {quality!r}")


def encode_frame(
    camera: str, image: np.ndarray, *, utime: int, encoding: str = "jpeg", quality: int = 90
) -> lcmtypes.image_t:
    """``image`` (H, W, 3) uint8 of ``camera`` taken at ``utime`` (us) as an `image_t`."""
    image = np.ascontiguousarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"camera {camera!r}: a frame must be (H, W, 3) uint8, got {image.shape}")
    msg = lcmtypes.image_t()
    msg.utime, msg.camera, msg.encoding = utime, camera, encoding
    msg.height, msg.width = image.shape[:2]
    if encoding == "rgb8":
        msg.data = image.tobytes()
    elif encoding == "jpeg":
        from PIL import Image

        out = io.BytesIO()
        Image.fromarray(image).save(out, format="JPEG", quality=quality, subsampling=0)
        msg.data = out.getvalue()
    else:
        check_encoding(encoding, quality)
    msg.size = len(msg.data)
    return msg


def decode_frame(msg: lcmtypes.image_t) -> np.ndarray:
    """The frame of ``msg``, (height, width, 3) uint8, or `MessageError` (``ipc_malformed``)."""
    shape = (msg.height, msg.width, 3)
    if not (1 <= msg.height <= MAX_SIDE and 1 <= msg.width <= MAX_SIDE):
        raise MessageError(
            "ipc_malformed", f"camera {msg.camera!r}: a {msg.width} x {msg.height} frame"
        )
    if msg.encoding == "rgb8":
        if len(msg.data) != np.prod(shape):
            raise MessageError(
                "ipc_malformed",
                f"camera {msg.camera!r}: {len(msg.data)} bytes of rgb8 for {msg.width} x "
                f"{msg.height} pixels",
            )
        return np.frombuffer(msg.data, np.uint8).reshape(shape).copy()
    if msg.encoding == "jpeg":
        return _decode_jpeg(msg, shape)
    raise MessageError(
        "ipc_malformed", f"camera {msg.camera!r}: encoding {msg.encoding!r}, not one of {ENCODINGS}"
    )


def _decode_jpeg(msg: lcmtypes.image_t, shape: tuple[int, int, int]) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(msg.data), formats=["JPEG"]) as jpeg:
            if (jpeg.height, jpeg.width) != shape[:2]:
                raise MessageError(
                    "ipc_malformed",
                    f"camera {msg.camera!r}: a {jpeg.width} x {jpeg.height} JPEG declared "
                    f"{msg.width} x {msg.height}",
                )
            image = np.asarray(jpeg.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise MessageError(
            "ipc_malformed", f"camera {msg.camera!r}: not a JPEG ({error})"
        ) from None
    return image
