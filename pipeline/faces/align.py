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


@dataclass
class _Reference:
    """The clip's reference face and frame.

    Attributes:
        index: frame whose face fixes the transform (-1: no face found, or mode "none").
        face: the best face on it (None in mode "none").
        faces: all faces detected on it.
        tried: frames searched for a face.
        frame: uint8 (H, W) reference frame (the first frame tried when no face was found).
    """

    index: int
    face: Face | None
    faces: list[Face]
    tried: list[int]
    frame: np.ndarray


@dataclass
class _Transform:
    """How the clip's frames map onto the crop.

    Attributes:
        matrix: (2, 3) source -> crop transform of the reference frame.
        matrices: (T, 2, 3) per-frame transforms (track mode), else None.
        landmarks: (68, 2) reference landmarks in source pixels (None without a face).
    """

    matrix: np.ndarray
    matrices: np.ndarray | None = None
    landmarks: np.ndarray | None = None


def _clip_files(
    paths: Sequence[str | Path], root: str | Path | None, reference_index: int
) -> tuple[list[Path], str]:
    """The clip's frame files and its folder (as text); refuses a ``reference_index`` outside the clip."""
    files = resolve_paths(paths, root)
    clip = str(files[0].parent)
    count = len(files)
    if not 0 <= reference_index < count:
        raise ValueError(
            f"align_clip: reference_index {reference_index} out of range for {count} frames of {clip}"
        )
    return files, clip


def _find_reference(
    reader: _ClipReader, backend: LandmarkBackend, params: FaceParams, reference_index: int
) -> _Reference:
    """Search for the face from ``reference_index`` (not in mode "none") and read the reference frame."""
    if params.mode == "none":
        index, face, faces, tried = -1, None, [], []
    else:
        index, face, faces, tried = _find_face(reader, backend, reference_index, params.search_frames)
    if index >= 0:
        frame = reader.read(index, keep=True)
    else:
        frame = reader.read(tried[0] if tried else reference_index, keep=True)
    return _Reference(index, face, faces, tried, frame)


def _face_transform(
    reader: _ClipReader, backend: LandmarkBackend, params: FaceParams, ref: _Reference
) -> tuple[_Transform, dict[str, Any]]:
    """Fit the reference landmarks (and in track mode every frame's) to the template.

    Returns the transform and the QC fields it fills (detection, landmarks, fit, track jitter).
    """
    template = template_points(params.size, params.margin, params.forehead)
    landmarks, used = _reference_landmarks(reader, backend, ref.index, ref.face, params)
    matrix = fit_similarity(landmarks, template)
    fitted = transform_points(matrix, landmarks)
    qc: dict[str, Any] = dict(
        reference_index=ref.index,
        landmark_frames=used,
        n_faces=len(ref.faces),
        detector_score=ref.face.score,
        other_scores=[f.score for f in ref.faces[1:]],
        face_box=list(ref.face.box),
        landmarks=_rounded(landmarks, 2),
        fit_rms_px=float(np.sqrt(((fitted - template) ** 2).sum(axis=1).mean())),
    )
    matrices = None
    if params.mode == "track":
        detected = _track_landmarks(reader, backend, ref.index, ref.face, landmarks)
        smooth = smooth_tracks(detected, params.track_sigma)
        matrices = np.stack([fit_similarity(points, template) for points in smooth])
        qc["track_jitter_px"] = float(np.linalg.norm(detected - smooth, axis=2).mean())
    return _Transform(matrix, matrices, landmarks), qc


def _clip_transform(
    reader: _ClipReader,
    backend: LandmarkBackend,
    params: FaceParams,
    ref: _Reference,
    clip: str,
) -> tuple[_Transform, dict[str, Any]]:
    """The transform for the clip's mode: centre crop (mode "none" or no face), else the face fit.

    Returns the transform and the QC fields it fills.

    Raises:
        FaceNotFoundError: no face and ``params.fallback == "skip"``.
    """
    if params.mode == "none":
        return _Transform(center_crop_matrix(*ref.frame.shape, params.size)), {}
    if ref.index < 0:
        tried = ref.tried
        reason = f"no face on frames {tried[0]}..{tried[-1]} (first: {reader.paths[tried[0]]})"
        if params.fallback == "skip":
            raise FaceNotFoundError(clip, reason)
        matrix = center_crop_matrix(*ref.frame.shape, params.size)
        return _Transform(matrix), {"fallback": "center", "fallback_reason": reason}
    return _face_transform(reader, backend, params, ref)


def _crop_frames(reader: _ClipReader, transform: _Transform, size: int) -> np.ndarray:
    """uint8 (T, size, size) crops of every frame, each warped by its transform."""
    count = len(reader.paths)
    out = np.empty((count, size, size), dtype=np.uint8)
    for i in range(count):
        matrix = transform.matrix if transform.matrices is None else transform.matrices[i]
        out[i] = warp(reader.read(i), matrix, size)
    return out


def _motion_qc(crops: np.ndarray) -> dict[str, Any]:
    """Phase-correlation shift between consecutive (T, S, S) crops: mean, max, per_frame."""
    shifts = residual_motion(crops)
    return {
        "mean": float(shifts.mean()) if shifts.size else 0.0,
        "max": float(shifts.max()) if shifts.size else 0.0,
        "per_frame": _rounded(shifts, 4),
    }


def _drift_qc(
    reader: _ClipReader, backend: LandmarkBackend, params: FaceParams, ref: _Reference, transform: _Transform
) -> dict[str, Any]:
    """Detect the face again on ``params.qc_face_frames`` frames spread over the clip.

    Returns the QC fields ``face_checked_frames``, ``face_lost_frames`` and ``drift_px``.
    """
    count = len(reader.paths)
    checked = checked_frames(count, ref.index, params.qc_face_frames)
    per_frame = transform.matrices if transform.matrices is not None else [transform.matrix] * count
    lost, away = _face_check(reader, backend, ref.face, transform.landmarks, per_frame, ref.index, checked)
    values = [away[i] for i in checked if i in away]
    drift = {
        "method": "rigid landmarks (nose, eye corners) against the reference frame, crop pixels",
        "max": max(values) if values else None,
        "last": away.get(checked[-1]) if checked else None,
        "per_frame": {str(i): round(v, 3) for i, v in away.items()},
    }
    return {"face_checked_frames": checked, "face_lost_frames": lost, "drift_px": drift}


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
    files, clip = _clip_files(paths, root, reference_index)
    reader = _ClipReader(files)
    backend = get_backend(params)
    qc: dict[str, Any] = {  # the fields set here; FaceQC holds the defaults of the others
        "clip": clip,
        "n_frames": len(files),
        "backend": backend.name,
        "mode": params.mode,
        "landmark_source": params.landmark_source,
        "reference_index_requested": reference_index,
    }
    ref = _find_reference(reader, backend, params, reference_index)
    qc["frames_searched"] = ref.tried
    qc["frame_height"], qc["frame_width"] = (int(v) for v in ref.frame.shape)
    transform, fitted = _clip_transform(reader, backend, params, ref, clip)
    qc.update(fitted)
    qc["matrix"] = _rounded(transform.matrix, 6)
    qc["transform"] = similarity_params(transform.matrix)
    out = _crop_frames(reader, transform, params.size)
    if params.qc_motion:
        qc["residual_motion_px"] = _motion_qc(out)
    if ref.index >= 0 and params.qc_face_frames > 0:
        qc.update(_drift_qc(reader, backend, params, ref, transform))
    return AlignedClip(frames=out, qc=FaceQC(**qc), reference_frame=ref.frame)
