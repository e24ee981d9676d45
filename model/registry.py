"""The model seam: every trainable method and every input kind, by name (`pipeline.registry.Registry`).

A model is one file holding its network, its ``options`` dataclass (the settings only it reads, with
their defaults and checks) and, last, its registry line ``MODELS.register(ModelSpec(...))``; the
built-in ones are imported at the end of this module. The training loop, folds, protocols, metrics,
figures and reports are shared (`model.train`, `model.loso`). A model reads one input kind
(:data:`INPUTS`: ``clip``, the frames of a clip; ``flow``, the onset -> apex flow image), which has its
own options (frame sampling, augmentation) and builds the dataset the loop iterates.

A run's identity (`pipeline.identity.run_name`) digests the shared loop's settings plus the chosen
model's, input's and protocol's options only: another model's new option renames no run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from pipeline.registry import Registry


def no_extra_loss(ce: Tensor, out: dict[str, Tensor], lengths: Tensor, options: Any):
    """The loss of a plain classifier: the per-clip cross-entropy ``ce`` ``(B,)`` itself, no parts."""
    return ce, {}


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    Attributes:
        name: what ``--model`` takes.
        input: the input kind it reads (:data:`INPUTS`).
        options: its options dataclass (field names unique across the shared `TrainConfig` fields).
        make: ``make(num_classes, options, input_size) -> nn.Module``; the module's ``forward(frames,
            lengths, apex)`` returns a dict with ``logits`` ``(B, C)`` and, for a model that scores
            frames, per-frame ``scores`` (and ``keymask``, ``selected``, ``weights``) ``(B, T)``.
        min_input_size: the smallest ``input_size`` it takes.
        frame_scores: it scores every frame (b_t): reports show key frames and apex localisation.
        loss: ``loss(ce, out, lengths, options) -> (per-clip total (B,), {part: batch sum})`` from the
            per-clip cross-entropy; default: ``ce`` alone.
        fit: a model not trained by gradient descent (e.g. features + an SVM) brings its own trainer
            with `model.train.fit`'s signature and result (one history record per "epoch", each
            merged with ``on_epoch``'s dict); None: the shared loop.
        description: one line for reports and ``--help``.
    """

    name: str
    input: str
    options: type | None
    make: Callable[[int, Any, int], nn.Module]
    min_input_size: int = 1
    frame_scores: bool = False
    loss: Callable[..., tuple[Tensor, dict[str, float]]] = no_extra_loss
    fit: Callable[..., list[dict]] | None = None
    description: str = ""


@dataclass(frozen=True)
class InputSpec:
    """One input kind.

    Attributes:
        name: ``clip``, ``flow``, ...
        options: its options dataclass (read by ``dataset``).
        dataset: ``dataset(info, cfg, *, subjects, exclude, train, artifact) -> torch Dataset`` of the
            chosen subjects of cache ``info`` (a `pipeline.store.CacheInfo`, grouped), with ``labels``
            and optionally ``collate`` and ``set_epoch``.
        artifact: the derived file the dataset reads besides the cache (``flow``: the cache's flow file,
            computed once per cache by its task), or None.
    """

    name: str
    options: type | None
    dataset: Callable[..., Any]
    artifact: str | None = None


MODELS: Registry[ModelSpec] = Registry("model")
INPUTS: Registry[InputSpec] = Registry("input")


def register_model(spec: ModelSpec) -> ModelSpec:
    """Register ``spec`` (its input kind must be registered)."""
    INPUTS.get(spec.input)
    return MODELS.register(spec)


# the built-in entries register themselves on import (one line each); input kinds first
from model import inputs  # noqa: E402, F401, I001  # isort: split
from model import akmnet  # noqa: E402, F401
from model import flowcnn  # noqa: E402, F401
from model import offapexnet  # noqa: E402, F401
from model import lbptop_svm  # noqa: E402, F401
