"""Training configuration (validated dataclass): the shared loop's settings and every model's fields."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from model.akmnet import BATCH_NORMS, EVAL_NORMS, FIXED_VARIANTS, check_variant
from model.models import MODELS
from pipeline.flow.compute import FLOW_METHODS
from pipeline.identity import file_sha256
from pipeline.validation import ParamError, require

PROTOCOLS = ("fixed", "inner-val", "reference-optimistic")
LR_SCHEDULES = ("reference", "cosine")
OPTIMIZERS = ("sgd", "adam")
BALANCES = ("none", "oversample")


@dataclass(frozen=True)
class TrainConfig:
    """Every training parameter; the defaults are the AKMNet reference's (the ``paper`` recipe,
    `model.recipes`).

    Attributes:
        recipe: the name of the recipe these values started from (`model.recipes.RECIPES`; a record,
            the values are the fields).
        model: the model trained (`model.models.MODELS`: ``akmnet``, ``flow-cnn``); each reads the
            fields of its own config (`model.models.ModelSpec.config`); the fields it declares unread
            (`ModelSpec.ignores`) are set to their defaults, so that they do not change a run's name.
        optimizer: ``sgd`` (the reference: ``lr``, ``momentum``, ``weight_decay``) or ``adam``
            (``lr``, ``weight_decay``; STSTNet's).
        grouping: the class grouping the cache's emotions are mapped to (`pipeline.datasets.regroup`):
            ``default`` (the dataset's default grouping), ``paper`` (the AKMNet paper's, e.g.
            ``akmnet-4class``) or a grouping named in the dataset's spec; tasks record the resolved name.
        balance: ``none`` (the training clips as they come) or ``oversample`` (every epoch, each class
            drawn up to the largest class's count, as the paper balances its training set;
            `model.sampling.balanced_order`).
        epochs: training epochs per fold (reference: 40).
        lr, momentum, weight_decay: SGD parameters (reference: 1e-3, 0.9, 5e-4).
        lr_schedule: ``reference`` (the reference's CosineAnnealingLR, stepped past its T_max: periodic
            with half-period ``lr_period``) or ``cosine`` (one half cosine from ``lr`` at the first epoch
            to ``lr_min`` after the last; ``lr_period`` unused).
        lr_period: epochs from peak to trough of the reference schedule; None = epochs / 5 as in the
            reference (the learning rate then rises again).
        lr_min: trough learning rate (reference: 1e-8).
        batch_size: clips per optimiser step (effective batch; reference: 8).
        micro_batch_size: clips per forward pass (gradient accumulation); None = batch_size.
        protocol: ``fixed`` (train ``epochs``, evaluate the last), ``inner-val`` (choose the epoch count
            on held-out training subjects, then refit), ``reference-optimistic`` (best epoch on the test
            subject: optimistic, labelled so in every output).
        inner_val_fraction: share of the training subjects held out by ``inner-val`` (at least one).
        optimistic_min_epoch: ``reference-optimistic`` considers epochs from this one on; ``None``:
            a quarter of ``epochs`` (the reference's 10 of 40), at least 1.
        variant: frame selection (see :class:`model.akmnet.AKMNet`).
        loss_separation, loss_count: weights of the b_t separation and key-frame count losses (1, 0.1).
        input_size: image side fed to the model (AKMNet: frames, >= 64, 128 in the paper; flow-cnn:
            the flow image, 28 in STSTNet).
        max_frames: clips longer than this are uniformly subsampled (None: keep all).
        source: cache frames to read, ``magnified`` or ``raw``.
        flow_method: a flow model's onset -> apex optical flow (`pipeline.flow.FLOW_METHODS`): ``tvl1``
            (Dual TV-L1, the field's) or ``farneback``; set to its default for a model that reads clips.
        subtract_onset: feed the CNN each frame minus the clip's onset frame instead of the frame
            (not in the paper, which feeds the frames; see docs/STUDY.md for why it is offered).
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when present).
        amp: bf16 autocast on CUDA (ignored on CPU).
        channels_last: run the CNN in channels-last memory format (much faster with oneDNN on CPU, and
            with tensor cores on CUDA).
        flip: a random horizontal flip per training clip (the reference has none).
        eval_norm: batch norm at evaluation: ``running`` statistics (the reference) or per-``clip``
            statistics, as the network normalises in training.
        init_checkpoint: initialise from this file before training, keeping the tensors whose names
            and shapes match (the reference's ``--premodel``): this toolkit's fold checkpoints or a plain
            state dict; None: from ``seed``.
        init_partial: accept an initial checkpoint that fills less than half of the model's values
            (otherwise an error: `model.train.MIN_INIT_SHARE`).
        init_checkpoint_sha256: that file's SHA-256, filled in when the config is made (the run's
            identity holds it, not the path).
        seed: seeds weights, data order, augmentation and dropout.
        num_workers: DataLoader worker processes.
        dropout, hidden: classifier dropout and GRU hidden size.
        width: ResNet base width (64 = ResNet-18 as in the paper; e.g. 16 for quick CPU runs).
        batch_norm: training-mode batch-norm statistics: ``clip`` (per clip, with one running-statistics
            update per clip: batched training is then the reference's one-clip-per-forward model) or
            ``batch`` (pooled over the frames of all clips in a forward pass).
        threads: torch CPU threads (None: leave torch's default).
        keep_in_memory: keep decoded clips in memory after the first epoch (faster; costs the
            uint8 size of the selected clips).
    """

    recipe: str = "paper"
    model: str = "akmnet"
    optimizer: str = "sgd"
    grouping: str = "default"
    balance: str = "none"
    epochs: int = 40
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_schedule: str = "reference"
    lr_period: float | None = None
    lr_min: float = 1e-8
    batch_size: int = 8
    micro_batch_size: int | None = None
    protocol: str = "fixed"
    inner_val_fraction: float = 0.2
    optimistic_min_epoch: int | None = None
    variant: str = "akm"
    loss_separation: float = 1.0
    loss_count: float = 0.1
    input_size: int = 128
    max_frames: int | None = None
    source: str = "magnified"
    flow_method: str = "tvl1"
    subtract_onset: bool = False
    device: str = "cpu"
    amp: bool = True
    channels_last: bool = True
    seed: int = 0
    num_workers: int = 0
    dropout: float = 0.5
    hidden: int = 32
    width: int = 64
    batch_norm: str = "clip"
    eval_norm: str = "running"
    flip: bool = False
    init_checkpoint: str | None = None
    init_checkpoint_sha256: str | None = None
    init_partial: bool = False
    threads: int | None = None
    keep_in_memory: bool = True

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, what: str) -> None:
            require(ok, "TrainConfig", name, f"must be {what}", getattr(self, name))

        need(isinstance(self.epochs, int) and self.epochs >= 1, "epochs", "an integer >= 1")
        for name in ("lr", "momentum", "weight_decay", "lr_min", "loss_separation", "loss_count"):
            need(
                isinstance(self.__dict__[name], int | float) and self.__dict__[name] >= 0,
                name,
                "a number >= 0",
            )
        need(self.lr > 0, "lr", "a number > 0")
        need(self.lr_period is None or self.lr_period > 0, "lr_period", "None or a number > 0")
        need(isinstance(self.batch_size, int) and self.batch_size >= 1, "batch_size", "an integer >= 1")
        need(
            self.micro_batch_size is None
            or (isinstance(self.micro_batch_size, int) and 1 <= self.micro_batch_size <= self.batch_size),
            "micro_batch_size",
            "None or an integer in [1, batch_size] that divides batch_size",
        )
        need(self.batch_size % self.micro_batch == 0, "micro_batch_size", "a divisor of batch_size")
        need(self.protocol in PROTOCOLS, "protocol", f"one of {PROTOCOLS}")
        need(0 < self.inner_val_fraction < 1, "inner_val_fraction", "a number in (0, 1)")
        need(
            self.optimistic_min_epoch is None or self.optimistic_min_epoch >= 1,
            "optimistic_min_epoch",
            "None or an integer >= 1",
        )
        try:
            check_variant(self.variant)
        except ValueError as err:
            raise ParamError(
                "TrainConfig",
                "variant",
                f"must be one of {FIXED_VARIANTS} or 'uniform-N' (N >= 1)",
                self.variant,
            ) from err
        need(self.model in MODELS, "model", f"one of {tuple(MODELS)}")
        for name in MODELS[self.model].ignores:  # unread by this model: at their defaults, so that
            object.__setattr__(self, name, _DEFAULTS[name])  # they do not change the run's name
        need(self.optimizer in OPTIMIZERS, "optimizer", f"one of {OPTIMIZERS}")
        need(isinstance(self.grouping, str) and bool(self.grouping), "grouping", "a grouping name")
        need(self.balance in BALANCES, "balance", f"one of {BALANCES}")
        least = MODELS[self.model].min_input_size
        need(
            isinstance(self.input_size, int) and self.input_size >= least,
            "input_size",
            f"an integer >= {least} (model {self.model})",
        )
        need(self.max_frames is None or self.max_frames >= 1, "max_frames", "None or an integer >= 1")
        need(self.source in ("magnified", "raw"), "source", "'magnified' or 'raw'")
        need(self.flow_method in FLOW_METHODS, "flow_method", f"one of {tuple(FLOW_METHODS)}")
        if MODELS[self.model].input != "flow":  # unread: at its default, so that it does not rename the run
            object.__setattr__(self, "flow_method", _DEFAULTS["flow_method"])
        need(isinstance(self.subtract_onset, bool), "subtract_onset", "True or False")
        need(
            self.device in ("cpu", "cuda", "auto") or self.device.startswith("cuda:"),
            "device",
            "'cpu', 'cuda', 'cuda:N' or 'auto'",
        )
        need(isinstance(self.seed, int), "seed", "an integer")
        need(isinstance(self.num_workers, int) and self.num_workers >= 0, "num_workers", "an integer >= 0")
        need(0 <= self.dropout < 1, "dropout", "a number in [0, 1)")
        need(isinstance(self.hidden, int) and self.hidden >= 1, "hidden", "an integer >= 1")
        need(isinstance(self.width, int) and self.width >= 1, "width", "an integer >= 1")
        need(self.batch_norm in BATCH_NORMS, "batch_norm", f"one of {BATCH_NORMS}")
        need(self.eval_norm in EVAL_NORMS, "eval_norm", f"one of {EVAL_NORMS}")
        need(self.lr_schedule in LR_SCHEDULES, "lr_schedule", f"one of {LR_SCHEDULES}")
        need(isinstance(self.flip, bool), "flip", "True or False")
        need(isinstance(self.init_partial, bool), "init_partial", "True or False")
        need(isinstance(self.recipe, str) and bool(self.recipe), "recipe", "a recipe name")
        if self.init_checkpoint is not None:
            need(Path(self.init_checkpoint).is_file(), "init_checkpoint", "an existing checkpoint file")
            if self.init_checkpoint_sha256 is None:
                object.__setattr__(self, "init_checkpoint_sha256", file_sha256(self.init_checkpoint))
        need(self.threads is None or self.threads >= 1, "threads", "None or an integer >= 1")

    @property
    def micro_batch(self) -> int:
        """Clips per forward pass."""
        return self.micro_batch_size or self.batch_size

    @property
    def period(self) -> float:
        """Cosine schedule half-period in epochs."""
        return self.lr_period if self.lr_period is not None else self.epochs / 5

    def to_dict(self) -> dict:
        """Plain dict of every field (JSON-serialisable)."""
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict, rejecting unknown keys with a ValueError that names them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"TrainConfig: unknown parameter(s) {unknown}")
        return cls(**values)


#: every field's default (what a model's unread fields are set to)
_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}
