"""QC outputs of the face stage: a summary of the per-clip records and PNG montages.

Plain functions on arrays and the ``FaceQC`` records returned by ``align_clip``; every file is written to a
temporary name in the target folder and renamed when complete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.atomic import write_bytes

from .record import FaceQC

_GREEN = (60, 180, 60)
_RED = (40, 40, 220)
_YELLOW = (0, 200, 255)


def _write_png(path: str | Path, image: np.ndarray) -> Path:
    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"cannot encode montage {path} as PNG")
    return write_bytes(path, buffer.tobytes())


def face_summary(records: Mapping[str, FaceQC]) -> dict[str, Any]:
    """Clips with a fallback crop, several faces or a lost face; mean residual motion; largest drift."""
    motion = [r.residual_motion_px["mean"] for r in records.values() if r.residual_motion_px]
    drifts = [r.drift_px["max"] for r in records.values() if r.drift_px and r.drift_px["max"] is not None]
    return {
        "face_fallbacks": sorted(k for k, r in records.items() if r.fallback),
        "multiple_faces": sorted(k for k, r in records.items() if r.n_faces > 1),
        "face_lost": sorted(k for k, r in records.items() if r.face_lost_frames),
        "residual_motion_px_mean": float(np.mean(motion)) if motion else None,
        "drift_px_max": max(drifts, default=None),
    }


def _label(tile: np.ndarray, text: str, colour: tuple[int, int, int]) -> None:
    scale = max(tile.shape[1] / 400.0, 0.3)
    cv2.putText(
        tile, text, (3, tile.shape[0] - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA
    )
    cv2.putText(tile, text, (3, tile.shape[0] - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def write_reference_montage(
    crops: Sequence[np.ndarray],
    qcs: Sequence[FaceQC],
    path: str | Path,
    labels: Sequence[str] | None = None,
    columns: int = 12,
) -> Path:
    """Grid of the aligned reference crops of all clips.

    Args:
        crops: one uint8 (S, S) aligned reference crop per clip (all the same S).
        qcs: the clips' QC records; a red frame marks a centre-crop fallback, yellow several faces.
        path: output PNG.
        labels: text under each tile (default: running index).
        columns: tiles per row.
    """
    if len(crops) != len(qcs) or not crops:
        raise ValueError(f"write_reference_montage: {len(crops)} crops and {len(qcs)} QC dicts for {path}")
    labels = list(labels) if labels is not None else [str(i) for i in range(len(crops))]
    size = crops[0].shape[0]
    pad = 3
    columns = min(columns, len(crops))
    rows = math.ceil(len(crops) / columns)
    canvas = np.full((rows * (size + 2 * pad), columns * (size + 2 * pad), 3), 255, np.uint8)
    for i, (crop, qc, text) in enumerate(zip(crops, qcs, labels)):
        if crop.shape != (size, size):
            raise ValueError(
                f"write_reference_montage: crop {text} has shape {crop.shape}, expected {size}x{size}"
            )
        colour = _RED if qc.fallback else _YELLOW if qc.n_faces > 1 else _GREEN
        r, c = divmod(i, columns)
        y, x = r * (size + 2 * pad), c * (size + 2 * pad)
        canvas[y : y + size + 2 * pad, x : x + size + 2 * pad] = colour
        tile = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
        _label(tile, text, (255, 255, 255))
        canvas[y + pad : y + pad + size, x + pad : x + pad + size] = tile
    return _write_png(path, canvas)


def draw_landmarks(frame: np.ndarray, qc: FaceQC) -> np.ndarray:
    """BGR copy of a raw (H, W) uint8 frame with the QC's face box and 68 landmarks drawn."""
    image = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    thickness = max(1, round(max(frame.shape) / 320))
    if qc.face_box:
        x0, y0, x1, y1 = (round(v) for v in qc.face_box)
        cv2.rectangle(image, (x0, y0), (x1, y1), _YELLOW, thickness)
    for x, y in qc.landmarks or []:
        cv2.circle(image, (round(x), round(y)), thickness + 1, _GREEN, -1, cv2.LINE_AA)
    if qc.fallback:
        _label(image, f"fallback: {qc.fallback}", _RED)
    return image


def write_landmark_montage(
    raw_frames: Sequence[np.ndarray],
    crops: Sequence[np.ndarray],
    qcs: Sequence[FaceQC],
    path: str | Path,
    labels: Sequence[str] | None = None,
    height: int = 256,
) -> Path:
    """For a few clips, one row each: raw reference frame with landmarks | aligned crop.

    Args:
        raw_frames: uint8 (H, W) raw reference frames (``AlignedClip.reference_frame``).
        crops: uint8 (S, S) aligned reference crops.
        qcs: the clips' QC records (landmarks, face box, fallback).
        path: output PNG.
        labels: text per row (default: running index).
        height: row height in pixels.
    """
    if not (len(raw_frames) == len(crops) == len(qcs)) or not crops:
        raise ValueError(
            f"write_landmark_montage: {len(raw_frames)} frames, {len(crops)} crops and "
            f"{len(qcs)} QC dicts for {path}"
        )
    labels = list(labels) if labels is not None else [str(i) for i in range(len(crops))]
    rows = []
    for frame, crop, qc, text in zip(raw_frames, crops, qcs, labels):
        left = draw_landmarks(frame, qc)
        left = cv2.resize(
            left, (round(left.shape[1] * height / left.shape[0]), height), interpolation=cv2.INTER_AREA
        )
        right = cv2.resize(
            cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), (height, height), interpolation=cv2.INTER_NEAREST
        )
        _label(left, text, (255, 255, 255))
        rows.append(np.hstack([left, np.full((height, 4, 3), 255, np.uint8), right]))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return _write_png(path, np.vstack(rows))
