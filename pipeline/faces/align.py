"""Align every frame of a clip to the canonical face template and crop it (the face stage's entry point)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .backends import Face, LandmarkBackend, get_backend
from .errors import FaceNotFoundError
from .frames import read_frame, resolve_paths
from .geometry import (
    center_crop_matrix,
    fit_similarity,
    residual_motion,
    similarity_params,
    smooth_tracks,
    transform_points,
    warp,
)
from .params import FaceParams
from .record import FaceQC
from .template import template_points


@dataclass
class AlignedClip:
    """Aligned grayscale crops of one clip.

    Attributes:
        frames: uint8 (T, S, S) crops, S = ``FaceParams.size``.
        qc: the clip's quality-control record (:class:`~pipeline.faces.record.FaceQC`).
        reference_frame: uint8 (H, W) raw frame whose landmarks fixed the transform (for QC montages).
    """

    frames: np.ndarray
    qc: FaceQC
    reference_frame: np.ndarray | None = None


class _ClipReader:
    """Decodes a clip's frames on demand, keeping the few frames used for detection."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.shape: tuple[int, int] | None = None
        self.kept: dict[int, np.ndarray] = {}

    def read(self, index: int, keep: bool = False) -> np.ndarray:
        if index in self.kept:
            return self.kept[index]
        frame = read_frame(self.paths[index], self.shape)
        if self.shape is None:
            self.shape = frame.shape
        if keep:
            self.kept[index] = frame
        return frame


def _rounded(array: np.ndarray, decimals: int) -> list:
    return np.round(np.asarray(array, dtype=np.float64), decimals).tolist()


def _find_face(
    reader: _ClipReader, backend: LandmarkBackend, start: int, search: int
) -> tuple[int, Face, list[Face], list[int]]:
    """First frame from ``start`` (up to ``search`` more) with a face.

    Returns its index (-1: none), the best face, all faces on it and the frames tried.
    """
    tried = []
    for index in range(start, min(start + search + 1, len(reader.paths))):
        tried.append(index)
        faces = backend.detect(reader.read(index, keep=True))
        if faces:
            return index, faces[0], faces, tried
    return -1, Face((0, 0, 0, 0), 0.0), [], tried


def _reference_landmarks(
    reader: _ClipReader, backend: LandmarkBackend, index: int, face: Face, params: FaceParams
) -> tuple[np.ndarray, list[int]]:
    """(68, 2) landmarks on the reference frame, or their per-point median over several frames."""
    first = face.landmarks if face.landmarks is not None else backend.landmarks(reader.read(index), face.box)
    if params.landmark_source == "onset":
        return first, [index]
    used = list(range(index, min(index + params.median_frames, len(reader.paths))))
    stack = [first] + [backend.landmarks(reader.read(i, keep=True), face.box) for i in used[1:]]
    return np.median(np.stack(stack), axis=0), used


#: landmarks that an expression barely moves (nose bridge and base, eye corners): their centroid
#: follows the head, so its shift in the crop is the clip's residual drift
RIGID_POINTS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)


def checked_frames(count: int, reference: int, n: int) -> list[int]:
    """``n`` frames spread evenly over a clip of ``count`` (the last always among them), not ``reference``."""
    if n <= 0 or count < 2:
        return []
    picks = np.unique(np.round(np.linspace(0, count - 1, n + 1)[1:]).astype(int))
    return [int(i) for i in picks if i != reference]


def _face_check(
    reader: _ClipReader,
    backend: LandmarkBackend,
    face: Face,
    landmarks: np.ndarray,
    matrices: Sequence[np.ndarray],
    reference: int,
    frames: list[int],
) -> tuple[list[int], dict[int, float]]:
    """Detect the face again on ``frames``: those where it is gone, and the drift on the others.

    A frame has the face when a detection lies within half a box width of the reference box. Its
    drift is the shift, in crop pixels, of the centroid of the :data:`RIGID_POINTS` landmarks
    against the reference frame's, each mapped by that frame's transform (``matrices[i]``). The
    landmarks are found in the reference box moved with the face (:func:`_landmarks_near`), not in
    the detector's box of that frame, whose jitter moves the landmarks by pixels.

    Returns ``(lost frames, {frame: drift in crop px})``.
    """
    width = face.box[2] - face.box[0]
    centre = np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2])
    rigid = list(RIGID_POINTS)
    origin = transform_points(matrices[reference], landmarks[rigid]).mean(axis=0)
    lost, drift_px = [], {}
    for i in frames:
        gray = reader.read(i)
        near = [
            f
            for f in backend.detect(gray)
            if np.hypot(*(np.array([(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2]) - centre))
            < 0.5 * width
        ]
        if not near:
            lost.append(i)
            continue
        points = _landmarks_near(backend, gray, face.box, landmarks)
        moved = transform_points(matrices[i], points[rigid]).mean(axis=0)
        drift_px[i] = float(np.hypot(*(moved - origin)))
    return lost, drift_px


def _moved(box: tuple, shift: np.ndarray) -> tuple[float, float, float, float]:
    """``box`` (left, top, right, bottom) translated by ``shift`` (dx, dy)."""
    dx, dy = float(shift[0]), float(shift[1])
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def _landmarks_near(
    backend: LandmarkBackend, gray: np.ndarray, box: tuple, reference: np.ndarray, rounds: int = 2
) -> np.ndarray:
    """(68, 2) landmarks of ``gray`` found in ``box`` translated by the face's shift from ``reference``
    (the shift is re-estimated from the landmarks ``rounds`` times)."""
    shift = np.zeros(2)
    for _ in range(rounds):
        points = backend.landmarks(gray, _moved(box, shift))
        shift = points.mean(axis=0) - reference.mean(axis=0)
    return points


def _track_landmarks(
    reader: _ClipReader, backend: LandmarkBackend, index: int, face: Face, first: np.ndarray
) -> np.ndarray:
    """(T, 68, 2) landmarks of every frame, each found in the detector box moved with the face."""
    count = len(reader.paths)
    tracks = np.empty((count, 68, 2))
    tracks[index] = first
    origin = first.mean(axis=0)
    for order in (range(index + 1, count), range(index - 1, -1, -1)):
        previous = first
        for i in order:
            box = _moved(face.box, previous.mean(axis=0) - origin)
            tracks[i] = previous = backend.landmarks(reader.read(i, keep=True), box)
    return tracks


def align_clip(
    paths: Sequence[str | Path],
    params: FaceParams | None = None,
    *,
    root: str | Path | None = None,
    reference_index: int = 0,
) -> AlignedClip:
    """Detect the face once, similarity-align it to the canonical template and crop every frame.

    With ``params.mode == "none"`` nothing is detected: every frame's central square is resized to
    the output size (``qc["mode"]`` says so; ``landmarks``, ``face_box`` stay None).

    Args:
        paths: frame files in temporal order (relative to ``root`` when given).
        params: face-stage configuration (default ``FaceParams()``).
        root: folder the paths are relative to.
        reference_index: position in ``paths`` of the reference frame (the onset: 0 by default).

    Returns:
        ``AlignedClip`` with uint8 (T, S, S) frames. Its ``qc`` (a :class:`FaceQC`) holds: ``clip``, ``n_frames``,
        ``frame_height``/``frame_width``, ``backend``, ``mode``, ``landmark_source``,
        ``reference_index_requested``, ``reference_index`` (frame whose landmarks were used, None on
        fallback), ``landmark_frames`` (frames in the landmark median), ``frames_searched``,
        ``n_faces``, ``detector_score``, ``other_scores``, ``face_box``, ``landmarks`` (68 x [x, y],
        source pixels), ``matrix`` (2 x 3, source -> crop), ``transform`` (scale, rotation, shift),
        ``fit_rms_px`` (landmark-to-template RMS distance in crop pixels), ``fallback`` (None or
        "center"), ``fallback_reason``, ``track_jitter_px`` (track mode), ``residual_motion_px``
        (phase-correlation shift between consecutive crops: mean, max, per_frame),
        ``face_checked_frames`` (``params.qc_face_frames`` frames spread over the clip where the face
        is detected again), ``face_lost_frames`` (those without a face near the reference box: the
        face left the frame or was covered), ``drift_px`` (on the checked frames, shift in crop
        pixels of the rigid landmarks against the reference frame: max, last, per_frame; slow head
        drift shows here, frame-to-frame ``residual_motion_px`` misses it).

    Raises:
        FrameReadError: a frame is missing, empty, truncated, undecodable or of another size.
        FaceNotFoundError: no face and ``fallback="skip"``.
    """
    params = params or FaceParams()
    files = resolve_paths(paths, root)
    clip = str(files[0].parent)
    count = len(files)
    if not 0 <= reference_index < count:
        raise ValueError(
            f"align_clip: reference_index {reference_index} out of range for {count} frames of {clip}"
        )
    size = params.size
    reader = _ClipReader(files)
    backend = get_backend(params)
    qc: dict[str, Any] = {
        "clip": clip,
        "n_frames": count,
        "backend": backend.name,
        "mode": params.mode,
        "landmark_source": params.landmark_source,
        "reference_index_requested": reference_index,
        "reference_index": None,
        "landmark_frames": [],
        "frames_searched": [],
        "n_faces": 0,
        "detector_score": None,
        "other_scores": [],
        "face_box": None,
        "landmarks": None,
        "matrix": None,
        "transform": None,
        "fit_rms_px": None,
        "fallback": None,
        "fallback_reason": None,
        "track_jitter_px": None,
        "residual_motion_px": None,
        "drift_px": None,
        "face_checked_frames": [],
        "face_lost_frames": [],
    }

    matrices: np.ndarray | None = None
    if params.mode == "none":
        index, face, faces, tried = -1, None, [], []
    else:
        index, face, faces, tried = _find_face(reader, backend, reference_index, params.search_frames)
    qc["frames_searched"] = tried
    if index >= 0:
        reference_frame = reader.read(index, keep=True)
    else:
        reference_frame = reader.read(tried[0] if tried else reference_index, keep=True)
    qc["frame_height"], qc["frame_width"] = (int(v) for v in reference_frame.shape)
    template = template_points(size, params.margin, params.forehead)

    if params.mode == "none":
        matrix = center_crop_matrix(*reference_frame.shape, size)
    elif index < 0:
        reason = f"no face on frames {tried[0]}..{tried[-1]} (first: {files[tried[0]]})"
        if params.fallback == "skip":
            raise FaceNotFoundError(clip, reason)
        qc["fallback"], qc["fallback_reason"] = "center", reason
        matrix = center_crop_matrix(*reference_frame.shape, size)
    else:
        landmarks, used = _reference_landmarks(reader, backend, index, face, params)
        matrix = fit_similarity(landmarks, template)
        fitted = transform_points(matrix, landmarks)
        qc.update(
            reference_index=index,
            landmark_frames=used,
            n_faces=len(faces),
            detector_score=face.score,
            other_scores=[f.score for f in faces[1:]],
            face_box=list(face.box),
            landmarks=_rounded(landmarks, 2),
            fit_rms_px=float(np.sqrt(((fitted - template) ** 2).sum(axis=1).mean())),
        )
        if params.mode == "track":
            detected = _track_landmarks(reader, backend, index, face, landmarks)
            smooth = smooth_tracks(detected, params.track_sigma)
            matrices = np.stack([fit_similarity(points, template) for points in smooth])
            qc["track_jitter_px"] = float(np.linalg.norm(detected - smooth, axis=2).mean())
    qc["matrix"] = _rounded(matrix, 6)
    qc["transform"] = similarity_params(matrix)

    out = np.empty((count, size, size), dtype=np.uint8)
    for i in range(count):
        out[i] = warp(reader.read(i), matrix if matrices is None else matrices[i], size)
    if params.qc_motion:
        shifts = residual_motion(out)
        qc["residual_motion_px"] = {
            "mean": float(shifts.mean()) if shifts.size else 0.0,
            "max": float(shifts.max()) if shifts.size else 0.0,
            "per_frame": _rounded(shifts, 4),
        }
    if index >= 0 and params.qc_face_frames > 0:
        checked = checked_frames(count, index, params.qc_face_frames)
        per_frame = matrices if matrices is not None else [matrix] * count
        lost, away = _face_check(reader, backend, face, landmarks, per_frame, index, checked)
        qc["face_checked_frames"], qc["face_lost_frames"] = checked, lost
        values = [away[i] for i in checked if i in away]
        qc["drift_px"] = {
            "method": "rigid landmarks (nose, eye corners) against the reference frame, crop pixels",
            "max": max(values) if values else None,
            "last": away.get(checked[-1]) if checked else None,
            "per_frame": {str(i): round(v, 3) for i, v in away.items()},
        }
    return AlignedClip(frames=out, qc=FaceQC(**qc), reference_frame=reference_frame)
