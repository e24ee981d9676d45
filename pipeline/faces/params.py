"""Typed configuration of the face stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.faces.registry import BACKENDS
from pipeline.registry import options_from
from pipeline.validation import ParamError, require

LANDMARK_SOURCES = ("onset", "median")
MODES = ("clip", "track", "none")
FALLBACKS = ("skip", "center")


@dataclass(frozen=True)
class FaceParams:
    """How faces are found, aligned and cropped.

    Attributes:
        backend: the face backend (`pipeline.faces.registry.BACKENDS`): ``"dlib"`` (default) or
            ``"fan"`` (face-alignment, optional dependency); its options are ``backend_options``.
        size: side of the square output crop in pixels.
        margin: fraction of ``size`` left free around the canonical face box on each side.
        forehead: how far the canonical face box extends above the eyebrows, in inter-ocular
            distances (micro-expressions move the brows and forehead).
        landmark_source: which landmarks fix the transform: ``"onset"``, those of the reference frame (the
            clip's onset) alone; ``"median"``, their per-point median over ``median_frames`` frames
            from the reference frame.
        median_frames: number of frames in the median (``landmark_source="median"``).
        mode: ``"clip"`` (default): one similarity transform per clip applied to every frame;
            ``"track"``: landmarks on every frame, smoothed in time, one transform per frame (keeps the
            clip's raw frames in memory; per-frame landmark noise can add jitter that swamps
            micro-movements, hence not the default); ``"none"``: no detection and no alignment, the
            central square of every frame resized to ``size`` (a baseline for alignment studies).
        track_sigma: standard deviation, in frames, of the Gaussian that smooths tracked landmarks.
        search_frames: how many frames after the reference frame are tried when it has no face.
        fallback: what happens when no face is found: ``"skip"`` raises ``FaceNotFoundError``,
            ``"center"`` crops the centre of the frame; both are recorded in the QC dict.
        qc_motion: measure the residual inter-frame motion of the aligned crops for the QC dict.
        qc_face_frames: how many frames, spread over the clip, the face is detected again on, to
            flag clips where it is lost and to measure the landmark drift (0: no check).
        backend_options: the backend's options dataclass (`pipeline.faces.backends.DlibOptions`,
            ``FanOptions``); a dict of its fields or None (its defaults) is turned into one.
    """

    backend: str = "dlib"
    size: int = 128
    margin: float = 0.05
    forehead: float = 0.4
    landmark_source: str = "onset"
    median_frames: int = 5
    mode: str = "clip"
    track_sigma: float = 2.0
    search_frames: int = 10
    fallback: str = "skip"
    qc_motion: bool = True
    qc_face_frames: int = 4
    backend_options: Any = None

    def __post_init__(self) -> None:
        require(
            self.backend in BACKENDS,
            "FaceParams",
            "backend",
            f"must be one of {BACKENDS.names()}",
            self.backend,
        )
        options = options_from(
            BACKENDS[self.backend].options, self.backend_options, "FaceParams.backend_options"
        )
        object.__setattr__(self, "backend_options", options)
        choices = {
            "landmark_source": LANDMARK_SOURCES,
            "mode": MODES,
            "fallback": FALLBACKS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ParamError("FaceParams", name, f"must be one of {allowed}", getattr(self, name))
        for name, low in (
            ("size", 16),
            ("median_frames", 1),
            ("search_frames", 0),
            ("qc_face_frames", 0),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ParamError("FaceParams", name, f"must be an integer >= {low}", value)
        require(0.0 <= self.margin < 0.5, "FaceParams", "margin", "must be in [0, 0.5)", self.margin)
        require(0.0 <= self.forehead <= 2.0, "FaceParams", "forehead", "must be in [0, 2]", self.forehead)
        require(self.track_sigma >= 0.0, "FaceParams", "track_sigma", "must be >= 0", self.track_sigma)
