"""A toy magnifier plug-in: brighten every frame by a constant (`pipeline.magnify.registry`)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.magnify.registry import MAGNIFIERS, MagnifierSpec


@dataclass(frozen=True)
class BrightenOptions:
    """``brighten_by``: grey levels added to every pixel."""

    brighten_by: float = 10.0


MAGNIFIERS.register(
    MagnifierSpec(
        "brighten", BrightenOptions, lambda frames, *, options, **clip: frames + options.brighten_by
    )
)
