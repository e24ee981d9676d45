"""Constants and helpers that define the HDF5 clip-cache format.

Layout (readable with h5py alone)::

    /                       attrs: format, format_version, dataset, params (JSON), params_hash,
                                   created, classes (JSON list), complete (written last)
    /clips/<sample_id>/     attrs: sample_id, subject, label, label_name, onset, apex, offset,
                                   onset_frame, apex_frame, offset_frame, fps, source
    /clips/<sample_id>/frames   uint8 (T, H, W), chunks (1, H, W), compressed
    /clips/<sample_id>/raw      optional, un-magnified uint8 (T, H, W)

Sample ids may contain ``/`` (``casme2/sub01/EP02_01f``): HDF5 then nests the groups, so
``f[f"clips/{sample_id}/frames"]`` works as written; to list clips, visit ``/clips`` for groups
holding a ``frames`` dataset (or read each group's ``sample_id`` attribute).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

FORMAT = "akmnet-clips"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)

FILE_ATTRS = ("format", "format_version", "dataset", "params", "params_hash", "created", "classes")
CLIP_ATTRS = ("subject", "label", "label_name", "onset", "apex", "offset", "fps", "source")
RESERVED_NAMES = ("frames", "raw")


def params_json(params: dict[str, Any]) -> str:
    """Canonical JSON of a parameter dict: sorted keys, no whitespace, stable across runs."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)


def params_hash(params: dict[str, Any], length: int = 10) -> str:
    """Short SHA-256 hex digest of :func:`params_json` (what cache file names carry)."""
    return hashlib.sha256(params_json(params).encode("utf-8")).hexdigest()[:length]


def check_sample_id(sample_id: str) -> str:
    """Return ``sample_id`` if it can name an HDF5 group path, else raise ``ValueError``.

    Parts separated by ``/`` must be non-empty, not ``.``/``..`` and not a reserved dataset
    name (``frames``, ``raw``).
    """
    if not isinstance(sample_id, str) or not sample_id:
        raise ValueError(f"sample_id must be a non-empty string, got {sample_id!r}")
    for part in sample_id.split("/"):
        if part in ("", ".", "..") or part in RESERVED_NAMES:
            raise ValueError(f"sample_id {sample_id!r}: invalid path component {part!r}")
    return sample_id
