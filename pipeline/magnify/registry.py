"""The magnifiers a cache build can use, by name: the one seam between the build and a method.

A magnifier is called as ``fn(frames, *, fps, reference, device, **settings)`` with ``(T, H, W)`` float
frames and returns float ``(T, H, W)`` frames in the input's scale. To add one (e.g. linear Eulerian),
register it here and give ``PreprocessParams.magnifier`` its name; the build does not change.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.magnify.core import magnify

#: name -> magnifier; ``"phase"``: phase-based (Wadhwa et al. 2013), settings ``MagnifyParams``
MAGNIFIERS: dict[str, Callable[..., object]] = {"phase": magnify}


def get_magnifier(name: str) -> Callable[..., object]:
    """The magnifier registered as ``name`` (``ValueError`` listing the known ones otherwise)."""
    if name not in MAGNIFIERS:
        raise ValueError(f"magnifier {name!r} is unknown; known: {', '.join(sorted(MAGNIFIERS))}")
    return MAGNIFIERS[name]
