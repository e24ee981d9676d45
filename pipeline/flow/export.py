"""Export a flow file as the images and label list the field's public code reads.

Each clip's onset -> apex flow at the model's size S (`pipeline.flow.FlowDataset`: u, v in px of the
S x S image, i.e. scaled by S / W, and the optical strain) becomes one 8-bit 3-channel PNG, channels
u, v, strain in RGB order (what PIL, imageio and matplotlib return; ``cv2.imread`` returns them reversed,
BGR). Value scaling, one pair of ranges for the whole export (in ``export.json``):

- u, v: ``byte = round(clip((x / F + 1) / 2, 0, 1) * 255)``, F = ``flow_range`` (px at size S; by
  default the largest |u| or |v| of the export), so 0 px is 127.5 and +-F are 255 / 0;
  back: ``x = (byte / 255 * 2 - 1) * F``, within ``F / 255`` (half a step, ``2 F / 255``).
- strain: ``byte = round(clip(s / E, 0, 1) * 255)``, E = ``strain_range`` (by default the export's
  largest strain); back: ``s = byte / 255 * E``, within ``E / 510``.

Layout (``fmt``): ``folders``: ``<label name>/<dataset>_<subject>_<clip>.png``; ``flat``:
``<dataset>_<subject>_<clip>.png``; names as the MEGC2019 list writes them (`pipeline.datasets.megc`).
Beside them ``labels.csv`` in the list's own format (no header: dataset, subject, clip, label index of
``classes``), ``index.csv`` (header: path, dataset, subject, clip, label, label_name, sample_id) and
``export.json`` (classes, ranges, size, the flow file's parameters). The folder is written atomically.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.atomic import atomic_dir
from pipeline.datasets.megc import names_of_sample
from pipeline.store import CacheInfo

from .dataset import FlowDataset
from .file import open_flow

EXPORT_FORMATS = ("folders", "flat")


@dataclass(frozen=True)
class ExportParams:
    """What an export looks like: ``fmt`` (`EXPORT_FORMATS`), ``input_size`` S (px; 28: STSTNet's),
    ``flow_range`` F and ``strain_range`` E (None: the export's largest value; see the module)."""

    fmt: str = "folders"
    input_size: int = 28
    flow_range: float | None = None
    strain_range: float | None = None

    def __post_init__(self) -> None:
        if self.fmt not in EXPORT_FORMATS:
            raise ValueError(f"ExportParams.fmt must be one of {EXPORT_FORMATS}, got {self.fmt!r}")
        if not (isinstance(self.input_size, int) and self.input_size >= 2):
            raise ValueError(f"ExportParams.input_size must be an integer >= 2, got {self.input_size!r}")
        for name in ("flow_range", "strain_range"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(f"ExportParams.{name} must be None or a finite number > 0, got {value!r}")


def encode(flow: np.ndarray, flow_range: float, strain_range: float) -> np.ndarray:
    """float ``(3, S, S)`` (u, v, strain) -> uint8 ``(S, S, 3)`` in RGB order (module docstring)."""
    u, v, strain = np.asarray(flow, dtype=np.float64)
    scaled = [(u / flow_range + 1) / 2, (v / flow_range + 1) / 2, strain / strain_range]
    return np.round(np.clip(np.stack(scaled, axis=-1), 0, 1) * 255).astype(np.uint8)


def decode(image: np.ndarray, flow_range: float, strain_range: float) -> np.ndarray:
    """uint8 ``(S, S, 3)`` RGB -> float32 ``(3, S, S)`` u, v (px), strain: the inverse of `encode`."""
    x = np.asarray(image, dtype=np.float64).transpose(2, 0, 1) / 255
    return np.stack([(x[0] * 2 - 1) * flow_range, (x[1] * 2 - 1) * flow_range, x[2] * strain_range]).astype(
        np.float32
    )


def read_png(path: str | os.PathLike) -> np.ndarray:
    """An exported PNG as uint8 ``(S, S, 3)`` RGB (u, v, strain); raises ValueError naming the file."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not a readable PNG")
    return image[:, :, ::-1]


def _rows(dataset: FlowDataset, info: CacheInfo) -> list[dict]:
    rows = []
    for i, clip in enumerate(dataset.clips):
        part, subject, name = names_of_sample(clip.sample_id, clip.part or info.dataset)
        rows.append({"index": i, "dataset": part, "subject": subject, "clip": name, "label": clip.label,
                     "label_name": clip.label_name, "sample_id": clip.sample_id})  # fmt: skip
    return rows


def export_flow(
    flow_path: str | os.PathLike,
    cache_path: str | os.PathLike,
    info: CacheInfo,
    out_dir,
    params: ExportParams,
) -> dict:
    """Write the export of flow file ``flow_path`` (of cache ``cache_path``, its clips labelled as
    ``info``, e.g. `pipeline.datasets.regroup.grouped_cache`) into folder ``out_dir`` (atomically:
    built beside it, renamed when complete). Returns ``export.json``'s content."""
    out_dir = Path(out_dir)
    dataset = FlowDataset(flow_path, cache_path, input_size=params.input_size, info=info)
    flows = [dataset[i]["frames"].numpy() for i in range(len(dataset))]
    flow_range = params.flow_range or max([float(np.abs(f[:2]).max()) for f in flows] + [1e-6])
    strain_range = params.strain_range or max([float(f[2].max()) for f in flows] + [1e-6])
    rows = _rows(dataset, info)
    with atomic_dir(out_dir) as tmp:
        for row, flow in zip(rows, flows):
            stem = f"{row['dataset']}_{row['subject']}_{row['clip']}.png".replace("/", "_")
            row["path"] = f"{row['label_name']}/{stem}" if params.fmt == "folders" else stem
            (tmp / row["path"]).parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(tmp / row["path"]), encode(flow, flow_range, strain_range)[:, :, ::-1]):
                raise OSError(f"{tmp / row['path']}: could not write the PNG")
        meta = _write_lists(tmp, rows, info, flow_path, params, flow_range, strain_range)
    return meta


def _write_lists(folder: Path, rows, info: CacheInfo, flow_path, params, flow_range, strain_range) -> dict:
    with open(folder / "labels.csv", "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(
            [r["dataset"], r["subject"], r["clip"], r["label"]] for r in rows
        )
    columns = ["path", "dataset", "subject", "clip", "label", "label_name", "sample_id"]
    with open(folder / "index.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    meta = {
        "format": "me-flow-export-1",
        "classes": list(info.classes),
        "grouping": info.grouping,
        "channels": ["u", "v", "strain"],
        "flow_range": flow_range,
        "strain_range": strain_range,
        "scaling": "u, v: byte = round(clip((x / flow_range + 1) / 2, 0, 1) * 255); "
        "strain: byte = round(clip(s / strain_range, 0, 1) * 255); RGB order",
        "export": asdict(params),
        "flow": open_flow(flow_path).params,
        "source_content_hash": info.content_hash,
        "n_clips": len(rows),
    }
    (folder / "export.json").write_text(json.dumps(meta, indent=1))
    return meta
