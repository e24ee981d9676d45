"""Analytic checks of the face stage's geometry helpers and template."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.faces.geometry import (
    center_crop_matrix,
    fit_similarity,
    similarity_params,
    smooth_tracks,
    transform_points,
)
from pipeline.faces.template import MEAN_SHAPE, MIRROR, eye_centres, face_box, template_points


def test_fit_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (68, 2))
    angle, scale = np.radians(-17.0), 0.73
    truth = np.array([[scale * np.cos(angle), -scale * np.sin(angle), 12.5],
                      [scale * np.sin(angle), scale * np.cos(angle), -40.0]])  # fmt: skip
    fitted = fit_similarity(src, transform_points(truth, src))
    np.testing.assert_allclose(fitted, truth, atol=1e-9)
    params = similarity_params(fitted)
    assert params["scale"] == pytest.approx(0.73) and params["rotation_deg"] == pytest.approx(-17.0)


def test_fit_similarity_never_reflects():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 10, (20, 2))
    mirrored = src * [-1.0, 1.0]
    fitted = fit_similarity(src, mirrored)
    assert np.linalg.det(fitted[:, :2]) > 0
    with pytest.raises(ValueError, match="all equal"):
        fit_similarity(np.ones((5, 2)), src[:5])


def test_template_is_symmetric_with_level_eyes_at_unit_distance():
    np.testing.assert_allclose(MEAN_SHAPE[MIRROR] * [-1.0, 1.0], MEAN_SHAPE, atol=2e-3)
    left, right = eye_centres(MEAN_SHAPE)
    np.testing.assert_allclose(left, [-0.5, 0.0], atol=2e-3)
    np.testing.assert_allclose(right, [0.5, 0.0], atol=2e-3)


@pytest.mark.parametrize("size, margin, forehead", [(128, 0.05, 0.4), (64, 0.2, 0.0)])
def test_template_points_fill_the_crop_inside_the_margin(size, margin, forehead):
    points = template_points(size, margin, forehead)
    x0, y0, x1, y1 = face_box(forehead)
    scale = (1 - 2 * margin) * size / max(x1 - x0, y1 - y0)
    left, right = eye_centres(points)
    assert right[0] - left[0] == pytest.approx(scale, rel=1e-3) and left[1] == pytest.approx(
        right[1], abs=1e-2
    )
    low, high = margin * size - 0.5, (1 - margin) * size - 0.5
    assert points.min() >= low - 1e-6 and points.max() <= high + 1e-6
    # the longer side of the face box touches both margins
    assert points[:, 0].min() == pytest.approx(low, abs=1e-6) or points[:, 1].max() == pytest.approx(
        high, abs=1e-6
    )


def test_center_crop_matrix_maps_the_central_square():
    matrix = center_crop_matrix(480, 640, 120)
    corners = np.array([[79.5, -0.5], [559.5, 479.5], [319.5, 239.5]])
    np.testing.assert_allclose(
        transform_points(matrix, corners), [[-0.5, -0.5], [119.5, 119.5], [59.5, 59.5]]
    )


def test_smooth_tracks_keeps_constant_and_linear_tracks():
    t = np.arange(40, dtype=float)
    tracks = np.stack([np.stack([t, 3.0 + 0 * t], axis=1)] * 2, axis=1)  # (T, 2, 2)
    smoothed = smooth_tracks(tracks, 2.0)
    np.testing.assert_allclose(
        smoothed[10:-10], tracks[10:-10], atol=1e-9
    )  # linear motion kept away from edges
    noisy = tracks + np.random.default_rng(0).normal(0, 1, tracks.shape)
    assert np.abs(smooth_tracks(noisy, 2.0) - tracks)[5:-5].mean() < 0.5 * np.abs(noisy - tracks)[5:-5].mean()
