"""Check that a cache still holds what its ``content_hash`` says, before any result named by it is reused.

Runs, flow files and folds are named by a cache's ``content_hash`` (``pipeline.identity``), which the
writer computes from every clip's attributes and arrays. A file edited in place afterwards (relabelled
with h5py, frames overwritten) keeps its old ``content_hash``: trusted unchecked, it would reuse runs of
other data. :func:`verify_cache` recomputes the digest exactly as ``CacheWriter`` does (it reads and
decompresses every array) and raises :class:`~.reader.CacheError` when it differs. A check is done once
per process and file state (path, inode, size, modification time): a later edit is a new state.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pipeline.identity import canonical_json, digest

from .reader import CacheError, clip_groups

_verified: dict[tuple[str, int, int, int], str] = {}


def _plain(value: Any) -> Any:
    """An attribute as the writer saw it: numpy scalars as Python numbers, bytes as text."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def clip_digest(group: h5py.Group) -> str:
    """SHA-256 of one clip's attributes and arrays, as ``CacheWriter.add_clip`` computes it."""
    attrs = {key: _plain(value) for key, value in group.attrs.items()}
    sha = hashlib.sha256(canonical_json(attrs).encode())
    for name in ("frames", "raw"):
        if name in group:
            array = group[name][()]
            sha.update(str(array.shape).encode())
            sha.update(np.ascontiguousarray(array).tobytes())
    return sha.hexdigest()


def content_hash(path: str | os.PathLike) -> str:
    """Recompute a cache file's ``content_hash`` from what it holds now."""
    with h5py.File(path, "r") as f:
        attrs = f.attrs
        clips = {}
        for sample_id, group in clip_groups(f["clips"]):
            clips[sample_id] = clip_digest(group)
        return digest(
            {
                "dataset": _plain(attrs["dataset"]),
                "classes": json.loads(_plain(attrs["classes"])),
                "grouping": _plain(attrs["grouping"]),
                "params": _plain(attrs["params"]),
                "clips": clips,
            },
            16,
        )


def verify_cache(path: str | os.PathLike, recorded: str) -> None:
    """Raise :class:`CacheError` naming ``path`` when its content no longer matches ``recorded`` (its
    ``content_hash`` attribute); a file state already verified in this process is not read again."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if _verified.get(key) == recorded:
        return
    try:
        actual = content_hash(path)
    except (OSError, KeyError, ValueError) as err:
        raise CacheError(f"{path}: cannot verify its content ({type(err).__name__}: {err})") from None
    if actual != recorded:
        raise CacheError(
            f"{path}: its content no longer matches its content_hash ({recorded} recorded, {actual} now): "
            f"the file was changed after it was written (clip attributes or frames edited in place); "
            f"results named by it are not reused. Rebuild it (BuildDatasetCache) or restore the original"
        )
    _verified[key] = recorded
