"""Small fixtures for the model tests: synthetic clips whose class is where a blob moves."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter, map_coordinates

from pipeline.store import CacheWriter


def blob_clip(label: int, length: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 (T, S, S): a bright Gaussian blob in the top half (label 0) or bottom half (label 1)
    drifting horizontally, on a noisy background."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy = size * (0.28 if label == 0 else 0.72) + rng.uniform(-2, 2)
    x0 = rng.uniform(0.25, 0.45) * size
    frames = []
    for t in range(length):
        cx = x0 + t * size * 0.3 / max(length - 1, 1)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 10) ** 2))
        frames.append(60 + 150 * blob + rng.normal(0, 8, (size, size)))
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


class TensorClips(torch.utils.data.Dataset):
    """In-memory clips with the item layout of ``pipeline.store.ClipDataset``."""

    def __init__(self, clips: list[np.ndarray], labels: list[int], subjects: list[str] | None = None):
        self.clips, self.labels = clips, labels
        self.subjects = subjects or ["s0"] * len(clips)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        frames = torch.from_numpy(self.clips[i]).float().div(255).unsqueeze(1)
        n = len(frames)
        return {
            "frames": frames,
            "length": n,
            "label": self.labels[i],
            "onset": 0,
            "apex": n // 2,
            "offset": n - 1,
            "sample_id": f"clip{i:03d}",
            "subject": self.subjects[i],
        }


@pytest.fixture
def blob_data() -> TensorClips:
    rng = np.random.default_rng(0)
    lengths = [4, 5, 3, 6, 4, 5, 2, 6]
    labels = [i % 2 for i in range(len(lengths))]
    return TensorClips([blob_clip(c, n, 64, rng) for c, n in zip(labels, lengths)], labels)


def write_blob_cache(
    path, subjects: int = 3, per_subject: int = 8, size: int = 72, seed: int = 0, parts: tuple[str, ...] = ()
) -> None:
    """HDF5 cache (pipeline.store format) of 2-class blob clips, balanced per subject; with ``parts``, a
    composite: subject ``s`` belongs to ``parts[s % len(parts)]`` (named ``<part>-subNN``)."""
    rng = np.random.default_rng(seed)
    with CacheWriter(
        path, dataset="blobs", params={"size": size, "seed": seed}, classes=["top", "bottom"]
    ) as w:
        for s in range(subjects):
            for i in range(per_subject):
                label = i % 2
                length = int(rng.integers(4, 8))
                w.add_clip(
                    f"sub{s:02d}/clip{i:02d}",
                    blob_clip(label, length, size, rng),
                    subject=f"{parts[s % len(parts)]}-sub{s:02d}" if parts else f"sub{s:02d}",
                    part=parts[s % len(parts)] if parts else "",
                    label=label,
                    label_name=["top", "bottom"][label],
                    onset=0,
                    apex=length // 2,
                    offset=length - 1,
                    fps=30.0,
                    source=f"sub{s:02d}/clip{i:02d}",
                )


@pytest.fixture(scope="session")
def blob_cache(tmp_path_factory):
    """Cache of 3 subjects x 8 two-class blob clips (72 px, 4-7 frames)."""
    path = tmp_path_factory.mktemp("cache") / "blobs.h5"
    write_blob_cache(path, subjects=3, per_subject=8)
    return path


def motion_clip(label: int, texture: np.ndarray, length: int, amplitude: float, rng) -> np.ndarray:
    """uint8 (T, S, S): a subject's texture in which one of three regions (class ``label``: upper left,
    upper right, bottom centre) moves by up to ``amplitude`` px and back (raised-cosine time course,
    apex in the middle), plus sensor noise: a micro-expression-like motion on per-subject appearance."""
    size = texture.shape[0]
    centres = [(0.3, 0.3), (0.3, 0.7), (0.72, 0.5)]
    cy, cx = (c * size for c in centres[label])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    weight = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 9) ** 2))
    apex = (length - 1) / 2
    frames = []
    for t in range(length):
        shift = amplitude * 0.5 * (1 - np.cos(np.pi * min(t / apex, (length - 1 - t) / apex)))
        warped = map_coordinates(texture, [yy - shift * weight, xx], order=1, mode="reflect")
        frames.append(warped + rng.normal(0, 2, (size, size)))
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def write_motion_cache(
    path,
    subjects: int = 6,
    per_class: int = 3,
    size: int = 72,
    length: int = 9,
    amplitude: float = 2.0,
    seed: int = 0,
    keep_raw: bool = False,
) -> None:
    """HDF5 cache of 3-class `motion_clip` clips: each subject its own smooth random texture, classes
    told apart only by where the motion is (the appearance says nothing about the class). With
    ``keep_raw`` the same frames are also stored as the clips' raw (un-magnified) frames."""
    rng = np.random.default_rng(seed)
    classes = ["upper-left", "upper-right", "bottom"]
    with CacheWriter(path, dataset="motion", params={"size": size, "seed": seed}, classes=classes) as w:
        for s in range(subjects):
            noise = gaussian_filter(rng.normal(0, 1, (size, size)), 2.0, mode="wrap")
            texture = (128 + 45 * noise / noise.std()).astype(np.float32)
            for i in range(per_class * len(classes)):
                label = i % len(classes)
                sid = f"sub{s:02d}/clip{i:02d}"
                clip = motion_clip(label, texture, length, amplitude, rng)
                w.add_clip(
                    sid, clip, subject=f"sub{s:02d}", label=label, label_name=classes[label], onset=0,
                    apex=length // 2, offset=length - 1, fps=30.0, source=sid, raw=clip if keep_raw else None,
                )  # fmt: skip
