"""The face-backend seam (`pipeline.registry.Registry`): detectors + 68-point landmark models by name.

A backend entry owns its options dataclass (the settings only it reads, e.g. dlib's detector and model
files, FAN's device), so a new backend's options never rename a cache built with another one; its
``make(options)`` returns an object with a ``name`` (recorded in the QC), ``detect(gray) -> list[Face]``
and ``landmarks(gray, box) -> (68, 2)`` (`pipeline.faces.backends.LandmarkBackend`). The built-in ``dlib`` and ``fan`` are in
`pipeline.faces.backends`; another is one file ending in ``BACKENDS.register(BackendSpec(...))``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.registry import Registry


@dataclass(frozen=True)
class BackendSpec:
    """One face backend: ``name`` (what ``--face-backend`` takes), its ``options`` dataclass (or None),
    ``make(options)`` building it (called once per process and options), a one-line ``description``."""

    name: str
    options: type | None
    make: Callable[[Any], Any]
    description: str = ""


BACKENDS: Registry[BackendSpec] = Registry("face backend")


# the built-in backends register themselves on import (dlib is imported only when one is built)
import pipeline.faces.backends  # noqa: E402, F401
