"""LBP-TOP (Zhao and Pietikäinen 2007): local binary patterns on three orthogonal planes of a clip.

For every voxel far enough from the volume's faces (its centre), P neighbours are sampled on an ellipse
in each of the planes XY (radii ``radius_x``, ``radius_y``), XT (``radius_x``, ``radius_t``) and YT
(``radius_y``, ``radius_t``), with bilinear interpolation; neighbour ``p`` sits at angle ``2 pi p / P``
(`_offsets`: in XY, p = 0 is the pixel to the right, p = P/4 the one above) and sets bit ``p`` when it
is ``>=`` the centre. Codes are mapped to the non-rotation-invariant uniform bins (`uniform_bins`: every code with at
most two circular 0/1 transitions its own bin, in increasing code order, all others one last bin: 59
bins for P = 8). The centres are split into a grid of ``blocks`` (rows x columns of the image; every
frame in each), and each block's three histograms, each normalised to sum 1, are concatenated:
``blocks[0] * blocks[1] * 3 * n_bins`` values, block-major, then XY, XT, YT.

Parameters (`LBPTOPParams` defaults): uniform patterns of P = 8 neighbours on each plane, radii
R_X = R_Y = 1, R_T = 4, 5 x 5 blocks. These are the settings of the LBP-TOP baseline of the MEGC
challenges as the MEGC2018/2019 baseline descriptions give them (5 x 5 blocks, radii 1, 1, 4) with the
8-neighbour, 59-bin uniform code of the LBP-TOP reference code (Zhao's ``LBPTOP.m``: ``FxRadius = 1,
FyRadius = 1, TInterval = 4, NeighborPoints = [8 8 8]``, 59 bins), as a public MEGC2019 reproduction
on ``combined_3class_gt.csv`` sets them. We could not check them against the challenge paper's text
here: treat the neighbour count as the reference code's default, not a quoted figure. Unlike the
reference code, which computes each block on its own, a centre near a block edge samples neighbours
across the edge (the block only decides which histogram it counts in).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

#: plane name -> (its two axes of the (T, H, W) volume, the radius field of each)
PLANES = {
    "xy": ((1, 2), ("radius_y", "radius_x")),
    "xt": ((0, 2), ("radius_t", "radius_x")),
    "yt": ((0, 1), ("radius_t", "radius_y")),
}


@dataclass(frozen=True)
class LBPTOPParams:
    """LBP-TOP settings (defaults: the MEGC baseline's, see the module docstring).

    Attributes:
        neighbours: P, sampling points on each plane (4 to 16).
        radius_x, radius_y, radius_t: radii (px, px, frames) of the sampling ellipses.
        blocks: (rows, columns) of the grid the image is split into.
    """

    neighbours: int = 8
    radius_x: float = 1.0
    radius_y: float = 1.0
    radius_t: float = 4.0
    blocks: tuple[int, int] = (5, 5)

    def __post_init__(self) -> None:
        if not (isinstance(self.neighbours, int) and 4 <= self.neighbours <= 16):
            raise ValueError(
                f"LBPTOPParams.neighbours must be an integer in [4, 16], got {self.neighbours!r}"
            )
        for name in ("radius_x", "radius_y", "radius_t"):
            if not getattr(self, name) > 0:
                raise ValueError(f"LBPTOPParams.{name} must be > 0, got {getattr(self, name)!r}")
        if len(self.blocks) != 2 or min(self.blocks) < 1:
            raise ValueError(f"LBPTOPParams.blocks must be two integers >= 1, got {self.blocks!r}")

    @property
    def n_bins(self) -> int:
        """Bins of one plane's histogram: ``P (P - 1) + 3``."""
        return self.neighbours * (self.neighbours - 1) + 3


@functools.cache
def uniform_bins(neighbours: int) -> np.ndarray:
    """int64 ``(2**P,)``: the bin of every P-bit code. A code with at most two 0/1 transitions around
    the circle (uniform) gets its own bin, in increasing code order; every other code the last bin."""
    codes = np.arange(2**neighbours)
    rotated = (codes >> 1) | ((codes & 1) << (neighbours - 1))
    transitions = np.array([bin(int(c)).count("1") for c in codes ^ rotated])
    uniform = transitions <= 2
    bins = np.full(codes.shape, int(uniform.sum()), dtype=np.int64)
    bins[uniform] = np.arange(int(uniform.sum()))
    return bins


def _offsets(neighbours: int, radii: tuple[float, float]) -> list[tuple[float, float]]:
    """Neighbour offsets along a plane's (first, second) axis: ``(-r1 sin a, r2 cos a)`` for
    ``a = 2 pi p / P`` (in XY: x to the right at p = 0, then counter-clockwise as seen on screen), rounded
    to 1e-9 so that axis-aligned points sample exactly."""
    angles = 2 * np.pi * np.arange(neighbours) / neighbours
    return [(round(-radii[0] * np.sin(a), 9) + 0.0, round(radii[1] * np.cos(a), 9) + 0.0) for a in angles]


def _sample(volume: np.ndarray, axes: tuple[int, int], offset: tuple[float, float], margins) -> np.ndarray:
    """``volume`` at every centre (the box ``margins[k] <= i < n - margins[k]``) shifted by ``offset``
    along ``axes``, bilinearly interpolated. float64, shape of the box."""
    out = 0.0
    floors = [int(np.floor(d)) for d in offset]
    fracs = [d - f for d, f in zip(offset, floors)]
    for corner_a, weight_a in ((0, 1 - fracs[0]), (1, fracs[0])):
        for corner_b, weight_b in ((0, 1 - fracs[1]), (1, fracs[1])):
            if weight_a * weight_b == 0:
                continue
            index = [slice(m, n - m) for m, n in zip(margins, volume.shape)]
            for axis, step in ((axes[0], floors[0] + corner_a), (axes[1], floors[1] + corner_b)):
                m, n = margins[axis], volume.shape[axis]
                index[axis] = slice(m + step, n - m + step)
            out = out + weight_a * weight_b * volume[tuple(index)]
    return out


def lbp_codes(volume: np.ndarray, plane: str, params: LBPTOPParams = LBPTOPParams()) -> np.ndarray:
    """The P-bit LBP code of every centre of ``volume`` (``(T, H, W)``) in ``plane`` (``xy``, ``xt``,
    ``yt``): int64 ``(T - 2 ceil(R_T), H - 2 ceil(R_Y), W - 2 ceil(R_X))``."""
    volume = np.asarray(volume, dtype=np.float64)
    margins = tuple(int(np.ceil(getattr(params, f"radius_{a}"))) for a in "tyx")
    if volume.ndim != 3 or any(n <= 2 * m for n, m in zip(volume.shape, margins)):
        raise ValueError(
            f"LBP-TOP: volume of shape {volume.shape} is too small: (T, H, W) must exceed twice the "
            f"radii {margins} (radius_t, radius_y, radius_x) in every axis"
        )
    axes, radius_names = PLANES[plane]
    centre = volume[tuple(slice(m, n - m) for m, n in zip(margins, volume.shape))]
    codes = np.zeros(centre.shape, dtype=np.int64)
    radii = tuple(getattr(params, name) for name in radius_names)
    for p, offset in enumerate(_offsets(params.neighbours, radii)):
        codes |= (_sample(volume, axes, offset, margins) >= centre).astype(np.int64) << p
    return codes


def lbptop_features(volume: np.ndarray, params: LBPTOPParams = LBPTOPParams()) -> np.ndarray:
    """LBP-TOP of a clip ``volume`` (``(T, H, W)``, uint8 or float): float32
    ``(blocks[0] * blocks[1] * 3 * n_bins,)``, for each block (row-major) its XY, XT and YT histograms
    of uniform-pattern bins, each summing to 1 (see the module docstring)."""
    bins = uniform_bins(params.neighbours)
    rows, cols = params.blocks
    out = []
    per_plane = {plane: bins[lbp_codes(volume, plane, params)] for plane in PLANES}
    height, width = per_plane["xy"].shape[1:]
    if rows > height or cols > width:
        raise ValueError(f"LBP-TOP: {rows} x {cols} blocks for {height} x {width} centres per frame")
    row_parts = np.array_split(np.arange(height), rows)
    col_parts = np.array_split(np.arange(width), cols)
    for r in row_parts:
        for c in col_parts:
            for plane in PLANES:
                block = per_plane[plane][:, r[0] : r[-1] + 1, c[0] : c[-1] + 1]
                hist = np.bincount(block.ravel(), minlength=params.n_bins).astype(np.float64)
                out.append(hist / hist.sum())
    return np.concatenate(out).astype(np.float32)
