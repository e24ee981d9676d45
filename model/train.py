"""Training loop, prediction and checkpoints, shared by every model of `model.models.MODELS`.

Batches are the dicts of :func:`pipeline.store.collate_clips` (``frames (B, T, 1, S, S)``, ``lengths``,
``labels``, ``apex``, ``onset``, ``offset``, ``sample_ids``, ``subjects``; a flow model's ``frames`` are
``(B, 3, S, S)`` flow images). Each epoch reseeds torch and
the data order from ``(seed, epoch)``, so a run resumed from a checkpoint continues exactly as an
uninterrupted one would on CPU.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import pickle
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from model.config import TrainConfig
from model.progress import EpochProgress
from model.registry import MODELS
from model.sampling import balanced_order
from pipeline.atomic import atomic_path
from pipeline.identity import canonical_json, train_identity

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "akmnet-checkpoint-1"
#: a pretrained frame CNN (`model.pretrain`): ``{"format", "model": state dict, "meta": plain values}``
PRETRAINED_FORMAT = "akmnet-pretrained-cnn-1"


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without a GPU, or a name other than ``cpu``,
    ``cuda``, ``cuda:N`` and ``auto`` -> ValueError."""
    if not (name in ("cpu", "cuda", "auto") or name.startswith("cuda:")):
        raise ValueError(f"device {name!r}: must be cpu, cuda, cuda:N or auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: CUDA is not available on this machine (valid: cpu, auto)")
    device = torch.device(name)
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(
            f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s) "
            f"(valid: cuda:0..cuda:{torch.cuda.device_count() - 1})"
        )
    return device


def use_threads(cfg: TrainConfig) -> None:
    """Set torch's CPU thread count to ``cfg.threads`` (when given). Call it before the model is built:
    a fold's numbers must not depend on what ran before it in the same process."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)


def learning_rate(epoch: int, cfg: TrainConfig) -> float:
    """Learning rate of 0-based training ``epoch``: ``lr_min + (lr - lr_min) * (1 + cos(pi * epoch /
    period)) / 2``; ``reference`` schedule: the reference's closed-form CosineAnnealingLR (``period`` =
    ``lr_period`` or epochs / 5, periodic past it); ``cosine``: ``period`` = epochs (one descent)."""
    period = cfg.epochs if cfg.lr_schedule == "cosine" else cfg.period
    return cfg.lr_min + (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * epoch / period)) / 2


def build_model(num_classes: int, cfg: TrainConfig) -> nn.Module:
    """The model ``cfg.model`` (`model.models.MODELS`) for ``cfg``, with weights drawn from ``cfg.seed``
    (or initialised from ``cfg.init_checkpoint``)."""
    torch.manual_seed(cfg.seed)
    model = MODELS[cfg.model].make(num_classes, cfg.model_options, cfg.input_size)
    if cfg.init_checkpoint is not None:
        initialise_from(model, cfg.init_checkpoint, partial=cfg.init_partial)
    return model


def read_state_dict(path: str | os.PathLike, option: str) -> dict[str, torch.Tensor]:
    """The tensors of ``path``: a plain state dict, or the ``model`` of this toolkit's fold or pretrained
    checkpoints, read with ``weights_only=True``; ``CheckpointError`` names the file and ``option``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: {option}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path}: {option}: not a readable PyTorch file of tensors ({type(err).__name__})"
        ) from None
    if isinstance(state, dict) and state.get("format") in (CHECKPOINT_FORMAT, PRETRAINED_FORMAT):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path}: {option}: neither a checkpoint of this toolkit nor a state dict of tensors"
        )
    return state


def load_matching(
    module: nn.Module, state: dict[str, torch.Tensor], path: str | os.PathLike, option: str
) -> tuple[list[str], list[str]]:
    """Copy into ``module`` the tensors of ``state`` whose names and shapes match; returns ``(loaded,
    kept)`` (``module``'s names; ``kept`` keep their values). None matching is a ``CheckpointError``."""
    own = module.state_dict()
    loaded = sorted(k for k, v in state.items() if k in own and own[k].shape == v.shape)
    if not loaded:
        raise CheckpointError(f"{path}: {option}: no tensor matches the model by name and shape")
    own.update({k: state[k] for k in loaded})
    module.load_state_dict(own)
    return loaded, sorted(set(own) - set(loaded))


#: the least share of a model's values an initial checkpoint must fill, unless a partial load is asked for
MIN_INIT_SHARE = 0.5


def initialise_from(model: nn.Module, path: str | os.PathLike, partial: bool = False) -> dict[str, list[str]]:
    """Copy into ``model`` the tensors of checkpoint ``path`` whose names and shapes match (the
    reference's ``--premodel``); the rest keep their initial values. ``path``: a fold checkpoint of
    this toolkit (its ``model``), a pretrained frame CNN (`model.pretrain`) or a plain state dict, read
    with ``weights_only=True``.

    Logs and returns ``{"loaded": [...], "kept": [...]}`` (the model's tensor names). Raises
    :class:`CheckpointError` naming the file when it cannot be read, nothing matches, or (unless
    ``partial``) the matching tensors hold less than :data:`MIN_INIT_SHARE` of the model's values
    (a checkpoint of another model or width), naming the counts.
    """
    state = read_state_dict(path, "--init-checkpoint")
    own = model.state_dict()
    matching = [k for k, v in state.items() if k in own and own[k].shape == v.shape]
    share = sum(own[k].numel() for k in matching) / max(1, sum(v.numel() for v in own.values()))
    if share < MIN_INIT_SHARE and not partial:
        others = sorted({k.split(".")[0] for k in state if k not in matching})
        raise CheckpointError(
            f"{path}: --init-checkpoint: only {len(matching)} of the model's {len(own)} tensors "
            f"({share:.0%} of its values) match by name and shape; the checkpoint's other tensors "
            f"({len(state) - len(matching)}, under {others[:6]}) are of another model or width. "
            f"--init-partial true loads the matching ones anyway"
        )
    loaded, kept = load_matching(model, state, path, "--init-checkpoint")
    log.info("initialised from %s: %d of %d tensors loaded; kept at their initial value: %s",
             path, len(loaded), len(own), kept or "none")  # fmt: skip
    return {"loaded": loaded, "kept": kept}


def describe_init(cfg: TrainConfig) -> str:
    """How ``cfg``'s network starts, for reports: ``from scratch (seed N)``, or the initial checkpoint's
    own description (a `model.pretrain` checkpoint says what it was pretrained on) with its SHA-256."""
    if cfg.init_checkpoint is None:
        return f"from scratch (seed {cfg.seed})"
    what = "a checkpoint"
    try:
        state = torch.load(cfg.init_checkpoint, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and state.get("format") == PRETRAINED_FORMAT:
            what = str(state["meta"].get("description", what))
    except Exception:  # initialise_from reports an unreadable file; this only describes it
        pass
    return f"{what} (`{Path(cfg.init_checkpoint).name}`, sha256 {str(cfg.init_checkpoint_sha256)[:12]})"


def prepare_model(model: nn.Module, cfg: TrainConfig, device: torch.device) -> nn.Module:
    """Move ``model`` to ``device`` and to channels-last memory format when ``cfg.channels_last``."""
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def train_model(model: nn.Module, dataset: Dataset, cfg: TrainConfig, **kwargs) -> list[dict]:
    """Train ``model`` as its registry entry says: `fit` (the shared loop), or the model's own
    trainer (`ModelSpec.fit`) with the same arguments (see `fit`)."""
    return (MODELS[cfg.model].fit or fit)(model, dataset, cfg, **kwargs)


def clip_losses(out: dict[str, Tensor], labels: Tensor, lengths: Tensor, cfg: TrainConfig, loss=None):
    """Per-clip loss ``(B,)``: cross-entropy, plus what the model adds (``loss``, by default
    `ModelSpec.loss` of ``cfg.model``: AKMNet's separation and count losses). Also returns the parts'
    batch sums."""
    ce = F.cross_entropy(out["logits"].float(), labels, reduction="none")
    total, parts = (loss or MODELS[cfg.model].loss)(ce, out, lengths, cfg.model_options)
    return total, {"ce": float(ce.detach().sum()), **parts}


def _autocast(device: torch.device, cfg: TrainConfig):
    if device.type == "cuda" and cfg.amp:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _to_device(batch: dict, device: torch.device) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    frames = batch["frames"].to(device, non_blocking=True)
    return frames, batch["lengths"].to(device), batch["labels"].to(device), batch["apex"].to(device)


def make_loader(
    dataset: Dataset, cfg: TrainConfig, *, shuffle: bool, epoch: int = 0, order: list[int] | None = None
) -> DataLoader:
    """DataLoader over ``dataset`` with :func:`pipeline.store.collate_clips` (or the dataset's own
    ``collate`` attribute); the shuffle order depends only on ``(cfg.seed, epoch)``; ``order``: visit
    these indices instead (e.g. `model.sampling.balanced_order`)."""
    collate = getattr(dataset, "collate", None)
    if collate is None:
        from pipeline.store import collate_clips as collate
    generator = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
    return DataLoader(
        dataset,
        batch_size=cfg.micro_batch,
        shuffle=shuffle and order is None,
        sampler=order,
        collate_fn=collate,
        num_workers=cfg.num_workers,
        generator=generator,
        persistent_workers=False,
    )


def optimizer_of(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """``cfg.optimizer`` over ``model``'s parameters: SGD (lr, momentum, weight decay) or Adam (lr,
    weight decay)."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )


def train_epoch(
    model: nn.Module,
    dataset: Dataset,
    optimizer: torch.optim.Optimizer,
    cfg: TrainConfig,
    epoch: int,
    device: torch.device,
    loss=None,
) -> dict[str, float]:
    """One epoch: groups of ``cfg.batch_size`` clips per optimiser step, ``cfg.micro_batch`` per forward.

    With ``cfg.balance == "oversample"`` the epoch visits `model.sampling.balanced_order` (every
    class as often as the largest) instead of a shuffle of the clips. The loss of a group is the mean of its clips' losses (a short last group averages over its own
    size, as in the reference). Returns the epoch's mean loss parts per clip (``loss_ce``, and for
    key-frame variants ``loss_separation``, ``loss_count``) and, for models with key-frame outputs,
    ``key_frames``, the mean number of key frames (B_t = 1) per clip.
    """
    model.train()
    torch.manual_seed(cfg.seed * 100_003 + epoch)
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)  # per-item augmentation seeds depend on (seed, epoch, index)
    order = balanced_order(dataset.labels, cfg.seed, epoch) if cfg.balance == "oversample" else None
    loader = make_loader(dataset, cfg, shuffle=True, epoch=epoch, order=order)
    n = len(dataset) if order is None else len(order)
    sums: dict[str, float] = {}
    seen = 0
    optimizer.zero_grad(set_to_none=True)
    for batch in loader:
        frames, lengths, labels, apex = _to_device(batch, device)
        group_start = seen - seen % cfg.batch_size
        group_size = min(cfg.batch_size, n - group_start)
        with _autocast(device, cfg):
            out = model(frames, lengths, apex)
        total, parts = clip_losses(out, labels, lengths, cfg, loss)
        (total.sum() / group_size).backward()
        seen += len(labels)
        if seen - group_start == group_size:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        for key, value in parts.items():
            sums[key] = sums.get(key, 0.0) + value
    return {
        key if key == "key_frames" else f"loss_{key}": value / max(seen, 1) for key, value in sums.items()
    }


@torch.inference_mode()
def predict(model: nn.Module, dataset: Dataset, cfg: TrainConfig, device: torch.device) -> dict[str, list]:
    """Eval-mode predictions for every clip of ``dataset``, in dataset order.

    Returns plain lists (JSON- and ``weights_only``-safe): ``sample_ids, subjects, labels, preds,
    probs`` (per class), ``lengths, onset, apex, offset`` and per-clip curves ``scores`` (b_t),
    ``keymask``, ``selected``, ``weights`` (a_t), each of the clip's length, for models that output
    them (empty lists otherwise).
    """
    model.eval()
    keys = ("sample_ids", "subjects", "labels", "preds", "probs", "lengths", "onset", "apex", "offset")
    curves = ("scores", "keymask", "selected", "weights")
    result: dict[str, list] = {key: [] for key in keys + curves}
    for batch in make_loader(dataset, cfg, shuffle=False):
        frames, lengths, labels, apex = _to_device(batch, device)
        with _autocast(device, cfg):
            out = model(frames, lengths, apex)
        probs = out["logits"].float().softmax(dim=1).cpu()
        result["sample_ids"] += list(batch["sample_ids"])
        result["subjects"] += list(batch["subjects"])
        result["labels"] += batch["labels"].tolist()
        result["preds"] += probs.argmax(dim=1).tolist()
        result["probs"] += probs.tolist()
        for key in ("lengths", "onset", "apex", "offset"):
            result[key] += batch[key].tolist()
        for key in (c for c in curves if c in out):
            values = out[key].float().cpu()
            result[key] += [row[:n].tolist() for row, n in zip(values, batch["lengths"].tolist())]
    return result


class CheckpointError(ValueError):
    """A checkpoint cannot be written or read; the message names the file and the cause."""


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Atomically ``torch.save`` a dict of tensors / plain Python values.

    Raises :class:`CheckpointError` naming the file when it cannot be written (e.g. a full disk);
    the previous checkpoint at ``path``, if any, is left as it was.
    """
    try:
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    except (OSError, RuntimeError) as err:
        free = _free_bytes(Path(path).parent)
        where = f"; {free / 2**20:.0f} MiB free on its disk" if free is not None else ""
        raise CheckpointError(
            f"{path}: cannot write the checkpoint ({type(err).__name__}: {str(err).splitlines()[0]}{where})"
        ) from err


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`fit` (tensors and plain values only; ``weights_only=True``).

    Raises :class:`CheckpointError` naming the file for an empty, truncated or foreign file, or one
    holding anything but tensors and plain values (which is never unpickled).
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise CheckpointError(
            f"{path}: the checkpoint file is empty (an interrupted write?); delete it to retrain"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "unsupported global" not in str(err).lower():  # not a refused object: a damaged file
            raise CheckpointError(
                f"{path}: the checkpoint is truncated or not a PyTorch file; delete it to retrain"
            ) from None
        raise CheckpointError(
            f"{path}: the checkpoint holds objects other than tensors and plain values, so it was not "
            f"written by this toolkit or was altered; it is not loaded (delete it to retrain)"
        ) from None
    except Exception as err:  # a damaged file fails anywhere in the parser (EOFError, KeyError, ...)
        raise CheckpointError(
            f"{path}: the checkpoint is truncated or not a PyTorch file ({type(err).__name__}); delete it to retrain"
        ) from err
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an AKMNet checkpoint (format {CHECKPOINT_FORMAT!r} expected)")
    return state


def fit(
    model: nn.Module,
    dataset: Dataset,
    cfg: TrainConfig,
    *,
    epochs: int | None = None,
    checkpoint: str | os.PathLike | None = None,
    on_epoch: Callable[[int, nn.Module], dict] | None = None,
    tag: str = "",
    progress: EpochProgress | None = None,
    loss=None,
) -> list[dict]:
    """Train ``model`` on ``dataset`` for ``epochs`` (default ``cfg.epochs``) epochs.

    With ``checkpoint``, the state (weights, optimiser, history) is saved atomically after every epoch
    and training resumes from it when the file exists and was written with the same ``cfg`` and ``tag``.
    ``on_epoch(epoch, model)`` (1-based epoch) may return a dict stored in that epoch's history record.
    ``progress`` (`model.progress.EpochProgress`) is told the epochs to train and, after each epoch
    (checkpoint saved), its record and wall time; it only reads them. ``loss``: the loss added to the
    cross-entropy (`ModelSpec.loss`; default: ``cfg.model``'s).
    Returns the history: one dict per epoch with ``epoch``, ``lr`` and mean loss parts.
    """
    epochs = cfg.epochs if epochs is None else epochs
    device = resolve_device(cfg.device)
    use_threads(cfg)
    prepare_model(model, cfg, device)
    optimizer = optimizer_of(model, cfg)
    history: list[dict] = []
    start = 0
    identity = {"config": canonical_json(train_identity(cfg.to_dict())), "tag": tag, "epochs": epochs}
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        if state["identity"] != identity:
            raise ValueError(
                f"{checkpoint}: checkpoint was written for another configuration "
                f"({state['identity']}); remove it or use another output folder"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, start = list(state["history"]), int(state["epoch"])
    if progress is not None:
        progress.begin(epochs, start)
    for epoch in range(start, epochs):
        began = time.perf_counter()
        lr = learning_rate(epoch, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        record = {"epoch": epoch + 1, "lr": lr} | train_epoch(
            model, dataset, optimizer, cfg, epoch, device, loss
        )
        if on_epoch is not None:
            record |= on_epoch(epoch + 1, model)
        history.append(record)
        log.info(
            "epoch %d/%d %s",
            epoch + 1,
            epochs,
            {k: round(v, 4) for k, v in record.items() if isinstance(v, float)},
        )
        if checkpoint is not None:
            save_checkpoint(
                checkpoint,
                {
                    "format": CHECKPOINT_FORMAT,
                    "identity": identity,
                    "epoch": epoch + 1,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "history": history,
                },
            )
        if progress is not None:
            progress.epoch(record, time.perf_counter() - began)
    return history
