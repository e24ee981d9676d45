"""Phase-based Eulerian video magnification (complex steerable pyramid on the FFT, CPU/CUDA)."""

from pipeline.magnify.core import MagnifyParams, magnify
from pipeline.magnify.pyramid import KINDS, PyramidCoeffs, SteerablePyramid, filter_bank, max_levels
from pipeline.magnify.registry import MAGNIFIERS, get_magnifier
from pipeline.magnify.temporal import ideal_bandpass, lfilter, wrap_phase

__all__ = [
    "KINDS",
    "MAGNIFIERS",
    "MagnifyParams",
    "PyramidCoeffs",
    "SteerablePyramid",
    "filter_bank",
    "get_magnifier",
    "ideal_bandpass",
    "lfilter",
    "magnify",
    "max_levels",
    "wrap_phase",
]
