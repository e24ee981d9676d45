"""Class-balanced epochs (the paper's oversampling)."""

from collections import Counter

from model.sampling import balanced_order

LABELS = [0] * 7 + [1] * 3 + [2] * 2 + [0]  # class 0: 8 clips, 1: 3, 2: 2


def test_every_class_as_often_as_the_largest():
    order = balanced_order(LABELS, seed=0, epoch=0)
    assert Counter(LABELS[i] for i in order) == {0: 8, 1: 8, 2: 8}
    visits = Counter(order)
    assert all(visits[i] == 1 for i, label in enumerate(LABELS) if label == 0)  # the largest: each once
    for cls, size in ((1, 3), (2, 2)):  # the others: each clip 8 // size or one more times
        counts = {visits[i] for i, label in enumerate(LABELS) if label == cls}
        assert (
            counts <= {8 // size, 8 // size + 1}
            and sum(visits[i] for i, lb in enumerate(LABELS) if lb == cls) == 8
        )


def test_same_seed_and_epoch_same_order_else_another():
    assert balanced_order(LABELS, 3, 5) == balanced_order(LABELS, 3, 5)
    assert balanced_order(LABELS, 3, 5) != balanced_order(LABELS, 3, 6)
    assert balanced_order(LABELS, 3, 5) != balanced_order(LABELS, 4, 5)


def test_balanced_input_is_a_permutation():
    labels = [0, 1, 2, 0, 1, 2]
    assert sorted(balanced_order(labels, 0, 0)) == list(range(6))
    assert balanced_order([], 0, 0) == []
