"""A toy face backend plug-in: the mean face shape placed in the frame's centre (`pipeline.faces.registry`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.faces.backends import Face
from pipeline.faces.registry import BACKENDS, BackendSpec
from pipeline.faces.template import MEAN_SHAPE


@dataclass(frozen=True)
class CentreOptions:
    """``centre_share``: the face's width as a share of the frame's width."""

    centre_share: float = 0.4


class CentreBackend:
    name = "centre"  # what the QC records

    def __init__(self, options: CentreOptions) -> None:
        self.share = options.centre_share

    def landmarks(self, gray, box) -> np.ndarray:
        left, top, right, bottom = box
        shape = (MEAN_SHAPE - MEAN_SHAPE.min(0)) / np.ptp(MEAN_SHAPE, axis=0)
        return np.stack([left + shape[:, 0] * (right - left), top + shape[:, 1] * (bottom - top)], 1)

    def detect(self, gray) -> list[Face]:
        h, w = gray.shape
        side = self.share * w
        box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
        return [Face(box, 1.0, self.landmarks(gray, box))]


BACKENDS.register(BackendSpec("centre", CentreOptions, CentreBackend))
