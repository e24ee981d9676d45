"""Similarity fits, warps and motion measurements on plain arrays."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) mapping src to dst.

    Closed-form Umeyama fit, no reflection.

    Args:
        src: (N, 2) points, N >= 2, not all equal.
        dst: (N, 2) points.

    Returns:
        float64 (2, 3) matrix ``M`` with ``dst ~ src @ M[:, :2].T + M[:, 2]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"fit_similarity needs two (N, 2) arrays, N >= 2; got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    var_s = (s**2).sum() / len(src)
    if var_s <= 1e-12:
        raise ValueError("fit_similarity: source points are all equal")
    cov = d.T @ s / len(src)
    u, sigma, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rot = u @ np.diag(sign) @ vt
    scale = (sigma * sign).sum() / var_s
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (N, 2) points; returns (N, 2)."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def similarity_params(matrix: np.ndarray) -> dict[str, float]:
    """Scale, rotation (degrees) and translation of a (2, 3) similarity matrix."""
    a, b = matrix[0, 0], matrix[1, 0]
    return {
        "scale": float(np.hypot(a, b)),
        "rotation_deg": float(np.degrees(np.arctan2(b, a))),
        "tx": float(matrix[0, 2]),
        "ty": float(matrix[1, 2]),
    }


def center_crop_matrix(height: int, width: int, size: int) -> np.ndarray:
    """(2, 3) matrix mapping the central square of a (height, width) frame onto a size x size crop."""
    side = min(height, width)
    scale = size / side
    x0 = (width - side) / 2.0
    y0 = (height - side) / 2.0
    # pixel-centre convention: source pixel x0 - 0.5 maps to -0.5
    return np.array(
        [[scale, 0.0, (0.5 - x0) * scale - 0.5], [0.0, scale, (0.5 - y0) * scale - 0.5]], dtype=np.float64
    )


def warp(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warp one (H, W) uint8 frame into a (size, size) uint8 crop (bilinear, edges replicated)."""
    return cv2.warpAffine(
        frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def smooth_tracks(landmarks: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian temporal smoothing of landmark tracks.

    Args:
        landmarks: (T, N, 2) positions per frame.
        sigma: standard deviation in frames; 0 returns a copy.

    Returns:
        (T, N, 2) float64 smoothed tracks (edges: nearest-value padding).
    """
    tracks = np.asarray(landmarks, dtype=np.float64)
    if sigma <= 0 or len(tracks) < 2:
        return tracks.copy()
    return gaussian_filter1d(tracks, sigma, axis=0, mode="nearest")


def _shift_magnitudes(frames: np.ndarray, consecutive: bool) -> np.ndarray:
    """Phase-correlation shift of frames 1..T-1 against the previous frame or against frame 0."""
    if len(frames) < 2:
        return np.zeros(0)
    height, width = frames.shape[1:]
    window = cv2.createHanningWindow((width, height), cv2.CV_64F)
    shifts = np.empty(len(frames) - 1)
    ref = frames[0].astype(np.float64)
    for i in range(1, len(frames)):
        cur = frames[i].astype(np.float64)
        (dx, dy), _ = cv2.phaseCorrelate(ref, cur, window)
        shifts[i - 1] = np.hypot(dx, dy)
        if consecutive:
            ref = cur
    return shifts


def residual_motion(frames: np.ndarray) -> np.ndarray:
    """Translation between consecutive frames by phase correlation.

    Args:
        frames: (T, H, W) aligned crops.

    Returns:
        float64 (T - 1,) shift magnitudes in pixels (empty when T < 2).
    """
    return _shift_magnitudes(frames, consecutive=True)


def drift(frames: np.ndarray) -> np.ndarray:
    """Translation of every frame against the first by phase correlation: slow head drift that the
    frame-to-frame :func:`residual_motion` cannot see (a 3 px ramp over 30 frames is 0.1 px per frame).

    Args:
        frames: (T, H, W) aligned crops.

    Returns:
        float64 (T - 1,) shift magnitudes of frames 1..T-1 in pixels (empty when T < 2).
    """
    return _shift_magnitudes(frames, consecutive=False)
