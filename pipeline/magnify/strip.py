"""QC strip: raw vs magnified frames and x-t slices through one row, written as a PNG."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pipeline.atomic import atomic_path


def _to_uint8(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (np.clip((x - lo) / max(hi - lo, 1e-12), 0, 1) * 255).round().astype(np.uint8)


def strip_image(
    raw: np.ndarray, magnified: np.ndarray, row: int | None = None, n_frames: int = 5
) -> np.ndarray:
    """Compose the strip as uint8 ``(2 H + 2 T + 3 gaps, n W + gaps)``-like grayscale image.

    Top: ``n_frames`` raw frames evenly spaced in time; middle: the same magnified frames (both on the
    raw clip's intensity range, magnified values outside it are clipped); bottom: the x-t slices
    ``(T, W)`` of the raw and magnified clips through ``row`` (default: the middle row), side by side.
    """
    raw = np.asarray(raw, dtype=np.float32)
    mag = np.asarray(magnified, dtype=np.float32)
    if raw.ndim != 3 or raw.shape != mag.shape:
        raise ValueError(f"raw, magnified: need equal (T, H, W) shapes, got {raw.shape} and {mag.shape}")
    t, h, w = raw.shape
    row = h // 2 if row is None else row
    if not 0 <= row < h:
        raise ValueError(f"row: {row} is outside 0..{h - 1}")
    lo, hi = float(raw.min()), float(raw.max())
    idx = np.linspace(0, t - 1, min(n_frames, t)).round().astype(int)
    gap = 2
    width = len(idx) * (w + gap) - gap
    xt_width = 2 * w + gap
    canvas = np.full((2 * h + t + 2 * gap, max(width, xt_width)), 255, dtype=np.uint8)
    for j, f in enumerate(idx):
        c = j * (w + gap)
        canvas[:h, c : c + w] = _to_uint8(raw[f], lo, hi)
        canvas[h + gap : 2 * h + gap, c : c + w] = _to_uint8(mag[f], lo, hi)
    top = 2 * h + 2 * gap
    canvas[top : top + t, :w] = _to_uint8(raw[:, row, :], lo, hi)
    canvas[top : top + t, w + gap : 2 * w + gap] = _to_uint8(mag[:, row, :], lo, hi)
    return canvas


def write_strip(
    path: str | os.PathLike, raw: np.ndarray, magnified: np.ndarray, row: int | None = None, n_frames: int = 5
) -> Path:
    """Write `strip_image` to ``path`` (PNG) atomically (temp file + rename); returns the path."""
    path = Path(path)
    image = strip_image(raw, magnified, row=row, n_frames=n_frames)
    with atomic_path(path, suffix=".png") as tmp:
        plt.imsave(tmp, image, cmap="gray", vmin=0, vmax=255, format="png")
    return path
