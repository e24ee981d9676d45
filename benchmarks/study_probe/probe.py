"""A linear probe of what a cache still holds: apex-minus-onset difference images, logistic regression, LOSO.

It needs no CNN training (seconds per cache), so it measures each preprocessing stage on its own: the
information about the class that survives alignment and magnification. It reads the generator's true
apex (``synthetic-truth.json``), so it is an oracle on the temporal side, not a recogniser.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from model.metrics import classification_metrics
from pipeline.datasets.regroup import grouped_cache
from pipeline.store import clip_key
from pipeline.synthetic import TRUTH_NAME


def difference_features(frames: np.ndarray, onset: int, apex: int, side: int = 16) -> np.ndarray:
    """``|frames[apex] - frames[onset]|`` of uint8 ``(T, H, W)`` frames, area-averaged to ``(side * side,)``."""
    diff = np.abs(frames[apex].astype(np.float32) - frames[onset].astype(np.float32))
    return cv2.resize(diff, (side, side), interpolation=cv2.INTER_AREA).ravel()


def probe_cache(
    h5_path: str | os.PathLike, data_dir: str | os.PathLike, side: int = 16, c: float = 1.0
) -> dict:
    """LOSO accuracy / UF1 / UAR of a logistic regression on :func:`difference_features`.

    The regularisation ``c`` is fixed (not chosen on any test subject); the apex is the generator's.
    """
    truth = {r["sample"]: r for r in json.loads((Path(data_dir) / TRUTH_NAME).read_text())["clips"]}
    info = grouped_cache(h5_path, "default")
    features, labels, groups = [], [], []
    with h5py.File(h5_path, "r") as f:
        for clip in info.clips:
            record = truth[clip.sample_id]
            apex = record["apex_frame"] - record["onset_frame"] + clip.onset
            frames = f["clips"][clip_key(clip.sample_id)]["frames"][()]
            features.append(difference_features(frames, clip.onset, apex, side))
            labels.append(clip.label)
            groups.append(clip.subject)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    preds = cross_val_predict(model, np.stack(features), labels, groups=groups, cv=LeaveOneGroupOut())
    metrics = classification_metrics(labels, preds, len(info.classes))
    return {f"probe_{key}": metrics[key] for key in ("uf1", "uar", "accuracy")}
