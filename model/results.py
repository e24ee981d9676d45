"""Results passed between modules: ``RunMetrics`` (``metrics.json``) and ``KeyframeClip`` (one test
clip's b_t curve for the key-frame figure).

``model.loso.aggregate`` makes both; the run report (``model.report``), the cross-dataset summary
(``model.summary``), the figures (``model.figures``) and the study read them by field name, through
these definitions.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunMetrics:
    """Scores pooled over every fold, and what they were computed from.

    Attributes:
        accuracy, uf1, uar: pooled accuracy, macro-F1 and mean per-class recall.
        n_samples, n_subjects: test clips and folds pooled.
        classes: class names (index = label).
        per_subject: ``{subject: {"n", "accuracy", "uf1"}}``.
        protocol: ``fixed``, ``inner-val`` or ``reference-optimistic``; ``optimistic`` when the
            latter (test-selected epochs).
        confusion: ``(C, C)`` counts, rows = true class.
        per_class: ``{"f1": [...], "recall": [...]}`` (None where undefined).
        apex_localisation: highest-b_t frame against the annotated apex.
        fold_epochs: ``{fold: epoch evaluated}`` (a fold is a subject, or a dataset under
            ``hold-out-dataset``).
        selection: both readings of the same training (`model.loso.optimistic_scores`): ``fixed``
            (last epoch) and ``reference-optimistic`` (best epoch on the test subject from
            ``from_epoch`` on; leaks), each with pooled accuracy, uf1, uar and fold_epochs.
        grouping: the class grouping trained on; left_out: ``{emotion: clips}`` it left out.
        init: how the network was initialised (`model.train.describe_init`).
        dataset, cache, params_hash, content_hash, data_fingerprint: the cache trained on.
        config: the training configuration (``TrainConfig.to_dict()``).
        configuration: the configuration files the tasks used (None outside the tasks).
        parts: a composite's scores per dataset from the same pooled predictions,
            ``{part: {"n", "accuracy", "uf1", "uar"}}`` (`model.metrics.part_scores`); ``{}`` otherwise.
        fold_threads: ``{subject: torch CPU threads the fold trained with}`` (``--threads``: not part of
            the run's name; predicted scores may differ in their last digits between thread counts).
    """

    accuracy: float
    uf1: float
    uar: float
    n_samples: int
    n_subjects: int
    classes: list[str]
    per_subject: dict[str, dict[str, Any]]
    protocol: str
    optimistic: bool
    confusion: list[list[int]]
    per_class: dict[str, list]
    apex_localisation: dict[str, Any]
    fold_epochs: dict[str, int]
    selection: dict[str, Any]
    grouping: str
    left_out: dict[str, int]
    init: str
    dataset: str
    cache: str
    params_hash: str
    content_hash: str
    data_fingerprint: str
    config: dict[str, Any]
    configuration: list[str] | None = field(default=None)
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    fold_threads: dict[str, int | None] = field(default_factory=dict)

    @property
    def one_fit(self) -> bool:
        """Every fold trained one epoch (one fit, e.g. an SVM): the optimistic reading has nothing to
        pick and equals the fixed one."""
        return all(epoch == 1 for epoch in self.selection["fixed"]["fold_epochs"].values())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def write(self, path: str | os.PathLike) -> Path:
        """Write ``metrics.json`` atomically."""
        from pipeline.atomic import write_text

        return write_text(path, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def read(cls, path: str | os.PathLike) -> RunMetrics:
        """Read a ``metrics.json``; a missing or unknown field is an error naming the file."""
        values = json.loads(Path(path).read_text())
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"{path}: unknown fields {unknown} (not a metrics.json of this version?)")
        try:
            return cls(**values)
        except TypeError as err:
            raise ValueError(f"{path}: not a complete metrics.json ({err})") from err


@dataclass(frozen=True)
class KeyframeClip:
    """One test clip for the key-frame figure: its ``b_t`` scores, key-frame mask, annotation, labels.

    ``scores`` and ``keymask`` have one value per frame; ``onset``/``apex``/``offset`` are frame
    indices (-1: unknown).
    """

    sample_id: str
    scores: list[float]
    keymask: list[float]
    onset: int
    apex: int
    offset: int
    label_name: str
    pred_name: str
