"""The magnifier seam (`pipeline.registry.Registry`): the one place a cache build meets a method.

A magnifier entry owns its options dataclass (the phase method's `MagnifyParams`), so a new method's
options never rename a cache built with another; ``run(frames, *, fps, reference, device, stats,
options)`` takes ``(T, H, W)`` float frames and returns float ``(T, H, W)`` frames in the input's scale;
``active(options)`` False stores the aligned frames as they are (phase: ``alpha = 0``); ``check(options)``
validates them for a cache build; ``for_dataset(options, dataset)`` checks them against the dataset's
frame rates, or adapts them (phase: the spec's band when the configured one exceeds the Nyquist
frequency). Another is one file ending in ``MAGNIFIERS.register(MagnifierSpec(...))`` and
``--magnifier NAME``; the build does not change.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.magnify.core import MagnifyParams, magnify
from pipeline.registry import Registry
from pipeline.validation import require

log = logging.getLogger("luigi-interface")


@dataclass(frozen=True)
class MagnifierSpec:
    """One magnifier (see the module docstring for each callable)."""

    name: str
    options: type | None
    run: Callable[..., Any]
    active: Callable[[Any], bool] = lambda options: True
    check: Callable[[Any], None] = lambda options: None
    for_dataset: Callable[[Any, str], Any] = lambda options, dataset: options
    description: str = ""


MAGNIFIERS: Registry[MagnifierSpec] = Registry("magnifier")


def get_magnifier(name: str) -> MagnifierSpec:
    """The magnifier registered as ``name`` (``ValueError`` listing the known ones otherwise)."""
    return MAGNIFIERS.get(name)


def _phase_run(frames, *, fps, reference, device, stats, options: MagnifyParams):
    return magnify(
        frames, fps=fps, reference=reference, device=device, stats=stats, **dataclasses.asdict(options)
    )


def _phase_check(options: MagnifyParams) -> None:
    rule = "must be >= 0 for a cache build (0 = no magnification)"
    require(options.alpha >= 0, "MagnifyParams", "alpha", rule, options.alpha)


def phase_for_dataset(options: MagnifyParams, dataset: str) -> MagnifyParams:
    """``options`` for ``dataset``: as they are when the temporal band lies below the Nyquist frequency of
    every frame rate of ``dataset``; else with the band the dataset's spec declares for its frame rate
    (``[magnify]``: CAS(ME)^2, CAS(ME)^3, SMIC-VIS/NIR), logged, and part of the cache's parameters;
    else a ValueError naming the option and the valid range."""
    from pipeline.datasets import frame_rates, load_spec

    if not options.bandpass or options.alpha == 0:
        return options
    for name, fps in frame_rates(dataset).items():
        try:
            options.check_fps(fps)
        except ValueError:
            band = load_spec(name).magnify_band
            if band is not None and name == dataset:
                log.warning(
                    "%s (%g fps): the band %g-%g Hz is not below its Nyquist frequency (%g Hz); using the "
                    "spec's band %g-%g Hz", dataset, fps, options.f_low, options.f_high, fps / 2, *band,
                )  # fmt: skip
                return dataclasses.replace(options, f_low=band[0], f_high=band[1])
            raise ValueError(
                f"--f-high {options.f_high}: must be below the Nyquist frequency of {name} "
                f"({fps:g} fps / 2 = {fps / 2:g} Hz) for dataset {dataset!r} (valid: 0 <= --f-low < --f-high "
                f"< {fps / 2:g})"
            ) from None
    return options


MAGNIFIERS.register(
    MagnifierSpec(
        "phase",
        MagnifyParams,
        _phase_run,
        active=lambda options: options.alpha != 0,
        check=_phase_check,
        for_dataset=phase_for_dataset,
        description="phase-based (Wadhwa et al. 2013), complex steerable pyramid",
    )
)
