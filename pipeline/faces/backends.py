"""Face detection + 68-point landmark backends behind one small interface.

A backend has two methods on a grayscale uint8 (H, W) image:

- ``detect(gray) -> list[Face]``: faces sorted best first (highest detector score);
- ``landmarks(gray, box) -> (68, 2) float64``: landmarks inside a given box (used to track a face
  from frame to frame without running the detector again).

Backends are built lazily and cached per process (``get_backend``), so ``align_clip`` can be sent
to worker processes and each worker loads its models once.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from pipeline.faces.registry import BACKENDS, BackendSpec
from pipeline.validation import require

from .models import MMOD_DETECTOR, PREDICTOR_68, dlib_model_path

if TYPE_CHECKING:
    from .params import FaceParams

DETECTORS = ("hog", "cnn")

Box = tuple[float, float, float, float]  # left, top, right, bottom (pixels)


@dataclass(frozen=True)
class Face:
    """One detected face: box, detector score and, when the backend computes them anyway, landmarks."""

    box: Box
    score: float
    landmarks: np.ndarray | None = None


class LandmarkBackend(Protocol):
    name: str

    def detect(self, gray: np.ndarray) -> list[Face]: ...

    def landmarks(self, gray: np.ndarray, box: Box) -> np.ndarray: ...


class DlibBackend:
    """dlib frontal HOG (or MMOD CNN) detector + 68-point shape predictor."""

    def __init__(
        self,
        detector: str = "hog",
        predictor_path: str | None = None,
        detector_path: str | None = None,
        upsample: int = 0,
    ) -> None:
        import dlib

        self._dlib = dlib
        self.name = f"dlib-{detector}"
        self.upsample = upsample
        self.predictor = dlib.shape_predictor(str(dlib_model_path(PREDICTOR_68, predictor_path)))
        if detector == "cnn":
            self.cnn = dlib.cnn_face_detection_model_v1(str(dlib_model_path(MMOD_DETECTOR, detector_path)))
            self.hog = None
        else:
            self.cnn = None
            self.hog = dlib.get_frontal_face_detector()

    def detect(self, gray: np.ndarray) -> list[Face]:
        """Faces best first; when none is found, the image is searched once more upsampled x2."""
        gray = np.ascontiguousarray(gray)
        for upsample in (self.upsample, self.upsample + 1):
            if self.hog is not None:
                rects, scores, _ = self.hog.run(gray, upsample, 0.0)
                found = list(zip(rects, scores))
            else:
                found = [(d.rect, d.confidence) for d in self.cnn(gray, upsample)]
            if found:
                break
        faces = [
            Face((float(r.left()), float(r.top()), float(r.right()), float(r.bottom())), float(s))
            for r, s in found
        ]
        return sorted(faces, key=lambda f: f.score, reverse=True)

    def landmarks(self, gray: np.ndarray, box: Box) -> np.ndarray:
        rect = self._dlib.rectangle(*(int(round(v)) for v in box))
        shape = self.predictor(np.ascontiguousarray(gray), rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


# Weight files that face-alignment fetches into torch.hub's checkpoint folder; alternatives are the
# names used by different face-alignment releases (1.5: .pth.tar, 1.4 on torch >= 1.6: .zip).
FAN_WEIGHTS: dict[str, tuple[str, ...]] = {
    "2DFAN-4 landmarks": ("2DFAN4-11f355bf06.pth.tar", "2DFAN4_1.6-c827573f02.zip"),
    "S3FD face detector": ("s3fd-619a316812.pth",),
}


def fan_checkpoint_dir() -> Path:
    """Folder where face-alignment looks for its weights: ``torch.hub.get_dir()/checkpoints``."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def check_fan_available() -> Path:
    """Check that face-alignment can run offline; returns the checkpoint folder.

    Raises ``FileNotFoundError`` naming the files and the folder when weights are missing, and
    ``ImportError`` when the package is not installed. Nothing is downloaded.
    """
    folder = fan_checkpoint_dir()
    missing = [
        f"{what}: {' or '.join(names)}"
        for what, names in FAN_WEIGHTS.items()
        if not any((folder / n).is_file() for n in names)
    ]
    if missing:
        raise FileNotFoundError(
            "face-alignment (FAN) weights not found; put these files in "
            f"{folder} (torch.hub checkpoint folder; set TORCH_HOME to move it): " + "; ".join(missing)
        )
    if importlib.util.find_spec("face_alignment") is None:
        raise ImportError(
            "the 'fan' face backend needs the face-alignment package: pip install face-alignment "
            "(or install this project with the [fan] extra)"
        )
    return folder


class FanBackend:
    """face-alignment's FAN 2D landmarks with its S3FD detector (weights must be cached locally)."""

    def __init__(self, device: str = "cpu") -> None:
        check_fan_available()
        import face_alignment

        self.name = "fan"
        kind = getattr(face_alignment.LandmarksType, "TWO_D", None) or face_alignment.LandmarksType._2D
        kwargs = {"device": device, "flip_input": False}
        if "compile" in inspect.signature(face_alignment.FaceAlignment).parameters:
            kwargs["compile"] = False
        self.model = face_alignment.FaceAlignment(kind, **kwargs)

    def _run(self, gray: np.ndarray, boxes: list | None):
        rgb = np.repeat(gray[:, :, None], 3, axis=2)
        return self.model.get_landmarks_from_image(rgb, detected_faces=boxes, return_bboxes=True)

    def detect(self, gray: np.ndarray) -> list[Face]:
        points, _, boxes = self._run(gray, None)
        if not points:
            return []
        faces = []
        for p, b in zip(points, boxes):
            score = float(b[4]) if len(b) > 4 else 1.0
            faces.append(Face(tuple(float(v) for v in b[:4]), score, np.asarray(p[:, :2], dtype=np.float64)))
        return sorted(faces, key=lambda f: f.score, reverse=True)

    def landmarks(self, gray: np.ndarray, box: Box) -> np.ndarray:
        points, _, _ = self._run(gray, [np.array([*box, 1.0])])
        return np.asarray(points[0][:, :2], dtype=np.float64)


@dataclass(frozen=True)
class DlibOptions:
    """What only the dlib backend reads.

    Attributes:
        detector: ``"hog"`` (frontal HOG, default) or ``"cnn"`` (MMOD).
        predictor_path: user-given dlib 68-point shape predictor file (default: the
            face-recognition-models wheel).
        detector_path: user-given dlib MMOD detector file (``detector="cnn"`` only).
        upsample: how many times dlib upsamples the image before detecting (0 finds faces larger than
            about 80 px; when nothing is found the frame is searched again with one more upsampling).
    """

    detector: str = "hog"
    predictor_path: str | None = None
    detector_path: str | None = None
    upsample: int = 0

    def __post_init__(self) -> None:
        require(
            self.detector in DETECTORS,
            "DlibOptions",
            "detector",
            f"must be one of {DETECTORS}",
            self.detector,
        )
        ok = isinstance(self.upsample, int) and not isinstance(self.upsample, bool) and self.upsample >= 0
        require(ok, "DlibOptions", "upsample", "must be an integer >= 0", self.upsample)
        require(
            self.detector_path is None or self.detector == "cnn",
            "DlibOptions",
            "detector_path",
            "must be empty unless detector='cnn' (only the MMOD detector reads a file)",
            self.detector_path,
        )


@dataclass(frozen=True)
class FanOptions:
    """What only the FAN backend reads: the torch ``device`` it runs on."""

    device: str = "cpu"


@functools.lru_cache(maxsize=4)
def _cached_backend(backend: str, options) -> LandmarkBackend:
    return BACKENDS[backend].make(options)


def get_backend(params: FaceParams) -> LandmarkBackend:
    """The backend described by ``params``, built once per process."""
    return _cached_backend(params.backend, params.backend_options)


BACKENDS.register(
    BackendSpec(
        "dlib",
        DlibOptions,
        lambda o: DlibBackend(o.detector, o.predictor_path, o.detector_path, o.upsample),
        "dlib HOG (or MMOD CNN) detector + 68-point shape predictor",
    )
)
BACKENDS.register(BackendSpec("fan", FanOptions, lambda o: FanBackend(o.device), "face-alignment FAN + S3FD"))
