"""Pretraining AKMNet's frame CNN as an image classifier (the paper's AffectNet step).

The classifier is AKMNet's own trunk (`model.resnet.resnet18`: grayscale input, 5x5 stem) under the
module name ``cnn``, global average pooling and a linear layer. Its checkpoint holds the ``cnn.*``
tensors only, under the names AKMNet uses, so ``--init-checkpoint`` loads them by name and shape.
The paper's first step, ImageNet initialisation, maps a torchvision-layout ResNet-18 state dict
(supplied by the user; never downloaded) onto the trunk: every tensor whose name and shape fit, which
leaves the RGB 7x7 first convolution (ours is grayscale 5x5) and the 1000-way classifier out.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from model.config import TrainConfig
from model.progress import EpochProgress
from model.registry import no_extra_loss
from model.resnet import resnet18
from model.train import PRETRAINED_FORMAT, fit, load_matching, read_state_dict, save_checkpoint
from pipeline.identity import file_sha256
from pipeline.validation import require

log = logging.getLogger(__name__)


class FrameClassifier(nn.Module):
    """``cnn`` (AKMNet's ResNet-18 trunk) + average pool + linear, on single images.

    ``forward(frames, lengths, apex)`` takes `pipeline.store.collate_clips` batches of one-frame clips,
    ``frames (B, 1, 1, S, S)``, and returns ``{"logits": (B, num_classes)}`` (the training loop's
    model protocol).
    """

    def __init__(self, num_classes: int, width: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        self.cnn = resnet18(in_channels=1, width=width)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.cnn.out_channels, num_classes)

    def forward(self, frames: Tensor, lengths: Tensor | None = None, apex: Tensor | None = None) -> dict:
        features = self.cnn(frames[:, 0]).mean(dim=(-2, -1))
        return {"logits": self.head(self.dropout(features))}


class ImageDataset(torch.utils.data.Dataset):
    """Face crops ``(N, S0, S0)`` uint8 as one-frame clips ``(1, 1, S, S)`` in [0, 1] (items as
    `pipeline.store.ClipDataset`'s). Training: the reference's scale-and-crop augmentation and a
    horizontal flip (expressions are near-symmetric), seeded by ``(seed, epoch, index)``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, input_size: int, train: bool, seed: int = 0):
        self.images, self.labels_ = images, [int(v) for v in labels]
        self.input_size, self.train, self.seed, self.epoch = input_size, train, seed, 0

    @property
    def labels(self) -> list[int]:
        return self.labels_

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.labels_)

    def __getitem__(self, index: int) -> dict:
        from pipeline.store.dataset import resize_frames, train_transform

        frames = torch.from_numpy(self.images[index]).float().div_(255.0)[None, None]
        if self.train:
            state = np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(1)[0]
            frames = train_transform(
                frames, self.input_size, torch.Generator().manual_seed(int(state)), flip=True
            )
        else:
            frames = resize_frames(frames, self.input_size)
        label = self.labels_[index]
        return {"frames": frames.clamp_(0, 1).contiguous(), "length": 1, "label": label, "onset": 0, "apex": 0,
                "offset": 0, "sample_id": str(index), "subject": "-"}  # fmt: skip


@dataclass(frozen=True)
class PretrainParams:
    """Pretraining settings (``[pretrain]`` in luigi.cfg).

    Attributes:
        n_per_class: images drawn per class with ``seed`` (the paper: 1,000).
        epochs, lr, batch_size, weight_decay: SGD (momentum 0.9) with one cosine descent.
        input_size: image side fed to the CNN (the ME recipe's, e.g. 128 for ``paper``).
        width: ResNet base width; must equal the AKMNet run's ``width`` for its tensors to load.
        seed: sampling, weights, order and augmentation.
    """

    n_per_class: int = 1000
    epochs: int = 20
    lr: float = 0.01
    batch_size: int = 32
    weight_decay: float = 5e-4
    input_size: int = 128
    width: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_per_class", "epochs", "batch_size", "input_size", "width"):
            require(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, "PretrainParams", name,
                    "must be an integer >= 1", getattr(self, name))  # fmt: skip
        require(self.input_size >= 64, "PretrainParams", "input_size", "must be >= 64", self.input_size)
        require(self.lr > 0, "PretrainParams", "lr", "must be > 0", self.lr)


def map_torchvision_resnet(model: nn.Module, path: str | os.PathLike) -> dict[str, list[str]]:
    """Load a torchvision-layout ResNet-18 state dict (``conv1.weight``, ``layer1.0.bn1.weight``, ...,
    ``fc.*``) from ``path`` into ``model.cnn``: every tensor whose name and shape fit. Logs and returns
    ``{"loaded": [...], "skipped": [...]}`` (torchvision names); ``CheckpointError`` names the file
    when it cannot be read or nothing fits."""
    state = read_state_dict(path, "ImageNet weights")
    loaded, _ = load_matching(model.cnn, state, path, "ImageNet weights")
    skipped = sorted(set(state) - set(loaded))
    log.info("ImageNet weights %s: %d tensors loaded into cnn.*; not loaded: %s", path, len(loaded), skipped)
    return {"loaded": loaded, "skipped": skipped}


def pretrain(
    images: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    params: PretrainParams,
    out_path: str | os.PathLike,
    *,
    description: str,
    imagenet: str | os.PathLike | None = None,
    state_path: str | os.PathLike | None = None,
    threads: int | None = None,
    progress: EpochProgress | None = None,
) -> dict:
    """Train a :class:`FrameClassifier` on ``images``/``labels`` and write its ``cnn.*`` tensors to
    ``out_path`` (``{"format", "model", "meta"}``, atomic). ``imagenet``: a torchvision ResNet-18 state
    dict to start from; ``state_path``: the per-epoch training state, from which an interrupted run
    resumes; ``progress``: told every epoch (`model.progress`). Returns the meta (``description``, classes, counts, history, ImageNet file and SHA-256)."""
    cfg = TrainConfig.from_flat(dict(
        recipe="pretrain", epochs=params.epochs, lr=params.lr, lr_schedule="cosine", weight_decay=params.weight_decay,
        batch_size=params.batch_size, input_size=params.input_size, width=params.width, seed=params.seed,
        channels_last=False, threads=threads, keep_in_memory=False,
    ))  # fmt: skip
    torch.manual_seed(params.seed)
    model = FrameClassifier(len(classes), params.width)
    mapped = map_torchvision_resnet(model, imagenet) if imagenet else None
    data = ImageDataset(images, labels, params.input_size, train=True, seed=params.seed)
    history = fit(
        model, data, cfg, checkpoint=state_path, tag="pretrain", progress=progress, loss=no_extra_loss
    )
    meta = {
        "description": description,
        "classes": classes,
        "n_images": int(len(labels)),
        "per_class": {c: int(np.sum(labels == i)) for i, c in enumerate(classes)},
        "params": params.__dict__,
        "imagenet": None
        if imagenet is None
        else {
            "file": Path(imagenet).name,
            "sha256": file_sha256(imagenet),
            "loaded": len(mapped["loaded"]),
        },  # fmt: skip
        "history": [{k: v for k, v in r.items() if isinstance(v, int | float)} for r in history],
    }
    state = {k: v for k, v in model.state_dict().items() if k.startswith("cnn.")}
    save_checkpoint(out_path, {"format": PRETRAINED_FORMAT, "model": state, "meta": meta})
    return meta
