"""OFF-ApexNet (Gan, Liong, Yau, Huang and Tan, "OFF-ApexNet on micro-expression recognition system",
Signal Processing: Image Communication 74, 2019; arXiv 1805.08699): a two-stream CNN on a clip's
onset -> apex optical flow. Written here from the paper's description; no code was copied.

From the paper: the input is the optical flow between the onset and the apex frame, its horizontal
(u) and vertical (v) components, each a 28 x 28 image fed to its own stream; each stream is two
convolution layers of 5 x 5 kernels (6, then 16 maps), each followed by 2 x 2 max pooling of stride 2;
the two streams' maps are flattened and concatenated, then two fully connected layers of 1024 units and
a softmax output over the classes. With "same" padding this is 2 x 784 = 1568 features and 2.66 M
parameters for 3 classes, the size an independent re-implementation reports for it.

Our choices (not in the description we worked from): ReLU after every convolution and hidden layer
(the LeNet-style layout the paper follows), "same" zero padding, dropout (``dropout``, 0.5) before the
output layer, PyTorch's default initialisation. The flow image of `pipeline.flow.FlowDataset` also holds
the optical strain (channel 2); OFF-ApexNet does not read it (STSTNet, `model.flowcnn`, does). An
independent re-implementation (PRICAI2021-Off-TANet's ``models/off_apexnet.py``) differs in two of
these: no activation after the convolutions, and dropout 0.5 after each of the two hidden layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from model.registry import ModelSpec, register_model
from pipeline.validation import require

MAPS = (6, 16)  # feature maps of the two convolution layers of each stream
KERNEL = 5


def stream_side(input_size: int) -> int:
    """Side of a stream's last map: two 'same' convolutions, each followed by a 2 x 2 / 2 max pool
    (28 -> 14 -> 7)."""
    return input_size // 2 // 2


def _stream() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, MAPS[0], KERNEL, padding=KERNEL // 2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2, stride=2),
        nn.Conv2d(MAPS[0], MAPS[1], KERNEL, padding=KERNEL // 2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2, stride=2),
    )


class OFFApexNet(nn.Module):
    """Two-stream (u, v) flow classifier.

    Args:
        num_classes: output classes.
        input_size: side S of each flow component (28 in the paper; >= 4).
        fc_units: units of each of the two fully connected layers (1024 in the paper).
        dropout: dropout before the output layer (our choice).

    ``forward(frames (B, 3, S, S))``, the ``u, v, strain`` image of `pipeline.flow.FlowDataset` (only
    ``u`` and ``v`` are read), returns ``{"logits": (B, C)}``. It scores no frames.
    """

    def __init__(self, num_classes: int, input_size: int = 28, fc_units: int = 1024, dropout: float = 0.5):
        super().__init__()
        if stream_side(input_size) < 1:
            raise ValueError(f"input_size: expected >= 4, got {input_size}")
        self.horizontal = _stream()
        self.vertical = _stream()
        features = 2 * MAPS[1] * stream_side(input_size) ** 2
        self.classifier = nn.Sequential(
            nn.Linear(features, fc_units),
            nn.ReLU(inplace=True),
            nn.Linear(fc_units, fc_units),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(fc_units, num_classes),
        )

    def forward(
        self, frames: Tensor, lengths: Tensor | None = None, apex: Tensor | None = None
    ) -> dict[str, Tensor]:
        if frames.ndim != 4 or frames.shape[1] < 2:
            raise ValueError(f"frames: expected a flow image (B, 3, S, S), got {tuple(frames.shape)}")
        u = torch.flatten(self.horizontal(frames[:, 0:1]), 1)
        v = torch.flatten(self.vertical(frames[:, 1:2]), 1)
        return {"logits": self.classifier(torch.cat([u, v], dim=1))}


@dataclass(frozen=True)
class OFFApexNetOptions:
    """What only `OFFApexNet` reads: ``fc_units`` of its two hidden layers (the paper's 1024) and the
    ``dropout`` before its output layer (ours)."""

    fc_units: int = 1024
    dropout: float = 0.5

    def __post_init__(self) -> None:
        ok = isinstance(self.fc_units, int) and self.fc_units >= 1
        require(ok, "OFFApexNetOptions", "fc_units", "an integer >= 1", self.fc_units)
        require(0 <= self.dropout < 1, "OFFApexNetOptions", "dropout", "a number in [0, 1)", self.dropout)


register_model(
    ModelSpec(
        name="off-apexnet",
        input="flow",
        options=OFFApexNetOptions,
        make=lambda n, options, size: OFFApexNet(n, size, options.fc_units, options.dropout),
        min_input_size=4,
        description="OFF-ApexNet: two-stream (u, v) CNN on the onset -> apex flow (Gan et al. 2019)",
    )
)
