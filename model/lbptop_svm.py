"""LBP-TOP features with a linear SVM: the hand-crafted baseline of the MEGC challenges, as a model.

Features: `pipeline.features.lbptop.lbptop_features` of each clip's frames (``(T, S, S)``, as the
``clip`` input feeds them: resized to ``input_size``, every frame, no augmentation), with the MEGC
baseline's settings as that module gives them (uniform patterns of 8 neighbours on each plane, radii
R_X = R_Y = 1, R_T = 4, 5 x 5 blocks; 5 x 5 x 3 x 59 = 4425 values). A clip shorter than the temporal
window (``2 ceil(R_T) + 1`` frames: 9 for R_T = 4) is first stretched to that length by linear
interpolation between its frames (our choice; such clips are rare at 100-200 fps).

Classifier: scikit-learn's ``LinearSVC`` (one-vs-rest, squared hinge loss, L2 penalty) with
``C = svm_c`` (default 1, scikit-learn's; the MEGC baseline descriptions we could read name a linear
SVM but not its C) and ``class_weight`` ``balanced`` (each class weighted inversely to its frequency,
our choice for scores that weight every class equally, UF1 and UAR) or ``none``; ``random_state`` the
run's seed, so a fit is a function of its data and seed.

The network seam: `LBPTOPSVM` is an ``nn.Module`` with no trainable parameters whose buffers hold the
fitted SVM (``coef`` ``(C, F)``, ``intercept`` ``(C,)``), so its state dict is the checkpoint;
``forward`` returns ``logits`` = the SVM's decision function (two classes: ``(-d / 2, d / 2)``, whose
softmax and argmax match the SVM's decision ``d``). `fit_svm` is its trainer (`ModelSpec.fit`): one
"epoch" that computes every training clip's features, fits the SVM and evaluates ``on_epoch``.
Features are cached per process (keyed by the clip's bytes and the LBP-TOP settings), so the folds of
one process compute each clip once.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.registry import ModelSpec, register_model
from pipeline.features.lbptop import LBPTOPParams, lbptop_features
from pipeline.validation import require

log = logging.getLogger(__name__)

#: features kept per process (each 4425 float32 at the defaults: about 18 kB)
CACHE_SIZE = 4096
_FEATURES: OrderedDict[tuple, np.ndarray] = OrderedDict()


@dataclass(frozen=True)
class LBPTOPSVMOptions:
    """What only `LBPTOPSVM` reads.

    Attributes:
        svm_c: the SVM's C (> 0).
        class_weight: ``balanced`` or ``none``.
        lbp_neighbours, lbp_radius_xy, lbp_radius_t, lbp_block_rows, lbp_block_cols: `LBPTOPParams`'s
            ``neighbours``, ``radius_x`` = ``radius_y``, ``radius_t``, ``blocks`` (the MEGC baseline's
            8, 1, 4, 5 x 5 by default).
    """

    svm_c: float = 1.0
    class_weight: Literal["balanced", "none"] = "balanced"
    lbp_neighbours: int = 8
    lbp_radius_xy: float = 1.0
    lbp_radius_t: float = 4.0
    lbp_block_rows: int = 5
    lbp_block_cols: int = 5

    def __post_init__(self) -> None:
        owner = "LBPTOPSVMOptions"
        require(
            isinstance(self.svm_c, int | float) and self.svm_c > 0, owner, "svm_c", "a number > 0", self.svm_c
        )
        ok = self.class_weight in ("balanced", "none")
        require(ok, owner, "class_weight", "'balanced' or 'none'", self.class_weight)
        for name in ("lbp_block_rows", "lbp_block_cols"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, owner, name, "an integer >= 1", value)
        try:
            self.lbptop()
        except ValueError as err:
            raise ValueError(f"{owner}: {err}") from None

    def lbptop(self) -> LBPTOPParams:
        """The `LBPTOPParams` these options name."""
        return LBPTOPParams(
            neighbours=self.lbp_neighbours,
            radius_x=float(self.lbp_radius_xy),
            radius_y=float(self.lbp_radius_xy),
            radius_t=float(self.lbp_radius_t),
            blocks=(self.lbp_block_rows, self.lbp_block_cols),
        )


def stretch(volume: np.ndarray, length: int) -> np.ndarray:
    """``volume`` ``(T, H, W)`` with at least ``length`` frames: shorter ones linearly interpolated in
    time to exactly ``length`` (first and last frame kept), longer ones unchanged."""
    frames = len(volume)
    if frames >= length:
        return volume
    position = np.linspace(0.0, frames - 1, length)
    lower = np.floor(position).astype(int)
    upper = np.minimum(lower + 1, frames - 1)
    weight = (position - lower)[:, None, None]
    return (1 - weight) * volume[lower] + weight * volume[upper]


def clip_features(volume: np.ndarray, params: LBPTOPParams) -> np.ndarray:
    """LBP-TOP float32 ``(F,)`` of one clip ``(T, H, W)`` (float), cached per process by its bytes."""
    volume = np.ascontiguousarray(volume, dtype=np.float64)
    key = (params, volume.shape, hashlib.sha256(volume.tobytes()).digest())
    hit = _FEATURES.get(key)
    if hit is not None:
        _FEATURES.move_to_end(key)
        return hit
    needed = 2 * int(np.ceil(params.radius_t)) + 1
    features = lbptop_features(stretch(volume, needed), params)
    _FEATURES[key] = features
    if len(_FEATURES) > CACHE_SIZE:
        _FEATURES.popitem(last=False)
    return features


class LBPTOPSVM(nn.Module):
    """LBP-TOP features -> a fitted linear SVM's decision values, as logits.

    Args:
        num_classes: output classes C.
        options: `LBPTOPSVMOptions`.

    ``forward(frames (B, T, 1, S, S), lengths (B,), apex=None)`` returns ``{"logits": (B, C)}``, the
    decision function of the SVM last given by :meth:`set_svm` (all zeros before). Padded frames
    (beyond ``lengths``) are ignored.
    """

    def __init__(self, num_classes: int, options: LBPTOPSVMOptions | None = None) -> None:
        super().__init__()
        self.options = options or LBPTOPSVMOptions()
        self.params = self.options.lbptop()
        rows, cols = self.params.blocks
        self.num_features = rows * cols * 3 * self.params.n_bins
        self.register_buffer("coef", torch.zeros(num_classes, self.num_features, dtype=torch.float64))
        self.register_buffer("intercept", torch.zeros(num_classes, dtype=torch.float64))

    def features(self, frames: Tensor, lengths: Tensor | None = None) -> np.ndarray:
        """float64 ``(B, F)``: every clip's LBP-TOP."""
        if frames.ndim != 5 or frames.shape[2] != 1:
            raise ValueError(f"frames: expected clips (B, T, 1, S, S), got {tuple(frames.shape)}")
        array = frames.detach().float().cpu().numpy()[:, :, 0]
        counts = [len(a) for a in array] if lengths is None else [int(n) for n in lengths.tolist()]
        return np.stack([clip_features(a[:n], self.params) for a, n in zip(array, counts)]).astype(np.float64)

    def set_svm(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        """Store the SVM's weights ``(C, F)`` and biases ``(C,)`` (see `_per_class`)."""
        self.coef.copy_(torch.from_numpy(np.asarray(coef, dtype=np.float64)))
        self.intercept.copy_(torch.from_numpy(np.asarray(intercept, dtype=np.float64)))

    def decision(self, features: np.ndarray) -> Tensor:
        """``(B, C)`` decision values of ``features`` ``(B, F)``."""
        return torch.from_numpy(features) @ self.coef.T + self.intercept

    def forward(
        self, frames: Tensor, lengths: Tensor | None = None, apex: Tensor | None = None
    ) -> dict[str, Tensor]:
        return {"logits": self.decision(self.features(frames, lengths)).float().to(frames.device)}


def _training_features(model: LBPTOPSVM, dataset, cfg) -> tuple[np.ndarray, np.ndarray]:
    """Every clip of ``dataset`` as the model sees it at test time (no augmentation)."""
    from model.train import make_loader

    plain = copy.copy(dataset)
    if hasattr(plain, "train"):
        plain.train = False  # the SVM is fitted on the plain resized frames, as it is evaluated
    features, labels = [], []
    for batch in make_loader(plain, cfg, shuffle=False):
        features.append(model.features(batch["frames"], batch["lengths"]))
        labels += batch["labels"].tolist()
    return np.concatenate(features), np.asarray(labels)


#: the decision value of a class no training clip has (it is never predicted)
ABSENT = -1e6


def _per_class(svm, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """A fitted ``LinearSVC``'s weights ``(C, F)`` and biases ``(C,)`` for all ``num_classes`` classes:
    with two training classes its one decision ``d`` (for ``classes_[1]``) as ``-d / 2, d / 2``; a class
    absent from the training clips gets zero weights and bias :data:`ABSENT`."""
    coef, bias = svm.coef_, svm.intercept_
    if len(svm.classes_) == 2:
        coef, bias = np.concatenate([-coef, coef]) / 2, np.concatenate([-bias, bias]) / 2
    full, full_bias = np.zeros((num_classes, coef.shape[1])), np.full(num_classes, ABSENT)
    full[svm.classes_], full_bias[svm.classes_] = coef, bias
    return full, full_bias


def fit_svm(model: LBPTOPSVM, dataset, cfg, *, epochs=None, checkpoint=None, on_epoch=None, tag: str = "",
            progress=None, loss=None) -> list[dict]:  # fmt: skip
    """`model.train.fit`'s contract for `LBPTOPSVM`: one "epoch" (whatever ``epochs`` says) that fits
    the SVM on every clip of ``dataset``; its record holds ``loss_ce`` (the training clips'
    cross-entropy of the decision values taken as logits), ``train_accuracy`` and ``on_epoch``'s dict.
    With ``checkpoint`` the fitted model and history are saved, and a checkpoint of the same
    configuration and tag is loaded instead of refitting."""
    from sklearn.svm import LinearSVC

    from model.train import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint, use_threads
    from pipeline.identity import canonical_json, train_identity

    identity = {"config": canonical_json(train_identity(cfg.to_dict())), "tag": tag, "epochs": 1}
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        if state["identity"] == identity:
            model.load_state_dict(state["model"])
            return list(state["history"])
        raise ValueError(
            f"{checkpoint}: checkpoint was written for another configuration ({state['identity']})"
        )
    if epochs not in (None, 1):
        log.info("%s: the SVM is fitted once (epochs=%s read as 1)", tag, epochs)
    use_threads(cfg)
    began = time.perf_counter()
    if progress is not None:
        progress.begin(1, 0)
    features, labels = _training_features(model, dataset, cfg)
    options = model.options
    svm = LinearSVC(C=options.svm_c, class_weight=None if options.class_weight == "none" else "balanced",
                    random_state=cfg.seed, max_iter=20_000)  # fmt: skip
    svm.fit(features, labels)
    model.set_svm(*_per_class(svm, len(model.coef)))
    logits = model.decision(features)
    targets = torch.from_numpy(labels)
    record = {
        "epoch": 1,
        "lr": 0.0,
        "loss_ce": float(F.cross_entropy(logits, targets)),
        "train_accuracy": float((logits.argmax(1) == targets).double().mean()),
    }
    if on_epoch is not None:
        record |= on_epoch(1, model)
    history = [record]
    if checkpoint is not None:
        save_checkpoint(checkpoint, {"format": CHECKPOINT_FORMAT, "identity": identity, "epoch": 1,
                                     "model": model.state_dict(), "optimizer": {}, "history": history})  # fmt: skip
    if progress is not None:
        progress.epoch(record, time.perf_counter() - began)
    return history


register_model(
    ModelSpec(
        name="lbp-top",
        input="clip",
        options=LBPTOPSVMOptions,
        make=lambda n, options, size: LBPTOPSVM(n, options),
        min_input_size=8,
        fit=fit_svm,
        description="LBP-TOP features and a linear SVM (the MEGC hand-crafted baseline)",
    )
)
