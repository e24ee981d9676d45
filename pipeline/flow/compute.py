"""The flow of one onset/apex pair: TV-L1 (default) or Farneback dense flow, and optical strain.

TV-L1 (``cv2.optflow.DualTVL1OpticalFlow_create``, from the ``opencv-contrib-python-headless`` wheel this
toolkit installs) is the flow the field's flow baselines (STSTNet, OFF-ApexNet) are defined on; its
parameters are pinned in `TVL1Params` (OpenCV's defaults, which those baselines' code uses). Farneback
(``cv2.calcOpticalFlowFarneback``, `FarnebackParams`) is kept as an option (``--flow-method
farneback``). Each recovers a sub-pixel translation of a textured image to within 0.1 px at the 90th
percentile of interior pixels (tests/pipeline/test_flow.py). Computed with one OpenCV thread
(`pipeline.flow.file` sets it) both are deterministic: same input, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class TVL1Params:
    """Dual TV-L1 parameters (Zach, Pock and Bischof 2007; OpenCV's names and its defaults, pinned
    here so that an OpenCV release that changes them does not change the flow silently).

    Attributes:
        tau: time step of the numerical scheme (0.25).
        lambda_: weight of the data term (0.15; OpenCV's ``lambda``).
        theta: tightness of the coupling between the two sub-problems (0.3).
        nscales: pyramid scales (5).
        warps: warpings per scale (5).
        epsilon: stopping criterion (0.01).
        inner_iterations, outer_iterations: iterations of the inner and outer loops (30, 10).
        scale_step: scale between pyramid levels (0.8).
        gamma: weight of the illumination term (0: none).
        median_filtering: median filter size applied to the flow between warps (5).
    """

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    nscales: int = 5
    warps: int = 5
    epsilon: float = 0.01
    inner_iterations: int = 30
    outer_iterations: int = 10
    scale_step: float = 0.8
    gamma: float = 0.0
    median_filtering: int = 5

    method = "tvl1"


@dataclass(frozen=True)
class FarnebackParams:
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

    method = "farneback"


FlowParams = TVL1Params | FarnebackParams
#: ``--flow-method`` -> its parameters' class (the first is the default)
FLOW_METHODS = {"tvl1": TVL1Params, "farneback": FarnebackParams}


def flow_params(method: str = "tvl1") -> FlowParams:
    """The pinned parameters of flow method ``method`` (`FLOW_METHODS`)."""
    if method not in FLOW_METHODS:
        raise ValueError(f"flow method must be one of {tuple(FLOW_METHODS)}, got {method!r}")
    return FLOW_METHODS[method]()


def _tvl1(params: TVL1Params):
    return cv2.optflow.DualTVL1OpticalFlow_create(
        tau=params.tau, lambda_=params.lambda_, theta=params.theta, nscales=params.nscales,
        warps=params.warps, epsilon=params.epsilon, innnerIterations=params.inner_iterations,
        outerIterations=params.outer_iterations, scaleStep=params.scale_step, gamma=params.gamma,
        medianFiltering=params.median_filtering, useInitialFlow=False,
    )  # fmt: skip


def optical_flow(first: np.ndarray, second: np.ndarray, params: FlowParams | None = None) -> np.ndarray:
    """Dense flow from ``first`` to ``second`` (uint8 ``(H, W)``): float32 ``(2, H, W)``, ``u``
    (horizontal, px, positive right) and ``v`` (vertical, px, positive down), such that
    ``second[y + v, x + u] ~ first[y, x]``. ``params``: `TVL1Params` (default) or `FarnebackParams`."""
    params = params if params is not None else TVL1Params()
    first = np.ascontiguousarray(first, dtype=np.uint8)
    second = np.ascontiguousarray(second, dtype=np.uint8)
    if isinstance(params, TVL1Params):
        flow = _tvl1(params).calc(first, second, None)
    elif isinstance(params, FarnebackParams):
        flow = cv2.calcOpticalFlowFarneback(
            first, second, None, params.pyr_scale, params.levels, params.winsize, params.iterations,
            params.poly_n, params.poly_sigma, 0,
        )  # fmt: skip
    else:
        raise TypeError(f"flow parameters must be TVL1Params or FarnebackParams, got {type(params).__name__}")
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


#: why a clip's flow does not go to its annotated apex (`apex_rule`): the apex is unknown (-1: a CASME II
#: ``/``, every SMIC clip), or it is the onset frame itself (onset -> onset would be no motion at all)
APEX_UNKNOWN, APEX_AT_ONSET = "apex unknown", "apex = onset"


def apex_rule(onset: int, apex: int, offset: int) -> tuple[int, str]:
    """The frame the flow is computed to and why: the annotated ``apex`` (reason ``""``); where it is
    unknown (-1) or equal to ``onset``, the middle frame ``(onset + offset) // 2`` (reason
    `APEX_UNKNOWN` or `APEX_AT_ONSET`), the usual convention for clips without an apex (SMIC). Indices
    are 0-based positions in the clip's frames."""
    if apex < 0:
        return (onset + offset) // 2, APEX_UNKNOWN
    if apex == onset:
        return (onset + offset) // 2, APEX_AT_ONSET
    return apex, ""


def flow_apex(onset: int, apex: int, offset: int) -> int:
    """The frame the flow is computed to (`apex_rule`'s frame)."""
    return apex_rule(onset, apex, offset)[0]


def onset_apex_flow(
    onset_frame: np.ndarray, apex_frame: np.ndarray, params: FlowParams | None = None
) -> np.ndarray:
    """float32 ``(3, H, W)``: ``u``, ``v`` (px) of onset -> apex and their optical strain."""
    u, v = optical_flow(onset_frame, apex_frame, params)
    return np.stack([u, v, optical_strain(u, v)])
