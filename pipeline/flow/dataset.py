"""PyTorch access to a flow file: ``FlowDataset`` (batched with `pipeline.store.collate_clips`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from pipeline.store import CacheInfo, clip_key, open_cache
from pipeline.store.dataset import resize_frames, select_clips

from .file import open_flow


class FlowDataset(torch.utils.data.Dataset):
    """The onset -> apex flow images of a cache's clips, for the flow baseline.

    Each item is a dict like `pipeline.store.ClipDataset`'s: ``frames`` float32 ``(3, S, S)`` (u and v
    in px of the S-sized image, i.e. scaled by ``S / W``, and the optical strain, which does not
    change with scale), ``length``, ``label``, ``onset``, ``apex`` (the frame the flow goes to),
    ``offset``, ``sample_id``, ``subject``. No augmentation (as STSTNet).

    Args:
        flow_path: the cache's flow file (`compute_flow_file`); checked against ``cache_path``.
        cache_path: the cache it was computed from (labels, subjects).
        subjects, exclude_subjects: as for `pipeline.store.ClipDataset`.
        input_size: output side S.
        info: the cache's `CacheInfo` as already opened (e.g. relabelled by a grouping); None: opened
            from ``cache_path``.
    """

    def __init__(
        self,
        flow_path: str | os.PathLike,
        cache_path: str | os.PathLike,
        subjects: Iterable[str] | None = None,
        exclude_subjects: Iterable[str] | None = None,
        input_size: int = 28,
        info: CacheInfo | None = None,
    ) -> None:
        self.path = Path(flow_path)
        self.info = info if info is not None else open_cache(cache_path)
        open_flow(self.path, self.info)
        self.clips = select_clips(self.info, subjects, exclude_subjects)
        self.classes = self.info.classes
        self.input_size = input_size
        self._items: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def labels(self) -> list[int]:
        return [c.label for c in self.clips]

    def _read(self, index: int) -> dict[str, Any]:
        clip = self.clips[index]
        with h5py.File(self.path, "r") as f:
            data = f["clips"][clip_key(clip.sample_id)]
            flow, apex = (
                torch.from_numpy(np.asarray(data[()], dtype=np.float32)),
                int(data.attrs["flow_apex"]),
            )
        scale = self.input_size / flow.shape[-1]
        image = resize_frames(flow.unsqueeze(1), self.input_size)[:, 0]
        image[:2] *= scale
        return {
            "frames": image,
            "length": clip.length,
            "label": clip.label,
            "onset": clip.onset,
            "apex": apex,
            "offset": clip.offset,
            "sample_id": clip.sample_id,
            "subject": clip.subject,
        }

    def __getitem__(self, index: int) -> dict[str, Any]:
        if index not in self._items:
            self._items[index] = self._read(index)
        item = self._items[index]
        return {**item, "frames": item["frames"].clone()}
