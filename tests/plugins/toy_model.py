"""A toy model plug-in: one file, its options and its registry line (`model.registry`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from model.registry import ModelSpec, register_model


@dataclass(frozen=True)
class ToyOptions:
    """``toy_hidden``: units of the hidden layer (an option only this model has)."""

    toy_hidden: int = 4


class ToyNet(nn.Module):
    """The clip's mean frame minus its first frame, pooled to 4 x 4, through a small MLP."""

    def __init__(self, num_classes: int, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Flatten(), nn.Linear(16, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
        )

    def forward(self, frames, lengths, apex=None):
        t = torch.arange(frames.shape[1], device=frames.device)[None, :]
        valid = (t < lengths[:, None]).to(frames.dtype)[:, :, None, None, None]
        mean = (frames * valid).sum(1) / lengths[:, None, None, None].to(frames.dtype)
        pooled = nn.functional.adaptive_avg_pool2d(mean - frames[:, 0], 4)
        return {"logits": self.mlp(pooled)}


register_model(ModelSpec("toy", "clip", ToyOptions, lambda n, options, size: ToyNet(n, options.toy_hidden)))
