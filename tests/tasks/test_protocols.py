"""Evaluation protocols through the installed ``luigi``: hold-out-dataset folds on a composite, and a
composite's per-dataset scores equal to sklearn's on each dataset's rows."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.metrics import f1_score, recall_score

from model.protocols import by_dataset, by_subject
from pipeline.store import open_cache
from tests.model.conftest import write_blob_cache
from tests.tasks.test_cli import REFUSED, TINY_TRAIN, luigi, output

PARTS = ("casme2", "samm", "smic")


def test_fold_plans(tmp_path):
    composite, single = tmp_path / "composite.h5", tmp_path / "single.h5"
    write_blob_cache(composite, subjects=6, per_subject=2, size=64, parts=PARTS)
    write_blob_cache(single, subjects=2, per_subject=2, size=64)
    info = open_cache(composite)
    assert by_dataset(info) == {p: [f"{p}-sub{s:02d}" for s in range(6) if PARTS[s % 3] == p] for p in PARTS}
    assert by_subject(info) == {s: [s] for s in info.subjects}
    with pytest.raises(
        ValueError, match=r"needs a composite cache of >= 2 datasets; this one holds \['blobs'\]"
    ):
        by_dataset(open_cache(single))


def test_hold_out_dataset_runs_one_fold_per_dataset_and_scores_each(tmp_path):
    cache, work = tmp_path / "composite.h5", tmp_path / "work"
    write_blob_cache(cache, subjects=6, per_subject=4, size=64, parts=PARTS)
    result = luigi("TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--protocol", "hold-out-dataset",
                   *TINY_TRAIN, "--width", "4", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    (metrics_path,) = (work / "runs").glob("*/metrics.json")
    run = metrics_path.parent
    assert sorted(p.name for p in run.glob("fold-*")) == [f"fold-{p}" for p in PARTS]
    fold = json.loads((run / "fold-samm" / "fold.json").read_text())
    assert fold["test_subjects"] == ["samm-sub01", "samm-sub04"]
    assert not set(fold["train_subjects"]) & set(fold["test_subjects"]) and len(fold["train_subjects"]) == 4
    metrics = json.loads(metrics_path.read_text())
    assert metrics["protocol"] == "hold-out-dataset" and set(metrics["fold_epochs"]) == set(PARTS)
    pooled = pd.read_csv(run / "predictions.csv")
    assert list(pooled.columns[:3]) == ["sample_id", "dataset", "subject"] and len(pooled) == 24
    for part in PARTS:
        rows = pooled[pooled["dataset"] == part]
        got = metrics["parts"][part]
        assert got["n"] == len(rows) == 8
        assert got["accuracy"] == pytest.approx((rows["label"] == rows["pred"]).mean())
        assert got["uf1"] == pytest.approx(
            f1_score(rows["label"], rows["pred"], average="macro", labels=[0, 1])
        )
        assert got["uar"] == pytest.approx(
            recall_score(rows["label"], rows["pred"], average="macro", labels=[0, 1])
        )
    report = (run / "report.md").read_text()
    assert "## Per dataset" in report and "| samm | 8 |" in report


def test_hold_out_dataset_refuses_a_single_dataset(tmp_path):
    cache = tmp_path / "single.h5"
    write_blob_cache(cache, subjects=2, per_subject=2, size=64)
    result = luigi("TrainLOSO", "--hdf5", str(cache), "--workdir", str(tmp_path / "work"),
                   "--protocol", "hold-out-dataset", *TINY_TRAIN, cwd=tmp_path)  # fmt: skip
    assert result.returncode == REFUSED and "--protocol hold-out-dataset" in output(result)
    assert "needs a composite cache" in output(result)
