"""Batch norm with per-clip statistics, for a CNN that sees the frames of several clips at once.

The AKMNet reference trains one clip per forward pass, so in training mode its ResNet normalises each
clip's frames with that clip's own statistics and updates the running statistics once per clip. When
the frames of several clips go through the CNN together, :class:`ClipBatchNorm2d` reproduces that:
given the clip index of every frame, each clip is normalised with the mean and variance over its own
frames and spatial positions, and the running statistics end where one update per clip, in clip
order, would have left them. Without clip indices it is ordinary ``BatchNorm2d``; in eval mode with them each
clip is normalised with its own statistics (an evaluation that matches training).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def clip_statistics(x: Tensor, clips: Tensor, num_clips: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per-clip, per-channel mean and biased variance over frames and positions.

    Args:
        x: ``(N, C, H, W)`` frames of all clips.
        clips: ``(N,)`` int64 clip index of each frame, in ``[0, num_clips)``.
        num_clips: number of clips B (each must own at least one frame).

    Returns:
        ``mean (B, C)``, ``var (B, C)`` (biased, divided by the clip's value count) and ``count (B,)``
        (values per channel: frames x H x W). Differentiable in ``x``.
    """
    n, c, h, w = x.shape
    frames = torch.zeros(num_clips, dtype=x.dtype, device=x.device).index_add_(
        0, clips, torch.ones(n, dtype=x.dtype, device=x.device)
    )
    count = frames * (h * w)
    mean = x.new_zeros(num_clips, c).index_add(0, clips, x.sum(dim=(2, 3))) / count[:, None]
    centred = x - mean[clips][:, :, None, None]
    var = x.new_zeros(num_clips, c).index_add(0, clips, centred.square().sum(dim=(2, 3))) / count[:, None]
    return mean, var, count


def clip_batch_norm(
    x: Tensor, clips: Tensor, num_clips: int, weight: Tensor | None, bias: Tensor | None, eps: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Normalise each clip's frames with that clip's own statistics, then apply the affine map.

    ``x (N, C, H, W)``, ``clips (N,)`` -> ``y (N, C, H, W)`` (dtype of ``x``), plus the clip
    statistics ``mean (B, C)``, biased ``var (B, C)`` and ``count (B,)`` of :func:`clip_statistics`.
    Statistics are computed in float32 (or float64 for float64 input).
    """
    xs = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    mean, var, count = clip_statistics(xs, clips, num_clips)
    scale = torch.rsqrt(var + eps)  # (B, C)
    shift = -mean * scale
    if weight is not None:
        scale = scale * weight
        shift = shift * weight
    if bias is not None:
        shift = shift + bias
    y = xs * scale[clips][:, :, None, None] + shift[clips][:, :, None, None]
    return y.to(x.dtype), mean, var, count


def sequential_running_update(running: Tensor, stats: Tensor, momentum: float | None, tracked: int) -> Tensor:
    """Running statistic after one update per row of ``stats``, in row order, in closed form.

    With momentum ``m``: ``r_n = (1 - m)^n r_0 + sum_i m (1 - m)^(n - i) s_i`` (i = 1..n), which is
    ``n`` successive ``r <- (1 - m) r + m s_i``. With ``momentum=None`` (cumulative average, as torch
    does): ``r_n = (k r_0 + sum_i s_i) / (k + n)`` where ``k = tracked`` updates preceded.

    Args:
        running: ``(C,)`` current running value r_0.
        stats: ``(n, C)`` per-update statistics s_1..s_n.
        momentum: m in (0, 1], or None.
        tracked: number of earlier updates (``num_batches_tracked``), used when ``momentum`` is None.
    """
    n = len(stats)
    stats = stats.to(running.dtype)
    if momentum is None:
        return (tracked * running + stats.sum(dim=0)) / (tracked + n)
    keep = 1.0 - momentum
    powers = torch.arange(n - 1, -1, -1, dtype=running.dtype, device=running.device)
    factors = momentum * keep**powers  # m (1 - m)^(n - i)
    return keep**n * running + (factors[:, None] * stats).sum(dim=0)


class ClipBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` that, in training mode and given per-frame clip indices, uses per-clip statistics.

    ``forward(x (N, C, H, W), clips (N,) | None, num_clips=None)``: with ``clips`` and in training
    mode, each clip's frames are normalised with the clip's own mean and biased variance, and the
    running statistics get one momentum update per clip in clip order (unbiased variance, as torch),
    exactly as if the clips had been passed one at a time; ``num_batches_tracked`` grows by the
    number of clips. In eval mode with ``clips`` each clip is normalised with its own statistics and
    nothing is updated. Without ``clips`` (and for a single clip in training, where the two agree) it is
    ``BatchNorm2d``. Parameters and buffers are those of ``BatchNorm2d`` (same state-dict keys).
    """

    def forward(self, x: Tensor, clips: Tensor | None = None, num_clips: int | None = None) -> Tensor:
        if clips is not None and num_clips is None:
            num_clips = int(clips.max()) + 1
        if clips is None or (num_clips == 1 and self.training):
            return super().forward(x)  # one clip: its statistics are the batch's
        if x.ndim != 4:
            raise ValueError(f"ClipBatchNorm2d: expected (N, C, H, W) input, got {tuple(x.shape)}")
        if not self.training:  # eval with per-clip statistics (AKMNet eval_norm="clip"): nothing updated
            return clip_batch_norm(x, clips, num_clips, self.weight, self.bias, self.eps)[0]
        y, mean, var, count = clip_batch_norm(x, clips, num_clips, self.weight, self.bias, self.eps)
        if int(count.min()) < 2:
            raise ValueError(
                "ClipBatchNorm2d: expected more than 1 value per channel in every clip when training, "
                f"got {count.tolist()} (input {tuple(x.shape)})"
            )
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                unbiased = var * (count / (count - 1))[:, None]
                tracked = int(self.num_batches_tracked)
                self.running_mean.copy_(
                    sequential_running_update(self.running_mean, mean.detach(), self.momentum, tracked)
                )
                self.running_var.copy_(
                    sequential_running_update(self.running_var, unbiased.detach(), self.momentum, tracked)
                )
                self.num_batches_tracked.add_(num_clips)
        return y
