"""Class-balanced epochs (the paper's oversampling)."""

import dataclasses
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


def test_an_oversampled_epoch_visits_every_class_as_often_as_the_largest():
    import numpy as np
    import torch

    from model.config import TrainConfig
    from model.train import build_model, train_epoch
    from tests.model.conftest import TensorClips, blob_clip

    rng = np.random.default_rng(0)
    labels = [0, 0, 0, 0, 0, 1, 1]

    class Counting(TensorClips):
        seen: list[int] = []

        def __getitem__(self, i):
            self.seen.append(self.labels[i])
            return super().__getitem__(i)

    data = Counting([blob_clip(c, 3, 64, rng) for c in labels], labels)
    cfg = TrainConfig.from_flat(
        dict(balance="oversample", input_size=64, width=4, batch_size=2, channels_last=False)
    )
    model = build_model(2, cfg)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    for epoch in (0, 1):
        Counting.seen = []
        train_epoch(model, data, optimizer, cfg, epoch, torch.device("cpu"))
        assert Counter(Counting.seen) == {0: 5, 1: 5}
    Counting.seen = []
    train_epoch(model, data, optimizer, dataclasses.replace(cfg, balance="none"), 0, torch.device("cpu"))
    assert Counter(Counting.seen) == {0: 5, 1: 2}  # as they come
