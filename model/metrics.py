"""Evaluation metrics over pooled LOSO predictions.

UF1 and UAR follow the micro-expression convention (MEGC): per-class F1 / recall from the pooled
confusion matrix, averaged over the classes that occur in the ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def classification_metrics(labels: Sequence[int], preds: Sequence[int], num_classes: int) -> dict:
    """Accuracy, UF1 (macro F1), UAR (macro recall) and the confusion matrix.

    Args:
        labels, preds: class indices of the same length (>= 1).
        num_classes: size of the confusion matrix (rows: true class, columns: predicted class).

    Returns:
        ``{"accuracy", "uf1", "uar", "n_samples", "confusion" (list of lists), "per_class": {"f1",
        "recall"} lists}``; classes absent from ``labels`` get NaN per-class values and are left out
        of the averages.
    """
    labels = np.asarray(labels, dtype=int)
    preds = np.asarray(preds, dtype=int)
    if labels.shape != preds.shape or labels.ndim != 1 or len(labels) == 0:
        raise ValueError(
            f"labels/preds: expected two equal-length 1-D sequences, got {labels.shape}, {preds.shape}"
        )
    from sklearn.metrics import confusion_matrix  # here: importing sklearn adds 1.5 s to every command

    cm = confusion_matrix(labels, preds, labels=np.arange(num_classes))
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    present = support > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, tp / support, np.nan)
        denom = support + predicted
        f1 = np.where(present, np.where(denom > 0, 2 * tp / denom, 0.0), np.nan)
    return {
        "accuracy": float(tp.sum() / len(labels)),
        "uf1": float(np.nanmean(f1)),
        "uar": float(np.nanmean(recall)),
        "n_samples": len(labels),
        "confusion": cm.tolist(),
        "per_class": {"f1": _nan_to_none(f1), "recall": _nan_to_none(recall)},
    }


def per_subject_table(
    subjects: Sequence[str], labels: Sequence[int], preds: Sequence[int], num_classes: int
) -> dict:
    """``{subject: {"n", "accuracy", "uf1", "uar"}}`` computed on each subject's own predictions."""
    subjects = np.asarray(subjects)
    labels = np.asarray(labels)
    preds = np.asarray(preds)
    table = {}
    for subject in sorted(set(subjects.tolist())):
        rows = subjects == subject
        m = classification_metrics(labels[rows], preds[rows], num_classes)
        table[subject] = {key: m[key] for key in ("accuracy", "uf1", "uar")} | {"n": int(rows.sum())}
    return table


def part_scores(parts: Sequence[str], labels: Sequence[int], preds: Sequence[int], num_classes: int) -> dict:
    """``{part: {"n", "accuracy", "uf1", "uar"}}`` of a composite's pooled predictions, each part's scores
    from its own rows (MEGC2019 reports the composite and each dataset from the same predictions); ``{}``
    when every clip is of one dataset."""
    if len(set(parts)) < 2:
        return {}
    out = {}
    for part in sorted(set(parts)):
        rows = [i for i, p in enumerate(parts) if p == part]
        s = classification_metrics([labels[i] for i in rows], [preds[i] for i in rows], num_classes)
        out[part] = {"n": len(rows), "accuracy": s["accuracy"], "uf1": s["uf1"], "uar": s["uar"]}
    return out


def apex_localisation(scores: Sequence[Sequence[float]], apex: Sequence[int]) -> dict:
    """Distance in frames between each clip's highest-b_t frame and its annotated apex.

    Clips with an unknown apex (-1) are skipped. Returns ``{"n", "mean_abs", "median_abs",
    "within_1", "within_3", "errors"}`` (fractions for ``within_k``; None values when ``n`` is 0).
    Indices count the frames the model saw (after any ``max_frames`` subsampling).
    """
    errors = [int(np.argmax(s)) - int(a) for s, a in zip(scores, apex) if int(a) >= 0 and len(s) > 0]
    if not errors:
        return {
            "n": 0,
            "mean_abs": None,
            "median_abs": None,
            "within_1": None,
            "within_3": None,
            "errors": [],
        }
    absolute = np.abs(errors)
    return {
        "n": len(errors),
        "mean_abs": float(absolute.mean()),
        "median_abs": float(np.median(absolute)),
        "within_1": float((absolute <= 1).mean()),
        "within_3": float((absolute <= 3).mean()),
        "errors": errors,
    }


def _nan_to_none(values: np.ndarray) -> list:
    return [None if np.isnan(v) else float(v) for v in values]
