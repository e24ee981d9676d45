import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from model.metrics import apex_localisation, classification_metrics, per_subject_table


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, 60)
    preds = np.where(rng.random(60) < 0.6, labels, rng.integers(0, 4, 60))
    m = classification_metrics(labels, preds, 4)
    assert m["accuracy"] == pytest.approx(accuracy_score(labels, preds))
    assert m["uf1"] == pytest.approx(f1_score(labels, preds, average="macro"))
    assert m["uar"] == pytest.approx(recall_score(labels, preds, average="macro"))
    assert np.asarray(m["confusion"]).sum() == 60


def test_absent_class_left_out_of_averages():
    labels = [0, 0, 1, 1]
    preds = [0, 1, 1, 1]
    m = classification_metrics(labels, preds, 3)  # class 2 never occurs
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert m["uf1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert m["uar"] == pytest.approx(0.75)
    assert m["per_class"]["f1"][2] is None


def test_per_subject_and_apex():
    table = per_subject_table(["a", "a", "b"], [0, 1, 1], [0, 0, 1], 2)
    assert table["a"]["accuracy"] == 0.5 and table["a"]["n"] == 2 and table["b"]["accuracy"] == 1.0
    apex = apex_localisation([[0.1, 0.9, 0.2], [0.5, 0.1], [0.3, 0.2, 0.1, 0.8]], [1, -1, 0])
    assert apex["n"] == 2 and apex["errors"] == [0, 3]
    assert apex["mean_abs"] == 1.5 and apex["within_1"] == 0.5 and apex["within_3"] == 1.0
