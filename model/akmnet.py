"""AKMNet: ResNet-18 per-frame features, adaptive key-frame mining, per-position bidirectional GRU.

Batched over variable-length clips: the real frames of every clip in the batch go through the CNN in
one call; frame weighting, key-frame selection and the GRU work on the padded batch through masks,
index tensors and packed sequences. There is no Python loop over frames or clips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from model import akm
from model.registry import ModelSpec, register_model
from model.resnet import resnet18
from pipeline.validation import ParamError, require

FIXED_VARIANTS = ("akm", "all", "random", "apex", "max-key")
BATCH_NORMS = ("clip", "batch")
EVAL_NORMS = ("running", "clip")
#: the variants whose selection depends on the binary key-frame mask, which the AKM losses train
KEY_FRAME_VARIANTS = ("akm", "max-key")
GRID = 4  # the GRU runs on at most GRID x GRID positions: the 4x4 map of a 128 input (larger maps pooled)


def feature_side(input_size: int) -> int:
    """Side of the ResNet's last feature map for ``input_size`` frames: five stride-2 stages, each
    ``ceil(n / 2)`` (64 -> 2, 96 -> 3, 128 -> 4)."""
    side = input_size
    for _ in range(5):
        side = -(-side // 2)
    return side


def grid_side(input_size: int) -> int:
    """Positions per side the GRU runs on: the feature map's own, at most :data:`GRID` (pooled down to
    it for larger inputs, never upsampled: every position is a real one)."""
    return min(GRID, feature_side(input_size))


def check_variant(variant: str) -> str:
    """Return ``variant`` if it names a known frame-selection variant, else raise ValueError."""
    if variant in FIXED_VARIANTS or re.fullmatch(r"uniform-[1-9][0-9]*", variant):
        return variant
    raise ValueError(f"variant: expected one of {FIXED_VARIANTS} or 'uniform-N' (N >= 1), got {variant!r}")


def check_batch_norm(batch_norm: str) -> str:
    """Return ``batch_norm`` if it is one of :data:`BATCH_NORMS`, else raise ValueError."""
    if batch_norm in BATCH_NORMS:
        return batch_norm
    raise ValueError(f"batch_norm: expected one of {BATCH_NORMS}, got {batch_norm!r}")


class AKMNet(nn.Module):
    """AKMNet classifier.

    Args:
        num_classes: output classes.
        variant: frame selection fed to the GRU: ``akm`` (key frames, b_t >= mean), ``all`` (every
            frame), ``random`` (as many random frames as AKM selects), ``uniform-N`` (N evenly spread
            frames), ``apex`` (the annotated apex frame only; middle frame when unknown), ``max-key``
            (the single highest-b frame).
        hidden: GRU hidden size per direction (32 in the paper).
        dropout: dropout before the classifier (0.5 in the paper).
        width: ResNet base width (64 in the paper; smaller values give a lighter model for quick runs).
        batch_norm: training-mode batch-norm statistics in the CNN: ``clip`` (each clip's frames with
            that clip's own statistics, one running-statistics update per clip: the same model as the
            reference's one-clip-per-forward training) or ``batch`` (over all frames of the batch).
        eval_norm: eval-mode batch norm: ``running`` (the running statistics, as the reference) or
            ``clip`` (each clip normalised with its own statistics, as in training; nothing updated).
        input_size: frame side the model is built for; sets the GRU's grid (:func:`grid_side`).

    Initialisation follows the reference: convolutions Kaiming-normal (fan-out), batch norms 1/0,
    linear layers Xavier-normal with zero bias, the GRU's forward-direction weights orthogonal and
    biases uniform in [0, 1); the reverse direction keeps PyTorch's default (the reference
    initialises only the forward direction).
    """

    def __init__(
        self,
        num_classes: int,
        variant: str = "akm",
        hidden: int = 32,
        dropout: float = 0.5,
        width: int = 64,
        batch_norm: str = "clip",
        eval_norm: str = "running",
        input_size: int = 128,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.variant = check_variant(variant)
        self.batch_norm = check_batch_norm(batch_norm)
        if eval_norm not in EVAL_NORMS:
            raise ValueError(f"eval_norm: expected one of {EVAL_NORMS}, got {eval_norm!r}")
        self.eval_norm = eval_norm
        self.grid = grid_side(input_size)
        self.cnn = resnet18(in_channels=1, width=width)
        channels = self.cnn.out_channels
        self.alpha = nn.Linear(channels, 1)
        self.gru = nn.GRU(channels, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.grid * self.grid * 2 * hidden, num_classes)
        for linear in (self.alpha, self.fc):
            nn.init.xavier_normal_(linear.weight)
            nn.init.zeros_(linear.bias)
        for name, param in self.gru.named_parameters():
            if name.endswith("_reverse"):
                continue  # left at PyTorch's default, as in the reference
            if name.startswith("weight"):
                nn.init.orthogonal_(param)
            else:
                nn.init.uniform_(param)

    @property
    def uses_key_frames(self) -> bool:
        """Whether the selection depends on the binary key-frame mask (and the AKM losses train it)."""
        return self.variant in KEY_FRAME_VARIANTS

    def forward(self, frames: Tensor, lengths: Tensor, apex: Tensor | None = None) -> dict[str, Tensor]:
        """Classify a padded batch of clips.

        Args:
            frames: ``(B, T, 1, S, S)`` float, zero-padded after each clip's length; ``S >= 64``.
            lengths: ``(B,)`` int, number of real frames per clip (>= 1).
            apex: ``(B,)`` int apex index per clip (-1 unknown); used by the ``apex`` variant only.

        Returns:
            dict with ``logits (B, C)``, ``scores (B, T)`` (b_t), ``keymask (B, T)`` (B_t, 0/1),
            ``weights (B, T)`` (a_t), ``selected (B, T)`` (frames fed to the GRU, 0/1); padding is 0.
        """
        b, t = frames.shape[:2]
        if frames.ndim != 5 or frames.shape[2] != 1:
            raise ValueError(f"frames: expected (B, T, 1, S, S), got {tuple(frames.shape)}")
        lengths = lengths.to(frames.device)
        if len(lengths) != b or int(lengths.min()) < 1 or int(lengths.max()) > t:
            raise ValueError(f"lengths: expected {b} values in [1, {t}], got {lengths.tolist()}")
        valid = akm.valid_mask(lengths, t)

        x = frames[valid]  # (N, 1, S, S): the real frames only
        if self.cnn.layer1[0].conv1.weight.is_contiguous(memory_format=torch.channels_last):
            x = x.contiguous(memory_format=torch.channels_last)  # the model was moved to channels_last
        clips = None
        if (self.batch_norm == "clip" and self.training) or (self.eval_norm == "clip" and not self.training):
            clips = torch.arange(b, device=frames.device).repeat_interleave(lengths)  # (N,), as frames[valid]
        maps = self.cnn(x, clips, b)  # (N, 512, h, w)
        maps = maps.float()
        pooled = maps.mean(dim=(2, 3))  # (N, 512)
        grid = F.adaptive_avg_pool2d(maps, self.grid) if maps.shape[-1] != self.grid else maps

        pooled_pad = pooled.new_zeros(b, t, pooled.shape[1])
        pooled_pad[valid] = pooled
        weights = torch.sigmoid(self.alpha(pooled_pad)).squeeze(2) * valid
        scores = akm.frame_scores(pooled_pad, weights, valid)
        keymask = akm.binarize_keyframes(scores, valid)

        index, counts, gate = self._select(scores, keymask, valid, lengths, apex)
        rows = torch.arange(b, device=frames.device)[:, None]
        steps = torch.arange(index.shape[1], device=frames.device)[None, :] < counts[:, None]  # (B, K)
        selected = scores.new_zeros(b, t).scatter_add_(1, index, steps.to(scores.dtype)).clamp_(max=1.0)

        grid_pad = grid.new_zeros(b, t, *grid.shape[1:])
        grid_pad[valid] = grid
        seq = grid_pad[rows, index] * gate[rows, index][..., None, None, None]  # (B, K, 512, G, G)
        logits = self._classify(seq, counts)
        return {
            "logits": logits,
            "scores": scores,
            "keymask": keymask,
            "weights": weights,
            "selected": selected,
        }

    def _select(
        self, scores: Tensor, keymask: Tensor, valid: Tensor, lengths: Tensor, apex: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Frames fed to the GRU: ``index (B, K)``, ``counts (B,)`` and a ``gate (B, T)`` multiplied
        into the chosen frames' maps (the key-frame mask for ``akm``: its gradient trains b_t)."""
        b = len(scores)
        ones = torch.ones_like(scores)
        if self.variant == "akm":
            index, counts = akm.compact_indices(keymask > 0.5)
            return index, counts, keymask
        if self.variant == "all":
            index, counts = akm.compact_indices(valid)
            return index, counts, ones
        if self.variant == "random":
            index, counts = akm.compact_indices(akm.random_selection(keymask, valid))
            return index, counts, ones
        if self.variant.startswith("uniform-"):
            n = int(self.variant.split("-")[1])
            return akm.uniform_indices(lengths, n), torch.full_like(lengths, n), ones
        if self.variant == "max-key":
            best = torch.where(valid, scores, -torch.inf).argmax(dim=1)
            return best[:, None], torch.ones_like(lengths), keymask
        # apex
        if apex is None:
            apex = torch.full_like(lengths, -1)
        apex = apex.to(lengths.device)
        known = (apex >= 0) & (apex < lengths)
        index = torch.where(known, apex, (lengths - 1) // 2)
        return index[:, None], torch.ones(b, dtype=lengths.dtype, device=lengths.device), ones

    def _classify(self, seq: Tensor, counts: Tensor) -> Tensor:
        """``seq (B, K, C, G, G)`` with ``counts (B,)`` valid steps -> logits ``(B, num_classes)``.

        Each of the G*G positions is a sequence of C-dim features through the bidirectional GRU; the
        outputs are averaged over the valid steps and the positions concatenated (G*G*2*hidden).
        """
        b, k, c = seq.shape[:3]
        cells = self.grid * self.grid
        seq = seq.permute(0, 3, 4, 1, 2).reshape(b * cells, k, c)
        steps = counts.repeat_interleave(cells)
        packed = pack_padded_sequence(seq, steps.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=k)  # zeros after each length
        out = out.sum(dim=1) / steps[:, None].to(out.dtype)
        return self.fc(self.dropout(out.reshape(b, -1)))


@dataclass(frozen=True)
class AKMNetOptions:
    """What only AKMNet reads (see `AKMNet`'s arguments); the defaults are the reference's.

    Attributes:
        variant, hidden, dropout, width, batch_norm, eval_norm: `AKMNet`'s arguments.
        loss_separation, loss_count: weights of the b_t separation and key-frame count losses (1, 0.1),
            added for the variants that train the key-frame mask (:data:`KEY_FRAME_VARIANTS`).
    """

    variant: str = "akm"
    hidden: int = 32
    dropout: float = 0.5
    width: int = 64
    batch_norm: str = "clip"
    eval_norm: str = "running"
    loss_separation: float = 1.0
    loss_count: float = 0.1

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, what: str) -> None:
            require(ok, "AKMNetOptions", name, f"must be {what}", getattr(self, name))

        try:
            check_variant(self.variant)
        except ValueError as err:
            rule = f"must be one of {FIXED_VARIANTS} or 'uniform-N' (N >= 1)"
            raise ParamError("AKMNetOptions", "variant", rule, self.variant) from err
        need(isinstance(self.hidden, int) and self.hidden >= 1, "hidden", "an integer >= 1")
        need(0 <= self.dropout < 1, "dropout", "a number in [0, 1)")
        need(isinstance(self.width, int) and self.width >= 1, "width", "an integer >= 1")
        need(self.batch_norm in BATCH_NORMS, "batch_norm", f"one of {BATCH_NORMS}")
        need(self.eval_norm in EVAL_NORMS, "eval_norm", f"one of {EVAL_NORMS}")
        for name in ("loss_separation", "loss_count"):
            need(
                isinstance(getattr(self, name), int | float) and getattr(self, name) >= 0,
                name,
                "a number >= 0",
            )


def key_frame_loss(ce: Tensor, out: dict[str, Tensor], lengths: Tensor, options: AKMNetOptions):
    """Per-clip loss ``(B,)``: ``ce`` plus, for the key-frame variants, ``loss_separation * (2 - gap of
    b_t)`` and ``loss_count * max(0, sum B_t - 1)``; the parts' batch sums (and the key frames')."""
    parts = {"key_frames": float(out["keymask"].detach().sum())}
    if options.variant not in KEY_FRAME_VARIANTS:
        return ce, parts
    valid = akm.valid_mask(lengths, out["scores"].shape[1])
    sep = akm.separation_loss(out["scores"], valid)
    count = akm.count_loss(out["keymask"])
    total = ce + options.loss_separation * sep + options.loss_count * count
    return total, {"separation": float(sep.detach().sum()), "count": float(count.detach().sum()), **parts}


def _make(num_classes: int, options: AKMNetOptions, input_size: int) -> AKMNet:
    keep = ("variant", "hidden", "dropout", "width", "batch_norm", "eval_norm")
    return AKMNet(num_classes, input_size=input_size, **{k: getattr(options, k) for k in keep})


register_model(
    ModelSpec(
        name="akmnet",
        input="clip",
        options=AKMNetOptions,
        make=_make,
        min_input_size=64,
        frame_scores=True,
        loss=key_frame_loss,
        description="AKMNet: ResNet-18 per frame, adaptive key-frame mining, bidirectional GRU",
    )
)
