"""The order in which an epoch visits the training clips: shuffled, or class-balanced by oversampling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def balanced_order(labels: Sequence[int], seed: int, epoch: int) -> list[int]:
    """Indices into ``labels`` for one epoch in which every class present appears as often as the
    largest one, shuffled; a function of ``(labels, seed, epoch)`` only.

    Each class of ``n_c`` clips (largest class ``n_max``) contributes all its clips ``n_max // n_c``
    times plus ``n_max % n_c`` of them drawn without replacement, so clips of one class appear
    equally often up to one. Length: ``n_max * number of classes present``.
    """
    rng = np.random.default_rng([int(seed), int(epoch), 0xBA1A])
    labels = np.asarray(labels)
    if labels.size == 0:
        return []
    classes, counts = np.unique(labels, return_counts=True)
    most = int(counts.max())
    order = []
    for cls, count in zip(classes, counts):
        members = np.flatnonzero(labels == cls)
        whole, rest = divmod(most, int(count))
        order.append(np.tile(members, whole))
        order.append(rng.choice(members, size=rest, replace=False))
    return [int(i) for i in rng.permutation(np.concatenate(order))]
