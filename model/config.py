"""Training configuration (validated dataclass): the shared loop's settings, nested with the chosen
model's, input's and protocol's own options (each defined beside its entry, `model.registry`,
`model.protocols`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from model.protocols import PROTOCOLS
from model.registry import INPUTS, MODELS
from pipeline.identity import file_sha256
from pipeline.registry import from_dict, options_from
from pipeline.validation import require

LR_SCHEDULES = ("reference", "cosine")
OPTIMIZERS = ("sgd", "adam")
BALANCES = ("none", "oversample")
#: the nested fields: (TrainConfig field, registry, the TrainConfig field naming the entry)
NESTED = (("model_options", "model"), ("input_options", "input"), ("protocol_options", "protocol"))


@dataclass(frozen=True)
class TrainConfig:
    """Every training parameter; the defaults are the AKMNet reference's (the ``paper`` recipe,
    `model.recipes`). Build one from flat option names with `TrainConfig.from_flat` or
    `model.recipes.recipe_config`.

    Attributes:
        recipe: the name of the recipe these values started from (`model.recipes.RECIPES`; a record,
            the values are the fields).
        model: the model trained (`model.registry.MODELS`); its options are ``model_options``, its
            input kind's ``input_options``.
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
        protocol: the evaluation protocol (`model.protocols.PROTOCOLS`: ``fixed``, ``inner-val``,
            ``reference-optimistic``); its options are ``protocol_options``.
        optimistic_min_epoch: the optimistic reading (``reference-optimistic``, and the both-readings
            table of every run) considers epochs from this one on; ``None``: a quarter of ``epochs``
            (the reference's 10 of 40), at least 1.
        input_size: image side fed to the model (AKMNet: frames, >= 64, 128 in the paper; flow-cnn:
            the flow image, 28 in STSTNet).
        source: cache frames to read, ``magnified`` or ``raw``.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when present).
        amp: bf16 autocast on CUDA (ignored on CPU).
        channels_last: run the CNN in channels-last memory format (much faster with oneDNN on CPU, and
            with tensor cores on CUDA).
        seed: seeds weights, data order, augmentation and dropout.
        num_workers: DataLoader worker processes.
        init_checkpoint: initialise from this file before training, keeping the tensors whose names
            and shapes match (the reference's ``--premodel``): this toolkit's fold checkpoints or a plain
            state dict; None: from ``seed``.
        init_checkpoint_sha256: that file's SHA-256, filled in when the config is made (the run's
            identity holds it, not the path).
        init_partial: accept an initial checkpoint that fills less than half of the model's values
            (otherwise an error: `model.train.MIN_INIT_SHARE`).
        threads: torch CPU threads (None: leave torch's default).
        keep_in_memory: keep decoded clips in memory after the first epoch (faster; costs the
            uint8 size of the selected clips).
        model_options, input_options, protocol_options: the chosen model's, its input kind's and the
            protocol's options dataclasses (a dict of their fields, or None for their defaults, is
            turned into one).
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
    optimistic_min_epoch: int | None = None
    input_size: int = 128
    source: str = "magnified"
    device: str = "cpu"
    amp: bool = True
    channels_last: bool = True
    seed: int = 0
    num_workers: int = 0
    init_checkpoint: str | None = None
    init_checkpoint_sha256: str | None = None
    init_partial: bool = False
    threads: int | None = None
    keep_in_memory: bool = True
    model_options: Any = None
    input_options: Any = None
    protocol_options: Any = None

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, what: str) -> None:
            require(ok, "TrainConfig", name, f"must be {what}", getattr(self, name))

        need(self.model in MODELS, "model", f"one of {MODELS.names()}")
        need(self.protocol in PROTOCOLS, "protocol", f"one of {PROTOCOLS.names()}")
        for name, cls in option_classes(self.model, self.protocol).items():
            object.__setattr__(self, name, options_from(cls, getattr(self, name), f"TrainConfig.{name}"))
        need(isinstance(self.epochs, int) and self.epochs >= 1, "epochs", "an integer >= 1")
        for name in ("lr", "momentum", "weight_decay", "lr_min"):
            need(
                isinstance(getattr(self, name), int | float) and getattr(self, name) >= 0,
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
        need(
            self.optimistic_min_epoch is None or self.optimistic_min_epoch >= 1,
            "optimistic_min_epoch",
            "None or an integer >= 1",
        )
        need(self.optimizer in OPTIMIZERS, "optimizer", f"one of {OPTIMIZERS}")
        need(isinstance(self.grouping, str) and bool(self.grouping), "grouping", "a grouping name")
        need(self.balance in BALANCES, "balance", f"one of {BALANCES}")
        least = MODELS[self.model].min_input_size
        need(
            isinstance(self.input_size, int) and self.input_size >= least,
            "input_size",
            f"an integer >= {least} (model {self.model})",
        )
        need(self.source in ("magnified", "raw"), "source", "'magnified' or 'raw'")
        need(
            self.device in ("cpu", "cuda", "auto") or self.device.startswith("cuda:"),
            "device",
            "'cpu', 'cuda', 'cuda:N' or 'auto'",
        )
        need(isinstance(self.seed, int), "seed", "an integer")
        need(isinstance(self.num_workers, int) and self.num_workers >= 0, "num_workers", "an integer >= 0")
        need(self.lr_schedule in LR_SCHEDULES, "lr_schedule", f"one of {LR_SCHEDULES}")
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
        """Plain dict of every field, the options nested (JSON-serialisable)."""
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def flat(self) -> dict[str, Any]:
        """Every setting by its option name: the shared fields and the chosen options' fields."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NESTED_FIELDS}
        for name in _NESTED_FIELDS:
            options = getattr(self, name)
            if options is not None:
                values.update(asdict(options))
        return values

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict as `to_dict` writes it, rejecting unknown keys (a ValueError naming them)."""
        return from_dict(cls, values, "TrainConfig")

    @classmethod
    def from_flat(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from option names (``{"epochs": 3, "width": 16, "max_frames": 8}``): each goes to the
        shared field or the chosen model's, input's or protocol's options that has it; an option only
        other entries read is left out (it does not change this run); one nobody reads is a ValueError
        listing the known ones."""
        shared = {f.name for f in fields(cls)} - set(_NESTED_FIELDS)
        unknown = sorted(set(values) - shared - set(option_names()))
        if unknown:
            known = sorted(shared | set(option_names()))
            raise ValueError(f"TrainConfig: unknown parameter(s) {unknown}; known: {', '.join(known)}")
        kwargs = {k: v for k, v in values.items() if k in shared}
        model, protocol = kwargs.get("model", cls.model), kwargs.get("protocol", cls.protocol)
        if model in MODELS and protocol in PROTOCOLS:  # else the constructor names the unknown one
            for name, options in option_classes(model, protocol).items():
                names = [f.name for f in fields(options)] if options is not None else []
                kwargs[name] = {k: values[k] for k in names if k in values}
        return cls(**kwargs)


_NESTED_FIELDS = tuple(name for name, _ in NESTED)


def option_classes(model: str, protocol: str) -> dict[str, type | None]:
    """``{nested field: its options class}`` of a registered ``model`` (and its input kind) and
    ``protocol``."""
    spec = MODELS[model]
    return {
        "model_options": spec.options,
        "input_options": INPUTS[spec.input].options,
        "protocol_options": PROTOCOLS[protocol].options,
    }


def option_names() -> dict[str, type]:
    """Every option of every registered model, input kind and protocol: ``{name: options class}``
    (the first that declares it)."""
    names: dict[str, type] = {}
    for registry in (MODELS, INPUTS, PROTOCOLS):
        for entry in registry.values():
            if entry.options is not None:
                for f in fields(entry.options):
                    names.setdefault(f.name, entry.options)
    return names
