"""The evaluation-protocol seam (`pipeline.registry.Registry`): how many epochs a fold trains, which
epoch's predictions of the test subject it reports, and what the report says about that.

A protocol is a :class:`ProtocolSpec` registered in :data:`PROTOCOLS`; ``folds(cache)`` names the folds
and their test subjects (one per subject: leave-one-subject-out; one per dataset of a composite:
``hold-out-dataset``); ``epochs(fold)`` may train
(``inner-val`` trains on part of the training subjects to choose the count) and returns the count and a
record stored in ``fold.json``; ``select(history, fold)`` picks the 1-based epoch whose test predictions
the fold reports. The built-in ones are below; another is one file ending in ``PROTOCOLS.register(...)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.metrics import classification_metrics
from pipeline.registry import Registry
from pipeline.validation import require


@dataclass
class FoldContext:
    """What a protocol sees of one fold: its configuration, the test subject, the training subjects,
    ``datasets(subjects=, exclude=, train=)`` (the model's input of any subjects), the class count,
    the torch device, the fold folder and its progress (`model.status.FoldProgress` or None)."""

    cfg: Any
    subject: str
    train_subjects: list[str]
    datasets: Callable[..., Any]
    num_classes: int
    device: Any
    out_dir: Path
    progress: Any = None
    history: list[dict] = field(default_factory=list)


def by_subject(info) -> dict[str, list[str]]:
    """Leave-one-subject-out: one fold per subject of cache ``info``, named after it."""
    return {subject: [subject] for subject in info.subjects}


def by_dataset(info) -> dict[str, list[str]]:
    """Hold-out-database: one fold per part of a composite cache ``info`` (``casme2``, ``samm``, ``smic``),
    testing every subject of that part after training on the others. A ValueError naming the cache when
    it holds fewer than two parts."""
    parts: dict[str, list[str]] = {}
    for clip in info.clips:
        if clip.subject not in parts.setdefault(clip.part, []):
            parts[clip.part].append(clip.subject)
    if len(parts) < 2:
        raise ValueError(
            f"{info.path}: protocol 'hold-out-dataset' needs a composite cache of >= 2 datasets; "
            f"this one holds {sorted(parts) or 'none'}"
        )
    return {part: sorted(subjects) for part, subjects in sorted(parts.items())}


def configured_epochs(fold: FoldContext) -> tuple[int, dict]:
    """Train ``cfg.epochs``; nothing to record."""
    return fold.cfg.epochs, {}


def last_epoch(history: list[dict], fold: FoldContext) -> int:
    """The last epoch trained (no test information used)."""
    return len(history)


@dataclass(frozen=True)
class ProtocolSpec:
    """One registered protocol.

    Attributes:
        name: what ``--protocol`` takes.
        note: what the report says of it (one sentence).
        options: its options dataclass, or None.
        epochs: ``epochs(fold) -> (epoch count, record for fold.json)``.
        select: ``select(history, fold) -> 1-based epoch`` whose test predictions the fold reports
            (``history[i]["test_accuracy"]`` is epoch i+1's accuracy on the test subject).
        optimistic: it reads the test subject to select, so its scores leak; every output says so.
        folds: ``folds(cache info) -> {fold name: [test subjects]}`` (default: one per subject).
        unit: what a fold holds out, for reports (``subject``, ``dataset``).
    """

    name: str
    note: str
    options: type | None = None
    epochs: Callable[[FoldContext], tuple[int, dict]] = configured_epochs
    select: Callable[[list[dict], FoldContext], int] = last_epoch
    optimistic: bool = False
    folds: Callable[[Any], dict[str, list[str]]] = by_subject
    unit: str = "subject"


PROTOCOLS: Registry[ProtocolSpec] = Registry("protocol")


def optimistic_from(epochs: int, optimistic_min_epoch: int | None) -> int:
    """The first epoch the optimistic selection considers: ``optimistic_min_epoch``, or a quarter of the
    ``epochs`` (the reference's 10 of 40), at least 1 and at most ``epochs``."""
    return min(optimistic_min_epoch or max(1, epochs // 4), epochs)


def optimistic_epoch(test_accuracy: list[float], first: int) -> int:
    """The reference's choice: the 1-based epoch with the best test accuracy from epoch ``first`` on
    (the latest of equals, as its ``>=`` update does; from the last epoch when a fold ran fewer than
    ``first``). It reads the test subject: optimistic."""
    first = min(first, len(test_accuracy))
    return max(range(first, len(test_accuracy) + 1), key=lambda e: (test_accuracy[e - 1], e))


def _best_test_epoch(history: list[dict], fold: FoldContext) -> int:
    first = optimistic_from(fold.cfg.epochs, fold.cfg.optimistic_min_epoch)
    return optimistic_epoch([r["test_accuracy"] for r in history], first)


@dataclass(frozen=True)
class InnerValOptions:
    """``inner_val_fraction``: share of the training subjects held out to choose the epoch count (at
    least one subject)."""

    inner_val_fraction: float = 0.2

    def __post_init__(self) -> None:
        ok = isinstance(self.inner_val_fraction, int | float) and 0 < self.inner_val_fraction < 1
        require(
            ok, "InnerValOptions", "inner_val_fraction", "must be a number in (0, 1)", self.inner_val_fraction
        )


def inner_split(
    subjects: list[str], fraction: float, seed: int, test_subject: str
) -> tuple[list[str], list[str]]:
    """Held-out validation subjects for ``inner-val``: a draw seeded by ``seed`` and the test subject."""
    if len(subjects) < 2:
        raise ValueError(f"protocol 'inner-val' needs >= 2 training subjects besides {test_subject!r}")
    n_val = min(len(subjects) - 1, max(1, round(fraction * len(subjects))))
    val = sorted(random.Random(f"{seed}-{test_subject}").sample(subjects, n_val))
    return [s for s in subjects if s not in val], val


def inner_val_epochs(fold: FoldContext) -> tuple[int, dict]:
    """The epoch count chosen on held-out training subjects (the earliest of the best validation UF1),
    and the record of that choice."""
    from model.train import build_model, predict, train_model

    cfg = fold.cfg
    fit_subjects, val_subjects = inner_split(
        fold.train_subjects, cfg.protocol_options.inner_val_fraction, cfg.seed, fold.subject
    )
    val_set = fold.datasets(subjects=val_subjects, train=False)

    def validate(epoch, model):
        p = predict(model, val_set, cfg, fold.device)
        return {"val_uf1": classification_metrics(p["labels"], p["preds"], fold.num_classes)["uf1"]}

    if fold.progress is not None:
        fold.progress.stage = "inner-val"
    history = train_model(
        build_model(fold.num_classes, cfg),
        fold.datasets(subjects=fit_subjects, train=True),
        cfg,
        checkpoint=fold.out_dir / "inner.pt",
        on_epoch=validate,
        tag=f"inner-val {fold.subject}",
        progress=fold.progress,
    )
    if fold.progress is not None:
        fold.progress.stage = "final"
    best = max(history, key=lambda r: (r["val_uf1"], -r["epoch"]))  # earliest of the best
    return best["epoch"], {"val_subjects": val_subjects, "val_uf1": [r["val_uf1"] for r in history]}


PROTOCOLS.register(
    ProtocolSpec(
        "fixed", "fixed number of epochs, last epoch evaluated (no test information used for model selection)"
    )
)
PROTOCOLS.register(
    ProtocolSpec(
        "inner-val",
        "epoch count chosen on held-out training subjects, then refit on all training subjects",
        options=InnerValOptions,
        epochs=inner_val_epochs,
    )
)
PROTOCOLS.register(
    ProtocolSpec(
        "reference-optimistic",
        "**OPTIMISTIC**: each fold reports its best epoch on the test subject, as the reference code does; "
        "these scores leak test information and overstate generalisation",
        select=_best_test_epoch,
        optimistic=True,
    )
)
PROTOCOLS.register(
    ProtocolSpec(
        "hold-out-dataset",
        "hold-out-database: each dataset of the composite is tested by a model trained on the others "
        "(fixed number of epochs, last epoch evaluated)",
        folds=by_dataset,
        unit="dataset",
    )
)
