"""``FaceQC``: the face stage's quality-control record of one clip, read by the build and the montages."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FaceQC:
    """What ``align_clip`` found and did for one clip (JSON-ready through :meth:`to_dict`).

    Attributes:
        clip: the clip folder; n_frames, frame_height, frame_width: its frames.
        backend, mode, landmark_source: the ``FaceParams`` that shaped the result.
        reference_index_requested: the reference frame asked for (the onset); reference_index: the
            frame whose landmarks were used (None on fallback); landmark_frames: frames in the
            landmark median; frames_searched: frames tried for a face.
        n_faces, detector_score, other_scores, face_box: the detection on the reference frame.
        landmarks: 68 x [x, y] source pixels; matrix: 2 x 3 source -> crop; transform: scale,
            rotation, shift; fit_rms_px: landmark-to-template RMS distance in crop pixels.
        fallback, fallback_reason: None, or "center" and why (no face found).
        track_jitter_px: track mode's landmark jitter removed by smoothing.
        residual_motion_px: phase-correlation shift between consecutive crops (mean, max, per_frame).
        face_checked_frames, face_lost_frames: frames where the face was detected again, and those
            where it was not found near the reference box.
        drift_px: rigid-landmark shift against the reference frame on the checked frames, crop pixels
            (method, max, last, per_frame).
    """

    clip: str
    n_frames: int
    backend: str
    mode: str
    landmark_source: str
    reference_index_requested: int
    frame_height: int = 0
    frame_width: int = 0
    reference_index: int | None = None
    landmark_frames: list[int] = field(default_factory=list)
    frames_searched: list[int] = field(default_factory=list)
    n_faces: int = 0
    detector_score: float | None = None
    other_scores: list[float] = field(default_factory=list)
    face_box: list[float] | None = None
    landmarks: list[list[float]] | None = None
    matrix: list[list[float]] | None = None
    transform: dict[str, float] | None = None
    fit_rms_px: float | None = None
    fallback: str | None = None
    fallback_reason: str | None = None
    track_jitter_px: float | None = None
    residual_motion_px: dict[str, Any] | None = None
    drift_px: dict[str, Any] | None = None
    face_checked_frames: list[int] = field(default_factory=list)
    face_lost_frames: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FaceQC:
        """Inverse of :meth:`to_dict` (e.g. a record read back from JSON)."""
        return cls(**values)
