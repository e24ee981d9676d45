"""Locate dlib model files without importing ``face_recognition_models``.

The ``face-recognition-models`` wheel ships dlib's 68-point shape predictor and
face detectors, but its ``__init__`` imports ``pkg_resources``, which recent
setuptools releases dropped. We find the package folder with importlib instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
MMOD_DETECTOR = "mmod_human_face_detector.dat"


def dlib_model_path(name: str, override: str | Path | None = None) -> Path:
    """Path of a dlib model file.

    ``override`` (a user-given file) wins; otherwise the file is looked up in the
    installed ``face_recognition_models`` package. Raises ``FileNotFoundError``
    naming the expected location when neither exists.
    """
    if override is not None:
        path = Path(override).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"dlib model file not found: {path} (given for {name})")
        return path
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"dlib model {name!r} not found: install the 'face-recognition-models' wheel "
            "(pip install face-recognition-models) or pass the file's path explicitly"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"dlib model file missing from face-recognition-models: expected {path}")
    return path
