"""FlowCNN: a shallow three-stream CNN on an onset -> apex flow image, after STSTNet.

STSTNet (Liong et al., 2019) feeds the horizontal and vertical optical flow and the optical strain of
a clip's onset -> apex pair, resized to 28 x 28, to three parallel 3 x 3 convolutions of 3, 5 and 8
channels; each is rectified, batch-normalised and max-pooled (3 x 3, stride 3); the 16 maps are
average-pooled (2 x 2) and classified by one linear layer. Written here from that description.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from model.registry import ModelSpec, register_model
from pipeline.validation import require

STREAMS = (3, 5, 8)  # channels of the three streams


def pooled_side(input_size: int) -> int:
    """Side after the stride-3 max pool (padding 1) and the 2 x 2 average pool: 28 -> 10 -> 5."""
    return ((input_size + 2 - 3) // 3 + 1) // 2


class FlowCNN(nn.Module):
    """Flow-image classifier.

    Args:
        num_classes: output classes.
        input_size: side S of the flow image (28 in STSTNet).
        dropout: dropout before the classifier.

    ``forward(frames (B, 3, S, S))``, the ``u, v, strain`` image of `pipeline.flow.FlowDataset`, returns
    ``{"logits": (B, C)}``. It scores no frames.
    """

    def __init__(self, num_classes: int, input_size: int = 28, dropout: float = 0.5) -> None:
        super().__init__()
        if pooled_side(input_size) < 1:
            raise ValueError(f"input_size: expected >= 6, got {input_size}")
        self.streams = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(3, channels, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(channels),
                nn.MaxPool2d(3, stride=3, padding=1),
            )
            for channels in STREAMS
        )
        self.pool = nn.AvgPool2d(2)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(sum(STREAMS) * pooled_side(input_size) ** 2, num_classes)

    def forward(
        self, frames: Tensor, lengths: Tensor | None = None, apex: Tensor | None = None
    ) -> dict[str, Tensor]:
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames: expected a flow image (B, 3, S, S), got {tuple(frames.shape)}")
        x = torch.cat([stream(frames) for stream in self.streams], dim=1)
        return {"logits": self.fc(self.dropout(torch.flatten(self.pool(x), 1)))}


@dataclass(frozen=True)
class FlowCNNOptions:
    """What only `FlowCNN` reads: ``dropout`` before its classifier."""

    dropout: float = 0.5

    def __post_init__(self) -> None:
        require(0 <= self.dropout < 1, "FlowCNNOptions", "dropout", "a number in [0, 1)", self.dropout)


register_model(
    ModelSpec(
        name="flow-cnn",
        input="flow",
        options=FlowCNNOptions,
        make=lambda n, options, size: FlowCNN(n, input_size=size, dropout=options.dropout),
        min_input_size=6,
        description="STSTNet-like three-stream CNN on the onset -> apex flow image",
    )
)
