"""LBP-TOP against hand-computed codes and histograms."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.features import LBPTOPParams, lbp_codes, lbptop_features, uniform_bins

# Uniform 8-bit codes (at most two circular 0/1 transitions: 0, 255 and the 56 circular runs of ones)
# in increasing order have bins 0..57, every other code bin 58. By hand: below 128 the uniform codes are
# 0 and the 28 runs inside bits 0-6 (bins 0-28), then 128 (29), 129 (30), 131 = 0b10000011 (31); 199 =
# 0b11000111 -> 39, 241 = 0b11110001 -> 48, 255 -> 57 (the last), 5 = 0b101 (four transitions) -> 58.
BIN = {0: 0, 1: 1, 131: 31, 199: 39, 241: 48, 255: 57, 5: 58}


def test_uniform_bins_by_hand():
    bins = uniform_bins(8)
    assert bins.shape == (256,) and bins.max() == 58 and LBPTOPParams().n_bins == 59
    assert {code: int(bins[code]) for code in BIN} == BIN
    assert np.bincount(bins).tolist() == [1] * 58 + [256 - 58]


def one_block(features: np.ndarray, block: int = 0) -> np.ndarray:
    return features.reshape(25, 3, 59)[block]


def test_constant_volume_is_all_ones_code_in_every_plane_and_block():
    features = lbptop_features(np.full((10, 25, 30), 77, np.uint8))
    assert features.dtype == np.float32 and features.shape == (25 * 3 * 59,)
    expected = np.zeros((3, 59), np.float32)
    expected[:, 57] = 1.0  # every neighbour equals the centre: bits all 1, code 255
    for block in range(25):
        np.testing.assert_array_equal(one_block(features, block), expected)


def test_ramps_give_the_hand_computed_codes():
    t, _, x = np.mgrid[0:10, 0:20, 0:20].astype(np.float64)
    # intensity = x: neighbour p is brighter or equal where cos(2 pi p / 8) >= 0, p = 0, 1, 2, 6, 7 in
    # XY and XT (code 199); YT sees no change (255)
    expected = np.zeros((3, 59), np.float32)
    expected[0, BIN[199]] = expected[1, BIN[199]] = expected[2, BIN[255]] = 1
    features = lbptop_features(x)
    for block in range(25):
        np.testing.assert_array_equal(one_block(features, block), expected)
    # intensity = t: the t-offset of neighbour p is -4 sin(2 pi p / 8) >= 0 at p = 0, 4, 5, 6, 7 (241)
    expected = np.zeros((3, 59), np.float32)
    expected[0, BIN[255]] = expected[1, BIN[241]] = expected[2, BIN[241]] = 1
    np.testing.assert_array_equal(one_block(lbptop_features(t), 7), expected)


@pytest.mark.parametrize(("right", "code"), [(20, 1), (40, 1), (50, 131)])
def test_a_single_centre_with_interpolated_diagonals(right, code):
    """Frame [[0, 0, 0], [0, 10, right], [0, 0, 0]]: the up-right neighbour (p = 1) is at
    (-0.7071, 0.7071), bilinearly 0.2929**2 * 10 + 0.2929 * 0.7071 * right: 5.0 (20), 9.1 (40), 11.2
    (50) against the centre's 10; down-right (p = 7) the same."""
    frame = np.array([[0, 0, 0], [0, 10, right], [0, 0, 0]], np.float64)
    volume = np.repeat(frame[None], 9, axis=0)  # R_T = 4: one centre, t = 4
    codes = lbp_codes(volume, "xy")
    assert codes.shape == (1, 1, 1) and int(codes[0, 0, 0]) == code


def test_block_grid_and_errors():
    params = LBPTOPParams(blocks=(2, 3))
    rng = np.random.default_rng(0)
    features = lbptop_features(rng.integers(0, 255, (9, 14, 17)).astype(np.uint8), params)
    assert features.shape == (6 * 3 * 59,)
    np.testing.assert_allclose(features.reshape(6, 3, 59).sum(axis=2), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"volume of shape \(8, 14, 17\) is too small"):
        lbptop_features(np.zeros((8, 14, 17)))  # R_T = 4 needs at least 9 frames
    with pytest.raises(ValueError, match="neighbours must be an integer"):
        LBPTOPParams(neighbours=3)
