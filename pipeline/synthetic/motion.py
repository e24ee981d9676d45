"""Action-unit-like local motions built from 68 dlib landmarks.

A motion is a set of control points (landmarks or points derived from them) each with a
displacement vector. Its dense field is the Gaussian-weighted sum

    D(x) = sum_k exp(-|x - p_k|^2 / (2 sigma^2)) v_k,

with the vectors scaled so that max_x |D(x)| equals the requested amplitude on the pixel grid
where the motion is built. Directions are expressed in face axes (``up`` points to the forehead,
``out`` away from the face's vertical midline), so the patterns follow pose and mirroring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# dlib 68-point indices
JAW = tuple(range(0, 17))
BROW_R, BROW_L = tuple(range(17, 22)), tuple(range(22, 27))  # image-left brow, image-right brow
EYE_R, EYE_L = tuple(range(36, 42)), tuple(range(42, 48))
UPPER_LIDS = (37, 38, 43, 44)

#: Per class: the AU codes written in the sheet, each with the face side the motion keeps
#: ("L" = subject's left = image right, "R" = image left, None = both).
AU_VARIANTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "happiness": (("6+12", None), ("12", None), ("L12", "L")),
    "surprise": (("1+2", None), ("1+2", None), ("R2", "R")),
    "disgust": (("9+10", None), ("L10", "L"), ("4+9", None)),
    "repression": (("17", None), ("14+17", None), ("15+17", None)),
    "others": (("4", None), ("4", None), ("L4", "L")),
}


@dataclass(frozen=True)
class FaceAxes:
    """Face frame from landmarks (image coordinates, y down)."""

    center: np.ndarray  # (2,) midpoint between the eyes
    right: np.ndarray  # (2,) unit vector from the image-left eye to the image-right eye
    up: np.ndarray  # (2,) unit vector towards the forehead
    iod: float  # inter-ocular distance, px


def face_axes(landmarks: np.ndarray) -> FaceAxes:
    """Axes of a face from its (68, 2) landmarks."""
    left_eye = landmarks[list(EYE_R)].mean(0)
    right_eye = landmarks[list(EYE_L)].mean(0)
    d = right_eye - left_eye
    iod = float(np.hypot(*d))
    right = d / iod
    up = np.array([right[1], -right[0]])
    return FaceAxes((left_eye + right_eye) / 2, right, up, iod)


@dataclass(frozen=True)
class Motion:
    """Gaussian blobs at ``points`` (K, 2) moving by ``vectors`` (K, 2) px, blob width ``sigma`` px."""

    points: np.ndarray
    vectors: np.ndarray
    sigma: float

    def field(self, shape: tuple[int, int], shift=(0.0, 0.0), gain: float = 1.0) -> np.ndarray:
        """Dense displacement on the pixel grid of ``shape`` (H, W) -> float32 (H, W, 2) as (dx, dy).

        ``shift`` (2,) translates the whole motion (head drift); ``gain`` scales it (time course).
        """
        return gaussian_field(self.points + np.asarray(shift, float), self.vectors * gain, self.sigma, shape)


def gaussian_field(
    points: np.ndarray, vectors: np.ndarray, sigma: float, shape: tuple[int, int]
) -> np.ndarray:
    """Sum of isotropic Gaussian blobs carrying displacement vectors.

    points: (K, 2) (x, y) px; vectors: (K, 2) px; shape: (H, W). Returns float32 (H, W, 2).
    Separable: each blob is the outer product of a row and a column profile.
    """
    h, w = shape
    if len(points) == 0:
        return np.zeros((h, w, 2), np.float32)
    ys, xs = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    gy = np.exp(-((ys[:, None] - points[None, :, 1]) ** 2) / (2 * sigma**2))  # (H, K)
    gx = np.exp(-((xs[:, None] - points[None, :, 0]) ** 2) / (2 * sigma**2))  # (W, K)
    # einsum rather than @: K is small, and a multi-threaded BLAS only spins on a busy machine.
    field = np.empty((h, w, 2), np.float32)
    for c in range(2):
        field[..., c] = np.einsum("hk,kw->hw", gy, vectors[:, c : c + 1] * gx.T)
    return field


def _components(emotion: str, lm: np.ndarray, axes: FaceAxes) -> list[tuple[np.ndarray, np.ndarray]]:
    """(points (K, 2), unnormalised vectors (K, 2)) for one class, in image coordinates."""
    up, right, iod = axes.up, axes.right, axes.iod

    def out(p: np.ndarray) -> np.ndarray:
        return np.sign((p - axes.center) @ right)[:, None] * right

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    parts: list[tuple[np.ndarray, np.ndarray]] = []
    if emotion == "happiness":  # AU12 lip corners up and out, AU6 cheeks raised, lower lids up
        corners = lm[[48, 54]]
        parts.append((corners, unit(0.8 * up + 0.6 * out(corners))))
        cheeks = np.stack([(lm[41] + lm[48]) / 2, (lm[46] + lm[54]) / 2])
        cheeks = cheeks + 0.15 * iod * out(cheeks)
        parts.append((cheeks, 0.6 * np.broadcast_to(up, cheeks.shape)))
        lids = lm[[40, 41, 46, 47]]
        parts.append((lids, 0.3 * np.broadcast_to(up, lids.shape)))
    elif emotion == "surprise":  # AU1+2 brows up, inner and outer
        brows = lm[list(BROW_R + BROW_L)]
        parts.append((brows, np.broadcast_to(up, brows.shape)))
    elif emotion == "disgust":  # AU9 nose wrinkle, AU10 upper lip raise, slight inner-brow lowering
        nose = lm[[31, 35]]
        parts.append((nose, 0.8 * unit(up - 0.3 * out(nose))))
        bridge = lm[[29]]
        parts.append((bridge, 0.4 * up[None]))
        lip = lm[[50, 51, 52]]
        parts.append((lip, np.broadcast_to(up, lip.shape)))
        inner = lm[[21, 22]]
        parts.append((inner, -0.4 * np.broadcast_to(up, inner.shape)))
    elif emotion == "repression":  # AU17 chin raise pushing the lower lip up, lips pressed
        lower = lm[[56, 57, 58]]
        parts.append((lower, np.broadcast_to(up, lower.shape)))
        chin = lm[[7, 8, 9]]
        parts.append((chin, 0.7 * np.broadcast_to(up, chin.shape)))
        upper = lm[[50, 51, 52]]
        parts.append((upper, -0.4 * np.broadcast_to(up, upper.shape)))
    elif emotion == "others":  # AU4 brow lowerer: inner brows down and together
        inner = lm[[20, 21, 22, 23]]
        parts.append((inner, unit(-up - 0.5 * out(inner))))
        mid = lm[[19, 24]]
        parts.append((mid, 0.6 * unit(-up - 0.3 * out(mid))))
    else:
        raise ValueError(f"emotion: unknown class {emotion!r}")
    return parts


def expression_motion(
    emotion: str,
    landmarks: np.ndarray,
    amplitude: float,
    shape: tuple[int, int],
    side: str | None = None,
    sigma_iod: float = 0.22,
) -> Motion:
    """The micro-expression of ``emotion`` on a face with ``landmarks`` (68, 2) in a (H, W) frame.

    side: "L" keeps the subject's left half (image right), "R" the right half, None both.
    Peak |D| over the (H, W) pixel grid equals ``amplitude`` px.
    """
    axes = face_axes(landmarks)
    parts = _components(emotion, np.asarray(landmarks, float), axes)
    points = np.concatenate([p for p, _ in parts])
    vectors = np.concatenate([np.asarray(v, float) for _, v in parts])
    if side is not None:
        if side not in ("L", "R"):
            raise ValueError(f"side: {side!r} must be 'L', 'R' or None")
        across = (points - axes.center) @ axes.right
        keep = across > 0.05 * axes.iod if side == "L" else across < -0.05 * axes.iod
        points, vectors = points[keep], vectors[keep]
    sigma = sigma_iod * axes.iod
    peak = float(np.linalg.norm(gaussian_field(points, vectors, sigma, shape), axis=-1).max())
    if peak <= 0:
        raise ValueError(f"{emotion}: the motion falls outside the {shape} frame")
    return Motion(points, vectors * (amplitude / peak), sigma)


def blink_motion(landmarks: np.ndarray, depth: float = 0.7) -> Motion:
    """Upper eyelids moving down by ``depth`` times the eye opening (both eyes)."""
    axes = face_axes(landmarks)
    opening = float(
        np.mean(
            [np.hypot(*(landmarks[a] - landmarks[b])) for a, b in ((37, 41), (38, 40), (43, 47), (44, 46))]
        )
    )
    points = landmarks[list(UPPER_LIDS)].astype(float)
    vectors = np.broadcast_to(-axes.up * depth * opening, points.shape).copy()
    return Motion(points, vectors, 0.14 * axes.iod)


def envelope(index: np.ndarray | int, length: int, apex: int) -> np.ndarray:
    """Onset -> apex -> offset time course: raised-cosine rise over [0, apex], fall over [apex, length-1].

    0 at the first and last frame, 1 at ``apex``. Returns float64 of the shape of ``index``.
    """
    if not 0 < apex < length - 1:
        raise ValueError(f"apex: index {apex} must lie strictly inside a clip of {length} frames")
    t = np.asarray(index, dtype=np.float64)
    rise = 0.5 * (1 - np.cos(np.pi * np.clip(t / apex, 0, 1)))
    fall = 0.5 * (1 + np.cos(np.pi * np.clip((t - apex) / (length - 1 - apex), 0, 1)))
    return np.where(t <= apex, rise, fall)


def blink_envelope(index: np.ndarray | int, start: int, frames: int) -> np.ndarray:
    """Blink time course: a raised-cosine bump over [start, start + frames - 1], peak 1 in the middle."""
    t = (np.asarray(index, dtype=np.float64) - start) / max(frames - 1, 1)
    return np.where((t >= 0) & (t <= 1), 0.5 * (1 - np.cos(2 * np.pi * np.clip(t, 0, 1))), 0.0)
