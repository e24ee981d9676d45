"""Adaptive key-frame mining (AKM): frame scores, binary key-frame mask, auxiliary losses.

Plain functions on padded batches. Shapes: ``B`` clips, ``T`` frames (padded), ``C`` channels;
``valid`` is a bool ``(B, T)`` mask of real (non-padded) frames. Every function gives padded
positions a zero value and no gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def valid_mask(lengths: Tensor, max_len: int) -> Tensor:
    """``lengths (B,)`` -> bool ``(B, max_len)``, True for the first ``lengths[i]`` positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def masked_mean(x: Tensor, valid: Tensor) -> Tensor:
    """Mean of ``x (B, T)`` over the valid positions of each row -> ``(B,)`` (0 for an empty row)."""
    count = valid.sum(dim=1).clamp(min=1)
    return (x * valid).sum(dim=1) / count


def frame_scores(pooled: Tensor, weights: Tensor, valid: Tensor) -> Tensor:
    """Frame relevance ``b_t``: cosine between each frame's feature and the weighted clip descriptor.

    pooled: ``(B, T, C)`` per-frame pooled features ``P_t``; weights: ``(B, T)`` frame weights ``a_t``.
    The clip descriptor is ``sum_t a_t P_t`` over valid frames. Returns ``(B, T)``, 0 at padding.
    """
    pooled = pooled * valid[..., None]
    descriptor = (pooled * weights[..., None]).sum(dim=1)  # (B, C)
    cos = (F.normalize(pooled, dim=2) * F.normalize(descriptor, dim=1)[:, None, :]).sum(dim=2)
    return cos * valid


class _Binarize(torch.autograd.Function):
    """``B_t = [b_t >= mean(b)]`` per clip; backward passes the gradient unchanged to ``b`` for clips
    whose mean score lies strictly between 0 and 1, and blocks it otherwise (the reference's rule)."""

    @staticmethod
    def forward(ctx, scores: Tensor, valid: Tensor) -> Tensor:
        mean = masked_mean(scores, valid)
        hard = (scores >= mean[:, None]) & valid
        # Rounding can put the mean above every score of a constant clip; keep its best frame.
        best = torch.where(valid, scores, torch.finfo(scores.dtype).min).argmax(dim=1)
        hard[torch.arange(len(scores), device=scores.device), best] = True
        gate = ((mean > 0) & (mean < 1))[:, None] & valid
        ctx.save_for_backward(gate)
        return hard.to(scores.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        (gate,) = ctx.saved_tensors
        return grad * gate, None


def binarize_keyframes(scores: Tensor, valid: Tensor) -> Tensor:
    """Key-frame mask ``(B, T)`` in {0, 1} (float), straight-through gradient as in :class:`_Binarize`."""
    return _Binarize.apply(scores, valid)


def separation_loss(scores: Tensor, valid: Tensor) -> Tensor:
    """``2 - (mean of b above its mean - mean of b below its mean)`` per clip -> ``(B,)``.

    Strict inequalities as in the reference. Where one side is empty (1 frame, or all scores equal) the
    reference divides by zero; here the empty side's mean is the clip mean, so the loss is 2.
    """
    mean = masked_mean(scores, valid)[:, None]
    above = valid & (scores > mean)
    below = valid & (scores < mean)
    mean_above = torch.where(above.any(dim=1), masked_mean(scores, above), mean[:, 0])
    mean_below = torch.where(below.any(dim=1), masked_mean(scores, below), mean[:, 0])
    return 2.0 - (mean_above - mean_below)


def count_loss(keymask: Tensor) -> Tensor:
    """``max(0, sum_t B_t - 1)`` per clip -> ``(B,)``: penalises selecting many key frames.

    Written ``(x + |x|) / 2`` so that its gradient is the reference's ``torch.max(0, x)``: 1 above
    zero, 0 below and 1/2 at exactly one key frame (a tie, where ``relu`` would give 0); one key frame
    is common, so this changes training."""
    excess = keymask.sum(dim=1) - 1.0
    return (excess + excess.abs()) / 2


def compact_indices(select: Tensor) -> tuple[Tensor, Tensor]:
    """Positions of the selected frames of each clip, in temporal order, left-aligned.

    select: bool ``(B, T)``. Returns ``index (B, K)`` with ``K = max count`` (rows padded with 0) and
    ``counts (B,)``.
    """
    t = select.shape[1]
    order = torch.arange(t, device=select.device).expand_as(select)
    key = torch.where(select, order, order + t)
    index = key.argsort(dim=1)
    counts = select.sum(dim=1)
    k = max(int(counts.max()), 1)
    index = index[:, :k]
    index = torch.where(torch.arange(k, device=select.device)[None, :] < counts[:, None], index, 0)
    return index, counts


def uniform_indices(lengths: Tensor, n: int) -> Tensor:
    """``n`` frame positions evenly spread over each clip (repeats when a clip is shorter): ``(B, n)``."""
    steps = torch.linspace(0.0, 1.0, n, device=lengths.device)[None, :]
    return torch.round(steps * (lengths[:, None] - 1).to(steps.dtype)).long()


def random_selection(keymask: Tensor, valid: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """As many frames as ``keymask`` selects in each clip, drawn uniformly at random among valid ones.

    keymask: ``(B, T)`` in {0, 1}. Returns bool ``(B, T)``.
    """
    noise = torch.rand(valid.shape, generator=generator, device=valid.device)
    noise = torch.where(valid, noise, 2.0)
    rank = noise.argsort(dim=1).argsort(dim=1)
    k = keymask.detach().sum(dim=1, keepdim=True)
    return (rank < k) & valid
