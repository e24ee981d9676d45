"""Stream clips into a new HDF5 cache file, atomically."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from pipeline.identity import canonical_json, digest

from .format import FORMAT, FORMAT_VERSION, check_sample_id, clip_key

COMPRESSIONS = ("gzip", "lzf", None)


def temp_path_for(path: str | os.PathLike) -> Path:
    """Temporary name used while ``path`` is being written (same folder, never ends in ``.h5``)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def _check_frames(name: str, frames: np.ndarray, sample_id: str) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"clip {sample_id!r}: {name} must be uint8, got {frames.dtype}")
    if frames.ndim != 3 or min(frames.shape) == 0:
        raise ValueError(f"clip {sample_id!r}: {name} must have shape (T, H, W), got {frames.shape}")
    return frames


def _attr_value(key: str, value: Any, sample_id: str) -> Any:
    if isinstance(value, (str, bool, int, float, np.integer, np.floating)):
        return value
    raise ValueError(f"clip {sample_id!r}: attribute {key!r} must be str/int/float/bool, got {type(value)}")


class CacheWriter:
    """Write a clip cache: use as a context manager, call :meth:`add_clip` once per clip.

    The file is written to a temporary name in the destination folder; leaving the ``with``
    block without an exception writes ``complete = True`` last, closes the file and renames it
    to ``path``. On an exception the temporary file is removed and ``path`` is left untouched.

    Args:
        path: final file path.
        dataset: dataset name stored in the file.
        params: every preprocessing parameter (JSON-serialisable dict).
        classes: class names; a clip's ``label`` indexes this list.
        grouping: what the classes are (``emotions`` for a build: one class per emotion label).
        compression: ``"gzip"`` (default, smaller), ``"lzf"`` (faster) or ``None``.
        compression_level: gzip level (1-9), ignored otherwise.
        data_fingerprint: identity of the inputs the clips were made from
            (``pipeline.identity.data_fingerprint``; empty when unknown).

    The file's ``content_hash`` attribute is a digest of the dataset, classes, parameters and every
    clip's attributes and arrays, independent of the order clips are added: runs are named by it.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        dataset: str,
        params: dict[str, Any],
        classes: list[str] | tuple[str, ...],
        compression: str | None = "gzip",
        compression_level: int = 4,
        data_fingerprint: str = "",
        grouping: str = "emotions",
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}, got {compression!r}")
        if not dataset:
            raise ValueError("dataset must be a non-empty string")
        classes = list(classes)
        if (
            not classes
            or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes)
        ):
            raise ValueError(f"classes must be distinct non-empty strings, got {classes!r}")
        self.path = Path(path)
        self.dataset = dataset
        self.params = dict(params)
        self.classes = classes
        self.grouping = str(grouping)
        self.compression = compression
        self.compression_level = compression_level
        self.data_fingerprint = str(data_fingerprint)
        self._params_json = canonical_json(self.params)  # fails early if not JSON-serialisable
        self._clip_digests: dict[str, str] = {}
        self._tmp = temp_path_for(self.path)
        self._file: h5py.File | None = None
        self.n_clips = 0

    def __enter__(self) -> CacheWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = h5py.File(self._tmp, "w", libver="latest")
        attrs = self._file.attrs
        attrs["format"] = FORMAT
        attrs["format_version"] = FORMAT_VERSION
        attrs["dataset"] = self.dataset
        attrs["params"] = self._params_json
        attrs["params_hash"] = digest(self.params)
        attrs["data_fingerprint"] = self.data_fingerprint
        attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
        attrs["classes"] = json.dumps(self.classes)
        attrs["grouping"] = self.grouping
        self._file.create_group("clips")
        return self

    def _dataset_kwargs(self, shape: tuple[int, ...]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"chunks": (1, shape[1], shape[2])}
        if self.compression == "gzip":
            kwargs.update(compression="gzip", compression_opts=self.compression_level, shuffle=False)
        elif self.compression == "lzf":
            kwargs.update(compression="lzf")
        return kwargs

    def add_clip(
        self,
        sample_id: str,
        frames: np.ndarray,
        *,
        subject: str,
        label: int,
        label_name: str,
        onset: int,
        apex: int,
        offset: int,
        fps: float,
        source: str,
        raw: np.ndarray | None = None,
        part: str | None = None,
        **extra_attrs: Any,
    ) -> None:
        """Append one clip.

        Args:
            sample_id: unique id; the group under ``/clips`` is its :func:`~.format.clip_key`.
            frames: uint8 ``(T, H, W)`` (magnified) frames.
            onset, apex, offset: 0-based indices into ``frames`` (``apex`` -1 when unknown).
            raw: optional un-magnified uint8 ``(T, H, W)`` frames, same shape as ``frames``.
            part: the dataset the clip comes from (a composite's part); None: the file's dataset.
            extra_attrs: more scalar attributes (e.g. ``onset_frame`` as in the sheet).
        """
        if self._file is None:
            raise RuntimeError("CacheWriter.add_clip called outside its 'with' block")
        check_sample_id(sample_id)
        frames = _check_frames("frames", frames, sample_id)
        t = frames.shape[0]
        n = len(self.classes)
        if not 0 <= int(label) < n:
            raise ValueError(f"clip {sample_id!r}: label {label} outside classes (0..{n - 1})")
        if self.classes[int(label)] != label_name:
            expected = self.classes[int(label)]
            raise ValueError(f"clip {sample_id!r}: label_name {label_name!r} != {expected!r} (label {label})")
        for key, value in (("onset", onset), ("offset", offset)):
            if not 0 <= int(value) < t:
                raise ValueError(f"clip {sample_id!r}: {key}={value} outside the {t} stored frames")
        if not (int(apex) == -1 or 0 <= int(apex) < t):
            raise ValueError(f"clip {sample_id!r}: apex={apex} outside the {t} stored frames (use -1)")
        clips = self._file["clips"]
        key = clip_key(sample_id)
        if key in clips:
            raise ValueError(f"clip {sample_id!r} added twice")
        group = clips.create_group(key)
        group.create_dataset("frames", data=frames, **self._dataset_kwargs(frames.shape))
        if raw is not None:
            raw = _check_frames("raw", raw, sample_id)
            if raw.shape != frames.shape:
                raise ValueError(f"clip {sample_id!r}: raw shape {raw.shape} != frames shape {frames.shape}")
            group.create_dataset("raw", data=raw, **self._dataset_kwargs(raw.shape))
        attrs = {
            "sample_id": sample_id,
            "subject": str(subject),
            "part": str(part or self.dataset),
            "label": int(label),
            "label_name": str(label_name),
            "onset": int(onset),
            "apex": int(apex),
            "offset": int(offset),
            "fps": float(fps),
            "source": str(source),
        }
        for key, value in extra_attrs.items():
            attrs[key] = _attr_value(key, value, sample_id)
        group.attrs.update(attrs)
        sha = hashlib.sha256(canonical_json(attrs).encode())
        for array in (frames, raw):
            if array is not None:
                sha.update(str(array.shape).encode())
                sha.update(np.ascontiguousarray(array).tobytes())
        self._clip_digests[sample_id] = sha.hexdigest()
        self.n_clips += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._file is not None
        try:
            if exc_type is None:
                self._file.attrs["content_hash"] = digest(
                    {
                        "dataset": self.dataset,
                        "classes": self.classes,
                        "grouping": self.grouping,
                        "params": self._params_json,
                        "clips": self._clip_digests,
                    },
                    16,
                )
                self._file.attrs["complete"] = True
            self._file.close()
        except BaseException:
            self._file = None
            self._tmp.unlink(missing_ok=True)
            raise
        self._file = None
        if exc_type is not None:
            self._tmp.unlink(missing_ok=True)
            return
        fd = os.open(self._tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self._tmp, self.path)
