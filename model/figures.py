"""Figures of a LOSO run: confusion matrix, per-subject bars, key-frame curves (matplotlib, Agg)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from model.results import KeyframeClip  # noqa: E402
from pipeline.atomic import atomic_path  # noqa: E402


def _save(fig: plt.Figure, path: str | os.PathLike) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)


def plot_confusion(confusion: Sequence[Sequence[int]], classes: Sequence[str], path, title: str = "") -> None:
    """Row-normalised confusion matrix with counts in the cells."""
    cm = np.asarray(confusion, dtype=float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = 1.2 + 0.8 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(
                j, i, int(cm[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black"
            )
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of true class")
    _save(fig, path)


def plot_per_subject(per_subject: dict, path, title: str = "") -> None:
    """Accuracy and UF1 per LOSO subject (bars), with the clip count above each group."""
    subjects = list(per_subject)
    x = np.arange(len(subjects))
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(subjects) + 2), 3.2))
    ax.bar(x - 0.2, [per_subject[s]["accuracy"] for s in subjects], 0.4, label="accuracy")
    ax.bar(x + 0.2, [per_subject[s]["uf1"] for s in subjects], 0.4, label="UF1")
    for i, s in enumerate(subjects):
        ax.text(i, 1.02, str(per_subject[s]["n"]), ha="center", fontsize=7)
    ax.set_xticks(x, subjects, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score (n clips above)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, path)


def plot_keyframes(clips: Sequence[KeyframeClip], path, title: str = "") -> None:
    """b_t curve per clip, key frames (B_t = 1) marked, annotated onset / apex / offset as lines."""
    n = max(len(clips), 1)
    fig, axes = plt.subplots(n, 1, figsize=(7, 1.7 * n), squeeze=False)
    for ax, clip in zip(axes[:, 0], clips):
        b = np.asarray(clip.scores)
        t = np.arange(len(b))
        key = np.asarray(clip.keymask) > 0.5
        ax.plot(t, b, color="0.3", lw=1)
        ax.scatter(t[key], b[key], color="tab:red", s=14, zorder=3, label="key frames")
        ax.axhline(b.mean(), color="0.6", ls=":", lw=0.8)
        for name, color in (("onset", "tab:green"), ("apex", "tab:orange"), ("offset", "tab:blue")):
            if getattr(clip, name) >= 0:
                ax.axvline(getattr(clip, name), color=color, ls="--", lw=1, label=name)
        ax.set_title(f"{clip.sample_id}  true {clip.label_name}, predicted {clip.pred_name}", fontsize=8)
        ax.set_ylabel("b_t", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes[0, 0].legend(fontsize=6, ncol=4, loc="lower right")
    axes[-1, 0].set_xlabel("frame")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)


#: training-curve panels: history key -> axis label
CURVES = {
    "loss_ce": "cross-entropy",
    "loss_separation": "separation loss",
    "loss_count": "count loss",
    "key_frames": "key frames per clip",
    "lr": "learning rate",
}


def plot_training_curves(histories: dict[str, list[dict]], path, title: str = "") -> None:
    """Per-epoch training curves of every fold (thin lines) and their mean (thick): one panel per
    :data:`CURVES` key the histories hold. ``histories``: fold name -> ``fit`` history."""
    keys = [k for k in CURVES if any(k in r for h in histories.values() for r in h)]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        rows = [[r.get(key, np.nan) for r in h] for h in histories.values()]
        for fold_rows in rows:
            ax.plot(range(1, len(fold_rows) + 1), fold_rows, color="0.7", lw=0.8)
        longest = max(len(r) for r in rows)
        mean = np.nanmean([r + [np.nan] * (longest - len(r)) for r in rows], axis=0)
        ax.plot(range(1, longest + 1), mean, color="C0", lw=2)
        ax.set_xlabel("epoch")
        ax.set_title(CURVES[key], fontsize=9)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        if key == "lr" and np.nanmax(mean) > 0:  # a model fitted without a learning rate records 0
            ax.set_yscale("log")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)
