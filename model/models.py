"""The model registry: every trainable method by name, with its own config and declared input.

A model declares what it reads (``clip``: the frames of a clip, `pipeline.store.ClipDataset`;
``flow``: the onset -> apex flow image, `pipeline.flow.FlowDataset`) and a small frozen config
dataclass whose fields are `model.config.TrainConfig` fields of the same names. The training loop,
LOSO folds, protocols, metrics, figures and reports are shared (`model.train`, `model.loso`).
Register another model by adding a `ModelSpec` to :data:`MODELS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from torch import nn

from model.akmnet import AKMNet
from model.flowcnn import FlowCNN

INPUTS = ("clip", "flow")
#: what a flow model leaves unread: AKMNet's fields and the clip input's frame sampling and augmentation
FLOW_IGNORES = (
    "variant", "hidden", "width", "batch_norm", "eval_norm", "loss_separation", "loss_count",
    "max_frames", "subtract_onset", "flip",
)  # fmt: skip


@dataclass(frozen=True)
class AKMNetConfig:
    """What `model.akmnet.AKMNet` is built from (see its arguments)."""

    variant: str
    hidden: int
    dropout: float
    width: int
    batch_norm: str
    eval_norm: str
    input_size: int


@dataclass(frozen=True)
class FlowCNNConfig:
    """What `model.flowcnn.FlowCNN` is built from."""

    input_size: int
    dropout: float


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    Attributes:
        name: what ``--model`` takes.
        input: ``clip`` or ``flow`` (:data:`INPUTS`).
        config: its config dataclass (fields named as in `TrainConfig`).
        make: ``make(num_classes, config) -> nn.Module``; the module's ``forward(frames, lengths,
            apex)`` returns a dict with ``logits``, and, when its ``uses_key_frames``, the key-frame
            outputs of `model.akmnet.AKMNet`.
        min_input_size: the smallest ``input_size`` it takes.
        frame_scores: it scores every frame (b_t), so reports show key frames and apex localisation.
        ignores: `TrainConfig` fields it and its input do not read (`TrainConfig` sets them to their
            defaults, so that they do not change a run's name).
    """

    name: str
    input: str
    config: type
    make: Callable[[int, Any], nn.Module]
    min_input_size: int
    frame_scores: bool
    ignores: tuple[str, ...] = ()

    def config_of(self, train: Any) -> Any:
        """This model's config from a `TrainConfig` (its fields of the same names)."""
        return self.config(**{f.name: getattr(train, f.name) for f in fields(self.config)})

    def build(self, num_classes: int, train: Any) -> nn.Module:
        return self.make(num_classes, self.config_of(train))


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("akmnet", "clip", AKMNetConfig, lambda n, c: AKMNet(n, **vars(c)), 64, True),
        ModelSpec(
            "flow-cnn", "flow", FlowCNNConfig, lambda n, c: FlowCNN(n, **vars(c)), 6, False, FLOW_IGNORES
        ),
    )
}
