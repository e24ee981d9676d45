"""``PreprocessParams``: every parameter that shapes a cache file, with a stable JSON form and hash."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.faces import FaceParams
from pipeline.identity import canonical_json, digest
from pipeline.magnify import MAGNIFIERS
from pipeline.registry import from_dict, options_from
from pipeline.validation import require

FRAME_SETS = ("full", "cropped")


@dataclass(frozen=True)
class PreprocessParams:
    """Preprocessing configuration of one cache build (the cache file name carries :meth:`hash`).

    Attributes:
        faces: face detection / alignment / crop (``pipeline.faces.FaceParams``).
        magnify: the magnifier's options (phase: ``pipeline.magnify.MagnifyParams``; ``alpha = 0``
            stores the aligned frames unmagnified); a dict of its fields or None (its defaults) is turned
            into one.
        keep_raw: also store the un-magnified aligned frames as ``/clips/<id>/raw``.
        frame_set: which frames of the release to read: ``"full"`` frames or ``"cropped"`` (the
            release's cropped ``reg_`` frames).
        magnifier: the method, by its name in ``pipeline.magnify.MAGNIFIERS`` (``"phase"``); its
            options are ``magnify``.
    """

    faces: FaceParams = field(default_factory=FaceParams)
    magnify: Any = None
    keep_raw: bool = False
    frame_set: str = "full"
    magnifier: str = "phase"

    def __post_init__(self) -> None:
        owner = "PreprocessParams"
        require(isinstance(self.faces, FaceParams), owner, "faces", "must be a FaceParams", self.faces)
        names = MAGNIFIERS.names()
        require(self.magnifier in MAGNIFIERS, owner, "magnifier", f"must be one of {names}", self.magnifier)
        spec = MAGNIFIERS[self.magnifier]
        object.__setattr__(
            self, "magnify", options_from(spec.options, self.magnify, "PreprocessParams.magnify")
        )
        spec.check(self.magnify)
        require(isinstance(self.keep_raw, bool), owner, "keep_raw", "must be True or False", self.keep_raw)
        require(
            self.frame_set in FRAME_SETS, owner, "frame_set", f"must be one of {FRAME_SETS}", self.frame_set
        )

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict (what the cache stores in its ``params`` attribute)."""
        return asdict(self)

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace; equal parameters give equal strings."""
        return canonical_json(self.to_dict())

    def hash(self) -> str:
        """Short SHA-256 of :meth:`to_json` (10 hex digits)."""
        return digest(self.to_dict())

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PreprocessParams:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` naming unknown or invalid parameters."""
        if not isinstance(values, dict):
            raise ValueError(f"PreprocessParams: expected a JSON object, got {type(values).__name__}")
        values = dict(values)
        faces = from_dict(FaceParams, values.pop("faces", {}), "PreprocessParams.faces")
        return from_dict(cls, {**values, "faces": faces}, "PreprocessParams")

    @classmethod
    def from_json(cls, text: str) -> PreprocessParams:
        """Inverse of :meth:`to_json`."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"PreprocessParams: invalid JSON ({err})") from err
        return cls.from_dict(values)
