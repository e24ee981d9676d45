"""Canonical 68-point face template (dlib / iBUG-300W point order).

``MEAN_SHAPE`` was measured once with dlib's 68-point predictor on two frontal faces
(``skimage.data.astronaut`` and matplotlib's ``grace_hopper.jpg``) and their mirror images, each
normalised so that the eye centres sit at (-0.5, 0) and (0.5, 0), then averaged: the shape is
left-right symmetric, the eyes are level and the inter-ocular distance is 1. x grows to the image
right, y downwards; index 36-41 is the eye on the image left.
"""

from __future__ import annotations

import numpy as np

# fmt: off
MEAN_SHAPE = np.array([
    [-1.085, 0.108], [-1.058, 0.390], [-1.013, 0.658], [-0.956, 0.922], [-0.855, 1.174],
    [-0.710, 1.400], [-0.496, 1.569], [-0.270, 1.699], [0.000, 1.732], [0.270, 1.699],
    [0.496, 1.569], [0.710, 1.400], [0.855, 1.174], [0.956, 0.922], [1.013, 0.658],
    [1.058, 0.390], [1.085, 0.108],                                        # 0-16 jaw
    [-0.915, -0.142], [-0.800, -0.300], [-0.616, -0.348], [-0.419, -0.331], [-0.238, -0.256],
    [0.238, -0.256], [0.419, -0.331], [0.616, -0.348], [0.800, -0.300], [0.915, -0.142],  # 17-26 brows
    [0.000, -0.027], [0.000, 0.181], [0.000, 0.378], [0.000, 0.574],      # 27-30 nose bridge
    [-0.244, 0.672], [-0.125, 0.707], [0.000, 0.740], [0.125, 0.707], [0.244, 0.672],  # 31-35 nostrils
    [-0.680, 0.010], [-0.573, -0.070], [-0.431, -0.070], [-0.306, 0.036], [-0.440, 0.048],
    [-0.570, 0.048],                                                       # 36-41 eye (image left)
    [0.306, 0.036], [0.431, -0.070], [0.573, -0.070], [0.680, 0.010], [0.570, 0.048],
    [0.440, 0.048],                                                        # 42-47 eye (image right)
    [-0.468, 0.968], [-0.299, 0.928], [-0.130, 0.919], [0.000, 0.949], [0.130, 0.919],
    [0.299, 0.928], [0.468, 0.968], [0.308, 1.126], [0.136, 1.200], [0.000, 1.215],
    [-0.136, 1.200], [-0.308, 1.126],                                      # 48-59 outer lips
    [-0.415, 0.976], [-0.127, 0.996], [0.000, 1.014], [0.127, 0.996], [0.415, 0.976],
    [0.134, 1.081], [0.000, 1.096], [-0.134, 1.081],                      # 60-67 inner lips
], dtype=np.float64)
# fmt: on

LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)

# Index of each point's mirror image (left <-> right); used to check the template's symmetry.
MIRROR = np.array(
    list(range(16, -1, -1))
    + list(range(26, 16, -1))
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65]
)


def face_box(forehead: float) -> tuple[float, float, float, float]:
    """Canonical face box ``(x0, y0, x1, y1)`` in template units (inter-ocular distance 1).

    The landmarks' bounding box, extended ``forehead`` units above the eyebrows.
    """
    lo = MEAN_SHAPE.min(axis=0)
    hi = MEAN_SHAPE.max(axis=0)
    return float(lo[0]), float(lo[1] - forehead), float(hi[0]), float(hi[1])


def template_points(size: int, margin: float, forehead: float) -> np.ndarray:
    """Template landmarks in output-crop pixel coordinates.

    The canonical face box (see ``face_box``) is centred in a ``size`` x ``size`` crop and scaled so
    that its longer side spans ``(1 - 2 * margin) * size`` pixels; the eyes are level and the
    inter-ocular distance is the same for every clip.

    Returns:
        float64 (68, 2) array of (x, y) pixel positions.
    """
    x0, y0, x1, y1 = face_box(forehead)
    scale = (1.0 - 2.0 * margin) * size / max(x1 - x0, y1 - y0)
    centre = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    # pixel centres: a crop of `size` pixels spans [-0.5, size - 0.5]
    return (MEAN_SHAPE - centre) * scale + (size - 1) / 2.0


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the image-left and image-right eyes of (68, 2) landmarks."""
    return points[LEFT_EYE].mean(axis=0), points[RIGHT_EYE].mean(axis=0)
