"""Constants and helpers that define the HDF5 clip-cache format (version 3).

Layout (readable with h5py alone)::

    /                       attrs: format, format_version, dataset, params (JSON), params_hash,
                                   data_fingerprint, content_hash, created, classes (JSON list),
                                   grouping, complete (written last)
    /clips/<key>/           one group per clip directly under /clips; attrs: sample_id, subject,
                                   part, label, label_name, onset, apex, offset, onset_frame,
                                   apex_frame, offset_frame, fps, source
    /clips/<key>/frames     uint8 (T, H, W), chunks (1, H, W), compressed
    /clips/<key>/raw        optional, un-magnified uint8 (T, H, W)

``<key>`` is the sample id percent-encoded into one HDF5 name (:func:`clip_key`: ``sub01/EP02_01f`` ->
``sub01%2FEP02_01f``), so iterating ``/clips`` yields clips; the ``sample_id`` attribute holds the id.
``grouping`` names what ``classes`` are: a build writes ``emotions`` (one class per emotion label of the
sheet, every clip kept), and a run maps them to its grouping (`pipeline.datasets.regroup`). ``part`` is
the dataset a clip comes from (a composite's part; else the file's dataset).
Format 1 nested the groups by the ``/`` in sample ids; format 2 stored one grouping's classes and had no
``grouping`` and ``part``. Neither is read (rebuild the cache).
"""

from __future__ import annotations

from urllib.parse import quote

FORMAT = "akmnet-clips"
FORMAT_VERSION = 3
SUPPORTED_VERSIONS = (3,)

FILE_ATTRS = (
    "format", "format_version", "dataset", "params", "params_hash", "data_fingerprint", "content_hash",
    "created", "classes", "grouping",
)  # fmt: skip
CLIP_ATTRS = (
    "sample_id",
    "subject",
    "part",
    "label",
    "label_name",
    "onset",
    "apex",
    "offset",
    "fps",
    "source",
)


def clip_key(sample_id: str) -> str:
    """The group name of a clip under ``/clips``: the sample id percent-encoded (no ``/`` left)."""
    return quote(sample_id, safe="")


def check_sample_id(sample_id: str) -> str:
    """Return ``sample_id`` if it is a non-empty string, else raise ``ValueError``."""
    if not isinstance(sample_id, str) or not sample_id:
        raise ValueError(f"sample_id must be a non-empty string, got {sample_id!r}")
    return sample_id
