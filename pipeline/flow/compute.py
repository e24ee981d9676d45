"""The flow of one onset/apex pair: OpenCV's Farneback dense flow, and optical strain.

Farneback (``cv2.calcOpticalFlowFarneback``) is in the main OpenCV module, so it runs on the
``opencv-python-headless`` CPU wheel this toolkit installs; TV-L1, which STSTNet used, needs the
contrib build. On a textured image translated by a sub-pixel amount it recovers the shift to within
0.01 px (tests/pipeline/test_flow.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FlowParams:
    """Farneback parameters (OpenCV's names; the values of OpenCV's own dense-flow sample).

    Attributes:
        pyr_scale: scale between pyramid levels.
        levels: pyramid levels.
        winsize: averaging window (px).
        iterations: iterations per level.
        poly_n: pixel neighbourhood of the polynomial expansion.
        poly_sigma: Gaussian sigma of that expansion.
    """

    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2

    def to_dict(self) -> dict:
        return {"algorithm": "farneback", **asdict(self)}


def optical_flow(first: np.ndarray, second: np.ndarray, params: FlowParams = FlowParams()) -> np.ndarray:
    """Dense flow from ``first`` to ``second`` (uint8 ``(H, W)``): float32 ``(2, H, W)``, ``u``
    (horizontal, px, positive right) and ``v`` (vertical, px, positive down), such that
    ``second[y + v, x + u] ~ first[y, x]``."""
    flow = cv2.calcOpticalFlowFarneback(
        np.ascontiguousarray(first, dtype=np.uint8),
        np.ascontiguousarray(second, dtype=np.uint8),
        None,
        params.pyr_scale,
        params.levels,
        params.winsize,
        params.iterations,
        params.poly_n,
        params.poly_sigma,
        0,
    )
    return np.ascontiguousarray(flow.transpose(2, 0, 1), dtype=np.float32)


def optical_strain(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Magnitude of the optical strain tensor ``e = (J + J^T) / 2`` of the flow ``(u, v)``
    (``(H, W)`` each, J its Jacobian by central differences):
    ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2) = sqrt(u_x^2 + v_y^2 + (u_y + v_x)^2 / 2)``.

    For an affine field ``u = a x + b y``, ``v = c x + d y`` it is ``sqrt(a^2 + d^2 + (b + c)^2 / 2)``
    everywhere."""
    u_y, u_x = np.gradient(np.asarray(u, dtype=np.float64))
    v_y, v_x = np.gradient(np.asarray(v, dtype=np.float64))
    return np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2).astype(np.float32)


def flow_apex(onset: int, apex: int, offset: int) -> int:
    """The frame the flow is computed to: the annotated ``apex``; where it is unknown (-1: a CASME II
    ``/``, every SMIC clip) the middle frame ``(onset + offset) // 2``, the usual convention."""
    return apex if apex >= 0 else (onset + offset) // 2


def onset_apex_flow(
    onset_frame: np.ndarray, apex_frame: np.ndarray, params: FlowParams = FlowParams()
) -> np.ndarray:
    """float32 ``(3, H, W)``: ``u``, ``v`` (px) of onset -> apex and their optical strain."""
    u, v = optical_flow(onset_frame, apex_frame, params)
    return np.stack([u, v, optical_strain(u, v)])
