"""What names a result: the one place that defines the identity of caches, runs, folds and checkpoints.

A name covers everything that determines the content behind it, and nothing else:

- cache ``<dataset>-<digest(params, data fingerprint, device type)>``: every preprocessing parameter
  (``PreprocessParams``), the magnifier's device type and the :func:`data_fingerprint` of the inputs (the spec file, the sheet's
  bytes, every manifest row, each frame file's content: a BLAKE2b digest of its bytes). Another root,
  a mended frame (also one restored with its old size and modification time) or an edited sheet is
  another cache; a copy of the dataset elsewhere with the same content is the same data.
- run ``<dataset>-<digest(cache content hash, training identity, grouping)>``: the cache's ``content_hash``
  (a digest of everything its writer stored, so two caches of one file name are two runs), the class
  grouping's mapping and :func:`train_identity`, the training configuration without the settings that change speed only
  (:data:`SPEED_ONLY`). A fold resumed with other ``--threads`` lands in the same run and reuses its
  checkpoint.
- flow file ``<dataset>-<digest(cache content hash, flow parameters, frames used)>``
  (:func:`flow_name`): the onset -> apex flow of every clip of one cache.
- fold ``fold-<subject percent-encoded>`` (:func:`fold_name`): injective, ``s 1`` and ``s_1`` differ.
- checkpoint and fold reuse: a checkpoint or ``fold.json`` is reused when its recorded
  :func:`train_identity` equals the current one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

#: training settings that change speed, not results (left out of run and checkpoint identity)
SPEED_ONLY = ("num_workers", "threads", "keep_in_memory")

FOLD_PREFIX = "fold-"


def canonical_json(values: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal strings."""
    return json.dumps(values, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)


def digest(values: Any, length: int = 10) -> str:
    """Short SHA-256 hex digest of :func:`canonical_json` (what names carry)."""
    return hashlib.sha256(canonical_json(values).encode("utf-8")).hexdigest()[:length]


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def frame_digest(path: str | os.PathLike) -> str:
    """BLAKE2b (128-bit) of a frame file's bytes: fast, and it changes with any byte of the file."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def data_fingerprint(manifest: Any, spec_files: list[str | os.PathLike]) -> str:
    """Digest of a manifest's inputs: spec files and sheet (bytes), rows, frame files (content).

    Args:
        manifest: a ``pipeline.datasets.Manifest``.
        spec_files: the dataset spec ``.toml`` files it was read with (composite: every part's).

    Returns:
        16 hex digits. Raises ``OSError`` naming a frame file that cannot be read.
    """
    root = Path(manifest.root)
    sources = {
        key: file_sha256(value) for key, value in sorted(manifest.sources.items()) if Path(value).is_file()
    }
    rows = []
    for record in manifest.rows:
        content = [frame_digest(root / rel) for rel in record.frames]
        rows.append({"record": asdict(record), "frames": content})
    return digest(
        {
            "dataset": manifest.dataset,
            "grouping": manifest.grouping,
            "classes": list(manifest.classes),
            "specs": sorted(file_sha256(p) for p in spec_files),
            "sources": sources,
            "rows": rows,
        },
        16,
    )


def cache_name(dataset: str, params: Mapping[str, Any], fingerprint: str, device: str = "cpu") -> str:
    """``<dataset>-<digest>`` of a cache built from data ``fingerprint`` with preprocessing ``params``,
    magnified on ``device`` (its type only: CUDA and CPU floats round differently; ``cuda:0`` and
    ``cuda:1`` do not)."""
    kind = device.split(":", 1)[0]
    return f"{dataset}-{digest({'params': dict(params), 'data': fingerprint, 'magnify_device': kind})}"


#: where a file lies, not what it holds: its content hash is in the configuration beside it
LOCATION_ONLY = ("init_checkpoint",)


def train_identity(config: Mapping[str, Any]) -> dict[str, Any]:
    """The result-affecting part of a training configuration dict (``TrainConfig.to_dict()``): all
    but :data:`SPEED_ONLY` and :data:`LOCATION_ONLY` (an initial checkpoint counts by its
    ``init_checkpoint_sha256``)."""
    return {k: v for k, v in config.items() if k not in SPEED_ONLY + LOCATION_ONLY}


def run_name(dataset: str, content_hash: str, config: Mapping[str, Any], grouping: Mapping[str, Any]) -> str:
    """``<dataset>-<digest>`` of training ``config`` on the cache whose ``content_hash`` is given, its
    emotions mapped by ``grouping`` (`pipeline.datasets.regroup.TrainGrouping.identity`: the mapping
    itself, so an edited grouping is another run)."""
    return f"{dataset}-{digest({'cache': content_hash, 'train': train_identity(config), 'grouping': dict(grouping)})}"


def flow_name(dataset: str, content_hash: str, params: Mapping[str, Any], source: str) -> str:
    """``<dataset>-<digest>`` of the flow file of the cache whose ``content_hash`` is given, computed
    with flow ``params`` on its ``source`` frames (``magnified`` or ``raw``)."""
    return f"{dataset}-{digest({'cache': content_hash, 'flow': dict(params), 'source': source})}"


def fold_name(subject: str) -> str:
    """Folder name of a subject's fold: ``fold-`` + the subject percent-encoded (``s 1`` -> ``fold-s%201``)."""
    return FOLD_PREFIX + quote(subject, safe="")
