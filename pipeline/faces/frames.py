"""Decode frame files to grayscale with explicit integrity checks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from .errors import FrameReadError
from .jpegwarn import decode_jpeg

_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"
_PADDING = b"\x00\r\n\t "


def check_jpeg_complete(data: bytes | np.ndarray, path: str | Path) -> None:
    """Raise ``FrameReadError`` when JPEG bytes do not end with the EOI marker (a truncated file).

    Trailing NUL / whitespace padding after the marker is tolerated.
    """
    tail = bytes(data[-4096:]).rstrip(_PADDING)
    if not tail.endswith(_JPEG_EOI):
        raise FrameReadError(path, "truncated JPEG (no end-of-image marker)")


def read_frame(path: str | Path, expected_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Decode one frame file to a grayscale uint8 (H, W) array.

    Raises ``FrameReadError`` naming the file when it is missing, empty, a truncated JPEG, a JPEG
    whose decoder warns (corrupt entropy-coded data: `pipeline.faces.jpegwarn`), not decodable by
    OpenCV, or (with ``expected_shape``) of a different size.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise FrameReadError(path, "file not found") from None
    except OSError as exc:
        raise FrameReadError(path, f"cannot open file ({exc.strerror or exc})") from None
    if data.size == 0:
        raise FrameReadError(path, "zero-byte file")
    if bytes(data[:2]) == _JPEG_SOI:
        check_jpeg_complete(data, path)
        image, warnings = decode_jpeg(data, cv2.IMREAD_GRAYSCALE)
        if warnings:
            raise FrameReadError(path, "corrupt JPEG data (the decoder warned: " + "; ".join(warnings) + ")")
    else:
        image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        raise FrameReadError(path, "not a decodable image")
    if expected_shape is not None and image.shape != tuple(expected_shape):
        raise FrameReadError(
            path,
            f"size {image.shape[1]}x{image.shape[0]} differs from the clip's other frames "
            f"({expected_shape[1]}x{expected_shape[0]})",
        )
    return image


def resolve_paths(paths: Sequence[str | Path], root: str | Path | None) -> list[Path]:
    """Frame paths joined to ``root`` when given (relative paths stay relative otherwise)."""
    if len(paths) == 0:
        raise ValueError("align_clip: the clip has no frames")
    base = Path(root) if root is not None else None
    return [base / p if base is not None else Path(p) for p in paths]
