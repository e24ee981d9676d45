"""PyTorch access to a clip cache: ``ClipDataset`` and ``collate_clips``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from .format import clip_key
from .reader import CacheError, CacheInfo, ClipInfo, open_cache

SOURCES = ("magnified", "raw")


def subsample_indices(length: int, max_frames: int | None) -> np.ndarray:
    """Uniformly spaced frame indices: all ``length`` frames, or ``max_frames`` of them.

    The first and last frame are always kept; indices are strictly increasing.
    """
    if max_frames is None or length <= max_frames:
        return np.arange(length)
    if max_frames < 2:
        return np.array([0])
    return np.round(np.linspace(0, length - 1, max_frames)).astype(np.int64)


def remap_index(index: int, kept: np.ndarray) -> int:
    """Position in ``kept`` of the kept frame nearest to ``index`` (-1 stays -1)."""
    if index < 0:
        return -1
    return int(np.argmin(np.abs(kept - index)))


def resize_frames(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(T, 1, H, W)`` float frames to ``(T, 1, size, size)`` (bilinear, antialiased)."""
    if frames.shape[-2:] == (size, size):
        return frames
    return F.interpolate(frames, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def train_transform(
    frames: torch.Tensor, input_size: int, generator: torch.Generator | None, flip: bool = False
) -> torch.Tensor:
    """AKMNet training augmentation on a whole clip ``(T, 1, H, W)`` -> ``(T, 1, S, S)``.

    The reference's GroupScaleRandomCrop: with probability 1/2 resize to ``round(S * 9 / 8)`` (144
    for 128) and take one random ``S x S`` crop shared by every frame of the clip, otherwise resize
    to ``S`` (the test geometry). With ``flip`` also one random horizontal flip (p = 0.5), which the
    reference does not do.
    """
    if bool(torch.rand((), generator=generator) < 0.5):
        big = round(input_size * 9 / 8)
        frames = resize_frames(frames, big)
        top, left = (int(v) for v in torch.randint(0, big - input_size + 1, (2,), generator=generator))
        frames = frames[..., top : top + input_size, left : left + input_size]
    else:
        frames = resize_frames(frames, input_size)
    if flip and bool(torch.rand((), generator=generator) < 0.5):
        frames = torch.flip(frames, dims=(-1,))
    return frames


def select_clips(
    info: CacheInfo, subjects: Iterable[str] | None = None, exclude_subjects: Iterable[str] | None = None
) -> list[ClipInfo]:
    """The clips of ``info`` of ``subjects`` (None: all) minus those of ``exclude_subjects``; a subject
    not in the cache, or a bare string for a list, is a ValueError naming the file."""
    clips = info.clips
    known = set(info.subjects)
    for name, chosen in (("subjects", subjects), ("exclude_subjects", exclude_subjects)):
        if isinstance(chosen, str):
            raise ValueError(f"{name} must be a list of subject names, not a string")
        if chosen is not None:
            unknown = sorted(set(chosen) - known)
            if unknown:
                raise ValueError(f"{name}: unknown subjects {unknown} in {info.path}")
    if subjects is not None:
        keep = set(subjects)
        clips = [c for c in clips if c.subject in keep]
    if exclude_subjects is not None:
        drop = set(exclude_subjects)
        clips = [c for c in clips if c.subject not in drop]
    return clips


class ClipDataset(torch.utils.data.Dataset):
    """Clips of one cache file as float tensors, for training and evaluation.

    Each item is a dict: ``frames`` float32 ``(T, 1, S, S)`` in [0, 1] (in [-1, 1] with
    ``subtract_onset``), ``length``, ``label``,
    ``onset``, ``apex``, ``offset`` (indices into the returned frames, apex -1 when unknown),
    ``sample_id``, ``subject``.

    Args:
        path: cache file (validated with :func:`open_cache` on construction).
        subjects: keep only these subjects (e.g. the test subject of a LOSO fold).
        exclude_subjects: drop these subjects (e.g. the training side of a fold).
        source: ``"magnified"`` (the ``frames`` array) or ``"raw"`` (needs a ``keep_raw`` build).
        train: AKMNet augmentation (:func:`train_transform`: half the clips resized to S*9/8 and
            randomly cropped to S, the others resized to S; a horizontal flip with ``flip``)
            when True; plain resize to S otherwise.
        input_size: output side S.
        max_frames: uniform temporal subsampling of longer clips.
        seed: ``None`` draws augmentation from torch's global RNG (seeded per DataLoader worker
            by torch, so ``torch.manual_seed`` makes a run reproducible). An int makes each
            item's augmentation a function of ``(seed, epoch, index)``: call :meth:`set_epoch`
            every epoch or the same crops repeat.
        keep_in_memory: keep each clip's decoded uint8 frames after the first read (in the
            reading process), so later epochs skip HDF5 decompression. Costs ``T * H * W`` bytes
            per clip (after ``max_frames``).
        subtract_onset: return every frame minus the clip's onset frame (after augmentation, so
            the same crop and flip apply to both): values in [-1, 1], the onset frame all zeros.
            Removes the subject's appearance and keeps what moved since the onset.
        flip: with ``train``, one random horizontal flip per clip (p = 0.5); the reference has none.
        info: the cache's `CacheInfo` as already opened (e.g. relabelled by a grouping,
            `pipeline.datasets.regroup`); None: opened from ``path``.

    The HDF5 file is opened lazily in the process that reads items, so the dataset is safe
    with ``num_workers > 0``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        subjects: Iterable[str] | None = None,
        exclude_subjects: Iterable[str] | None = None,
        source: str = "magnified",
        train: bool = False,
        input_size: int = 128,
        max_frames: int | None = None,
        seed: int | None = None,
        keep_in_memory: bool = False,
        subtract_onset: bool = False,
        flip: bool = False,
        info: CacheInfo | None = None,
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if input_size < 1:
            raise ValueError(f"input_size must be >= 1, got {input_size}")
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
        self.path = Path(path)
        self.info = info if info is not None else open_cache(self.path)
        if source == "raw" and not self.info.has_raw:
            raise CacheError(f"{self.path}: source='raw' requested but the cache was built without keep_raw")
        clips = select_clips(self.info, subjects, exclude_subjects)
        self.clips: list[ClipInfo] = clips
        self.classes = self.info.classes
        self.source = source
        self.train = train
        self.input_size = input_size
        self.max_frames = max_frames
        self.seed = seed
        self.epoch = 0
        self.keep_in_memory = keep_in_memory
        self.subtract_onset = subtract_onset
        self.flip = flip
        self._memory: dict[int, np.ndarray] = {}
        self._file: h5py.File | None = None
        self._pid: int | None = None

    def set_epoch(self, epoch: int) -> None:
        """Epoch number mixed into per-item seeds (only used when ``seed`` is an int)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def labels(self) -> list[int]:
        """Label of every selected clip, in item order."""
        return [c.label for c in self.clips]

    def _h5(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_file"] = None
        state["_pid"] = None
        state["_memory"] = {}
        return state

    def __getitem__(self, index: int) -> dict[str, Any]:
        clip = self.clips[index]
        kept = subsample_indices(clip.length, self.max_frames)
        array = self._memory.get(index)
        if array is None:
            group = self._h5()["clips"][clip_key(clip.sample_id)]
            dataset = group["frames" if self.source == "magnified" else "raw"]
            array = dataset[()] if len(kept) == clip.length else dataset[kept]
            if self.keep_in_memory:
                self._memory[index] = array
        frames = torch.from_numpy(np.ascontiguousarray(array)).float().div_(255.0).unsqueeze(1)
        if self.train:
            generator = None
            if self.seed is not None:
                state = np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(1)[0]
                generator = torch.Generator().manual_seed(int(state))
            frames = train_transform(frames, self.input_size, generator, self.flip)
        else:
            frames = resize_frames(frames, self.input_size)
        frames = frames.clamp_(0.0, 1.0)
        onset = remap_index(clip.onset, kept)
        if self.subtract_onset:
            frames = frames - frames[onset]
        return {
            "frames": frames.contiguous(),
            "length": len(kept),
            "label": clip.label,
            "onset": onset,
            "apex": remap_index(clip.apex, kept),
            "offset": remap_index(clip.offset, kept),
            "sample_id": clip.sample_id,
            "subject": clip.subject,
        }


def collate_clips(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch :class:`ClipDataset` items, zero-padding frames after each clip's length.

    Returns ``frames`` float32 ``(B, T_max, 1, S, S)``, ``lengths``/``labels``/``onset``/``apex``/
    ``offset`` int64 ``(B,)``, ``sample_ids`` and ``subjects`` lists.
    """
    if not items:
        raise ValueError("collate_clips: empty batch")
    t_max = max(int(it["frames"].shape[0]) for it in items)
    first = items[0]["frames"]
    frames = first.new_zeros((len(items), t_max, *first.shape[1:]))
    for i, it in enumerate(items):
        frames[i, : it["frames"].shape[0]] = it["frames"]

    def longs(key: str) -> torch.Tensor:
        return torch.tensor([int(it[key]) for it in items], dtype=torch.int64)

    return {
        "frames": frames,
        "lengths": longs("length"),
        "labels": longs("label"),
        "onset": longs("onset"),
        "apex": longs("apex"),
        "offset": longs("offset"),
        "sample_ids": [it["sample_id"] for it in items],
        "subjects": [it["subject"] for it in items],
    }
