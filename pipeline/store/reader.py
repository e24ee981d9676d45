"""Open and validate an HDF5 clip cache."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .format import CLIP_ATTRS, FILE_ATTRS, FORMAT, SUPPORTED_VERSIONS, clip_key


class CacheError(ValueError):
    """A cache file is missing, incomplete, foreign or malformed (message names file and clip)."""


@dataclass(frozen=True)
class ClipInfo:
    """Metadata of one stored clip (indices are 0-based into the stored frames)."""

    sample_id: str
    subject: str
    part: str
    label: int
    label_name: str
    length: int
    onset: int
    apex: int
    offset: int
    fps: float
    source: str = ""
    has_raw: bool = False


@dataclass(frozen=True)
class CacheInfo:
    """Validated description of a cache file (no frame data)."""

    path: Path
    dataset: str
    format_version: int
    classes: list[str]
    params: dict[str, Any]
    params_hash: str
    data_fingerprint: str
    content_hash: str
    created: str
    clips: list[ClipInfo] = field(repr=False)
    grouping: str = "emotions"  # what ``classes`` are (`pipeline.datasets.regroup`)
    left_out: dict[str, int] = field(default_factory=dict)  # emotions a grouping dropped: clips

    @property
    def subjects(self) -> list[str]:
        """Sorted distinct subjects."""
        return sorted({c.subject for c in self.clips})

    @property
    def has_raw(self) -> bool:
        """True when every clip also stores un-magnified ``raw`` frames."""
        return bool(self.clips) and all(c.has_raw for c in self.clips)


def _str(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def clip_groups(clips: h5py.Group) -> list[tuple[str, h5py.Group]]:
    """``(sample_id, group)`` for every clip group directly under ``/clips``, sorted by sample id."""
    found = []
    for key, group in clips.items():
        if not isinstance(group, h5py.Group) or "sample_id" not in group.attrs:
            raise CacheError(f"/clips/{key}: not a clip group (no 'sample_id' attribute)")
        sample_id = _str(group.attrs["sample_id"])
        if key != clip_key(sample_id):
            raise CacheError(f"/clips/{key}: group name is not the clip key of its sample_id {sample_id!r}")
        found.append((sample_id, group))
    return sorted(found, key=lambda item: item[0])


def _check_array(path: Path, sample_id: str, group: h5py.Group, name: str) -> tuple[int, ...]:
    obj = group.get(name)
    if not isinstance(obj, h5py.Dataset):
        raise CacheError(f"{path}: clip {sample_id!r}: '{name}' is not a dataset")
    if obj.dtype != np.uint8:
        raise CacheError(f"{path}: clip {sample_id!r}: '{name}' has dtype {obj.dtype}, expected uint8")
    if obj.ndim != 3 or min(obj.shape) == 0:
        raise CacheError(f"{path}: clip {sample_id!r}: '{name}' has shape {obj.shape}, expected (T, H, W)")
    return obj.shape


def _clip_info(path: Path, sample_id: str, group: h5py.Group, classes: list[str]) -> ClipInfo:
    missing = [k for k in CLIP_ATTRS if k not in group.attrs]
    if missing:
        raise CacheError(f"{path}: clip {sample_id!r}: missing attributes {missing}")
    a = group.attrs
    shape = _check_array(path, sample_id, group, "frames")
    has_raw = "raw" in group
    if has_raw and _check_array(path, sample_id, group, "raw") != shape:
        raise CacheError(f"{path}: clip {sample_id!r}: 'raw' shape differs from 'frames' {shape}")
    try:
        label = int(a["label"])
        onset, apex, offset = int(a["onset"]), int(a["apex"]), int(a["offset"])
        fps = float(a["fps"])
    except (TypeError, ValueError) as err:
        msg = f"{path}: clip {sample_id!r}: non-numeric label/onset/apex/offset/fps ({err})"
        raise CacheError(msg) from err
    if not 0 <= label < len(classes):
        raise CacheError(f"{path}: clip {sample_id!r}: label {label} outside classes {classes}")
    label_name = _str(a["label_name"])
    if label_name != classes[label]:
        raise CacheError(
            f"{path}: clip {sample_id!r}: label_name {label_name!r} != classes[{label}] {classes[label]!r}"
        )
    t = shape[0]
    for key, value in (("onset", onset), ("offset", offset)):
        if not 0 <= value < t:
            raise CacheError(f"{path}: clip {sample_id!r}: {key}={value} outside the {t} stored frames")
    if not (apex == -1 or 0 <= apex < t):
        raise CacheError(f"{path}: clip {sample_id!r}: apex={apex} outside the {t} stored frames")
    return ClipInfo(
        sample_id=sample_id,
        subject=_str(a["subject"]),
        part=_str(a["part"]),
        label=label,
        label_name=label_name,
        length=t,
        onset=onset,
        apex=apex,
        offset=offset,
        fps=fps,
        source=_str(a["source"]),
        has_raw=has_raw,
    )


def read_info(f: h5py.File, path: Path) -> CacheInfo:
    """Validate an open file and describe it; raises :class:`CacheError`."""
    attrs = f.attrs
    fmt = _str(attrs["format"]) if "format" in attrs else None
    if fmt != FORMAT:
        raise CacheError(f"{path}: not an {FORMAT!r} cache (format attribute is {fmt!r})")
    version = attrs.get("format_version")
    if not isinstance(version, (int, np.integer)) or int(version) not in SUPPORTED_VERSIONS:
        raise CacheError(
            f"{path}: unsupported format_version {version} (this code reads {list(SUPPORTED_VERSIONS)}); "
            f"rebuild the cache with this version (luigi --module tasks BuildDatasetCache ...) or delete it"
        )
    if not bool(attrs.get("complete", False)):
        raise CacheError(f"{path}: incomplete cache (no 'complete' attribute): the build did not finish")
    missing = [k for k in FILE_ATTRS if k not in attrs]
    if missing:
        raise CacheError(f"{path}: missing file attributes {missing}")
    try:
        classes = json.loads(_str(attrs["classes"]))
        params = json.loads(_str(attrs["params"]))
    except json.JSONDecodeError as err:
        raise CacheError(f"{path}: attribute 'classes' or 'params' is not valid JSON ({err})") from err
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or not classes:
        raise CacheError(f"{path}: attribute 'classes' must be a JSON list of names, got {classes!r}")
    if not isinstance(params, dict):
        raise CacheError(f"{path}: attribute 'params' must be a JSON object")
    group = f.get("clips")
    if not isinstance(group, h5py.Group):
        raise CacheError(f"{path}: no '/clips' group")
    try:
        groups = clip_groups(group)
    except CacheError as err:
        raise CacheError(f"{path}: {err}") from None
    clips = [_clip_info(path, sid, g, classes) for sid, g in groups]
    return CacheInfo(
        path=path,
        dataset=_str(attrs["dataset"]),
        format_version=int(version),
        classes=classes,
        params=params,
        params_hash=_str(attrs["params_hash"]),
        data_fingerprint=_str(attrs["data_fingerprint"]),
        content_hash=_str(attrs["content_hash"]),
        created=_str(attrs["created"]),
        clips=clips,
        grouping=_str(attrs["grouping"]),
    )


def open_cache(path: str | os.PathLike) -> CacheInfo:
    """Open ``path``, validate format and every clip's metadata, return a :class:`CacheInfo`.

    Raises :class:`CacheError` (a ``ValueError``) naming the file, and the clip where one is at
    fault, for: missing file, non-HDF5 or truncated file, wrong ``format``, unsupported
    ``format_version``, missing ``complete``, missing attributes, frame arrays of wrong
    dtype/rank, labels outside ``classes``, indices outside the clip.
    """
    path = Path(path)
    if not path.is_file():
        raise CacheError(f"{path}: no such cache file")
    try:
        with h5py.File(path, "r") as f:
            return read_info(f, path)
    except CacheError:
        raise
    except (OSError, KeyError, RuntimeError) as err:
        raise CacheError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {err}") from err
