import json

import pandas as pd
import pytest

from model.config import TrainConfig
from model.loso import aggregate, fold_name, run_loso, train_fold
from model.train import load_checkpoint

QUICK = dict(epochs=5, lr=0.01, lr_period=10.0, batch_size=2, input_size=64, width=16, seed=0)


def test_loso_learns_separable_classes(blob_cache, tmp_path):
    cfg = TrainConfig.from_flat(dict(**QUICK))
    metrics = run_loso(blob_cache, cfg, tmp_path / "run")
    # two balanced classes: chance UF1 is about 0.5
    assert metrics.uf1 >= 0.8, metrics
    assert metrics.n_samples == 24 and metrics.n_subjects == 3
    assert metrics.classes == ["top", "bottom"] and metrics.protocol == "fixed"
    assert metrics.config == cfg.to_dict()
    run = tmp_path / "run"
    for name in (
        "predictions.csv",
        "metrics.json",
        "confusion.png",
        "per_subject.png",
        "keyframes.png",
        "report.md",
    ):
        assert (run / name).stat().st_size > 0, name
    table = pd.read_csv(run / "predictions.csv")
    assert {"sample_id", "subject", "label", "pred", "score_top", "score_bottom"} <= set(table.columns)
    assert len(table) == 24 and set(table["subject"]) == {"sub00", "sub01", "sub02"}
    assert (table["pred"] == table[["score_top", "score_bottom"]].to_numpy().argmax(axis=1)).all()
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["uf1"] == pytest.approx(metrics.uf1)
    # each fold tested exactly its own subject and trained on the two others
    for subject in ("sub00", "sub01", "sub02"):
        fold = run / fold_name(subject)
        summary = json.loads((fold / "fold.json").read_text())
        assert (
            summary["n_test"] == 8 and summary["n_train"] == 16 and subject not in summary["train_subjects"]
        )
        assert set(pd.read_csv(fold / "predictions.csv")["subject"]) == {subject}
        assert load_checkpoint(fold / "checkpoint.pt")["epoch"] == 5
    # a finished fold is not retrained
    mtime = (run / fold_name("sub00") / "checkpoint.pt").stat().st_mtime_ns
    train_fold(blob_cache, "sub00", cfg, run / fold_name("sub00"))
    assert (run / fold_name("sub00") / "checkpoint.pt").stat().st_mtime_ns == mtime


def test_reference_optimistic_is_labelled(blob_cache, tmp_path):
    # optimistic_min_epoch None: from a quarter of the epochs on (at least epoch 1), here every epoch
    cfg = TrainConfig.from_flat(dict(**QUICK | {"epochs": 2, "protocol": "reference-optimistic"}))
    run = tmp_path / "opt"
    summary = train_fold(blob_cache, "sub01", cfg, run / fold_name("sub01"))
    accuracies = [r["test_accuracy"] for r in summary["history"]]
    assert summary["optimistic"] and summary["epoch"] == max(
        range(1, 3), key=lambda e: (accuracies[e - 1], e)
    )
    metrics = aggregate(run)
    assert metrics.protocol == "reference-optimistic" and metrics.optimistic
    assert "OPTIMISTIC" in (run / "report.md").read_text()
    assert metrics.accuracy == pytest.approx(max(accuracies))


def test_inner_val_never_uses_test_subject(blob_cache, tmp_path):
    cfg = TrainConfig.from_flat(
        dict(**QUICK | {"epochs": 2, "protocol": "inner-val", "inner_val_fraction": 0.5})
    )
    summary = train_fold(blob_cache, "sub02", cfg, tmp_path / "fold")
    val = summary["inner_val"]["val_subjects"]
    assert len(val) == 1 and val[0] in ("sub00", "sub01")
    assert 1 <= summary["epoch"] <= 2 and len(summary["inner_val"]["val_uf1"]) == 2
    assert load_checkpoint(tmp_path / "fold" / "checkpoint.pt")["epoch"] == summary["epoch"]


def test_unknown_subject_is_rejected(blob_cache, tmp_path):
    with pytest.raises(ValueError, match="sub99"):
        train_fold(blob_cache, "sub99", TrainConfig.from_flat(dict(**QUICK)), tmp_path / "x")


def test_fixed_and_optimistic_readings_recompute_from_the_saved_epoch_predictions(blob_cache, tmp_path):
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    from model.loso import optimistic_epoch

    cfg = TrainConfig.from_flat(dict(**QUICK | {"epochs": 4, "optimistic_min_epoch": 2}))
    metrics = run_loso(blob_cache, cfg, tmp_path / "run")
    labels, fixed, best = [], [], []
    for subject in ("sub00", "sub01", "sub02"):
        fold = tmp_path / "run" / fold_name(subject)
        saved = json.loads((fold / "epoch_predictions.json").read_text())
        history = json.loads((fold / "fold.json").read_text())["history"]
        assert len(saved["preds"]) == 4 and [r["epoch"] for r in history] == [1, 2, 3, 4]
        accuracy = [accuracy_score(saved["labels"], p) for p in saved["preds"]]  # the test subject, per epoch
        assert [r["test_accuracy"] for r in history] == pytest.approx(accuracy)
        epoch = max(
            range(2, 5), key=lambda e: (accuracy[e - 1], e)
        )  # the reference: best from epoch 2, latest
        assert (
            optimistic_epoch(accuracy, 2)
            == epoch
            == metrics.selection["reference-optimistic"]["fold_epochs"][subject]
        )
        labels += saved["labels"]
        fixed += saved["preds"][-1]
        best += saved["preds"][epoch - 1]
    for name, preds in (("fixed", fixed), ("reference-optimistic", best)):
        reading = metrics.selection[name]
        assert reading["accuracy"] == pytest.approx(accuracy_score(labels, preds))
        assert reading["uf1"] == pytest.approx(f1_score(labels, preds, average="macro"))
        assert reading["uar"] == pytest.approx(recall_score(labels, preds, average="macro"))
    assert metrics.selection["fixed"]["uf1"] == pytest.approx(metrics.uf1)  # protocol fixed: the headline
    assert metrics.selection["from_epoch"] == 2
    report = (tmp_path / "run" / "report.md").read_text()
    assert "| `reference-optimistic` (best epoch on the test subject from epoch 2, LEAKS) |" in report
