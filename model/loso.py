"""Leave-one-subject-out (LOSO) training and evaluation on an HDF5 clip cache, for every model of
`model.models.MODELS` (a flow model reads the cache's flow file, `pipeline.flow`).

``train_fold`` trains on every subject but one and writes that fold's outputs; ``aggregate`` pools the
folds' predictions into metrics, figures and a report; ``run_loso`` does both in-process.

Fold folder (``out_dir``): ``checkpoint.pt`` (per-epoch training state, resumable), ``inner.pt``
(``inner-val`` only), ``predictions.json`` (every output per test clip), ``predictions.csv`` and
``fold.json`` (summary, written last: its presence marks a finished fold).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.config import TrainConfig
from model.metrics import apex_localisation, classification_metrics, part_scores, per_subject_table
from model.protocols import PROTOCOLS, FoldContext, optimistic_epoch, optimistic_from
from model.registry import INPUTS, MODELS
from model.report import render_report
from model.results import KeyframeClip, RunMetrics
from model.status import FoldProgress, refresh
from model.train import build_model, describe_init, predict, resolve_device, train_model, use_threads
from pipeline.atomic import atomic_path, write_text
from pipeline.datasets.regroup import grouped_cache
from pipeline.identity import FOLD_PREFIX, fold_name, train_identity

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def _datasets(info, cfg: TrainConfig, *, subjects=None, exclude=None, train: bool, flow_path=None):
    """The model's input (`ModelSpec.input`, `model.registry.INPUTS`) of the chosen subjects of cache
    ``info`` (as grouped by ``cfg.grouping``)."""
    spec = INPUTS[MODELS[cfg.model].input]
    return spec.dataset(info, cfg, subjects=subjects, exclude=exclude, train=train, artifact=flow_path)


def train_fold(
    h5_path: str | os.PathLike,
    subject: str,
    cfg: TrainConfig,
    out_dir: str | os.PathLike,
    flow_path: str | os.PathLike | None = None,
    progress: FoldProgress | None = None,
) -> dict:
    """Train on every subject of the cache except ``subject``, evaluate on ``subject``; a flow model
    reads the cache's flow file ``flow_path`` (`pipeline.flow.compute_flow_file`).

    Resumes from ``out_dir/checkpoint.pt`` when present; returns the existing summary when
    ``out_dir/fold.json`` already records a finished fold with the same configuration.
    Returns the fold summary (also written to ``fold.json``). ``progress`` (`model.status.FoldProgress`)
    is told every epoch and keeps the fold's status file (done, or failed with the error).
    """
    with progress if progress is not None else contextlib.nullcontext():
        summary = _train_fold(h5_path, subject, cfg, Path(out_dir), flow_path, progress)
        if progress is not None:
            progress.finish(summary)
    return summary


def _train_fold(h5_path, subject: str, cfg: TrainConfig, out_dir: Path, flow_path, progress) -> dict:
    summary_path = out_dir / "fold.json"
    info = grouped_cache(h5_path, cfg.grouping)
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        same_training = train_identity(summary.get("config", {})) == train_identity(cfg.to_dict())
        if same_training and summary.get("content_hash") == info.content_hash:
            return summary
    protocol = PROTOCOLS[cfg.protocol]
    folds = protocol.folds(info)
    if subject not in folds:
        raise ValueError(
            f"{h5_path}: fold {subject!r} is not one of protocol {cfg.protocol!r}'s: {list(folds)}"
        )
    test_subjects = folds[subject]
    datasets = functools.partial(_datasets, info, cfg, flow_path=flow_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    use_threads(cfg)  # before any model is built
    device = resolve_device(cfg.device)
    train_subjects = [s for s in info.subjects if s not in test_subjects]
    test_set = datasets(subjects=test_subjects, train=False)
    num_classes = len(info.classes)

    fold = FoldContext(cfg, subject, train_subjects, datasets, num_classes, device, out_dir, progress)
    epochs, inner = protocol.epochs(fold)

    model = build_model(num_classes, cfg)
    train_set = datasets(exclude=test_subjects, train=True)

    def on_epoch(epoch, model):  # the test subject after every epoch; it never influences training
        p = predict(model, test_set, cfg, device)
        return {"test_accuracy": float(np.mean(np.equal(p["labels"], p["preds"]))), "test_predictions": p}

    history = train_model(
        model,
        train_set,
        cfg,
        epochs=epochs,
        checkpoint=out_dir / "checkpoint.pt",
        on_epoch=on_epoch,
        tag=f"{cfg.protocol} {subject}",
        progress=progress,
    )
    parts = {clip.sample_id: clip.part for clip in info.clips}
    selected_epoch = _write_predictions(history, protocol.select(history, fold), info.classes, parts, out_dir)
    summary = {
        "subject": subject,
        "test_subjects": test_subjects,
        "protocol": cfg.protocol,
        "optimistic": protocol.optimistic,
        "epoch": selected_epoch,
        "n_train": len(train_set),
        "n_test": len(test_set),
        "train_subjects": train_subjects,
        "classes": list(info.classes),
        "grouping": info.grouping,
        "left_out": info.left_out,
        "init": describe_init(cfg),
        "dataset": info.dataset,
        "cache": str(h5_path),
        "params_hash": info.params_hash,
        "content_hash": info.content_hash,
        "data_fingerprint": info.data_fingerprint,
        "history": history,
        "inner_val": inner,
        "config": cfg.to_dict(),
    }
    write_text(summary_path, json.dumps(summary, indent=1))
    log.info("fold %s finished: %d test clips, written to %s", subject, len(test_set), out_dir)
    return summary


def _write_predictions(
    history: list[dict], selected: int, classes: list[str], parts: dict[str, str], out_dir: Path
) -> int:
    """Move each epoch's test predictions out of ``history`` into ``epoch_predictions.json``, write the
    ``selected`` epoch's (the protocol's choice) as ``predictions.json`` and ``.csv``, each clip with its
    dataset (``parts``: sample id -> a composite's part); returns the epoch."""
    per_epoch = [r.pop("test_predictions") for r in history]
    write_text(
        out_dir / "epoch_predictions.json",
        json.dumps({"labels": per_epoch[-1]["labels"], "preds": [p["preds"] for p in per_epoch]}),
    )
    preds = per_epoch[selected - 1]
    preds["label_names"] = [classes[i] for i in preds["labels"]]
    preds["pred_names"] = [classes[i] for i in preds["preds"]]
    preds["parts"] = [parts[sample_id] for sample_id in preds["sample_ids"]]
    write_text(out_dir / "predictions.json", json.dumps(preds))
    _write_csv(_prediction_frame(preds, classes, bool(preds["scores"])), out_dir / "predictions.csv")
    return selected


def _prediction_frame(preds: dict, classes: list[str], frame_scores: bool) -> pd.DataFrame:
    import pandas as pd  # here, not at the top: pandas adds 0.3 s to every command's start

    frame = pd.DataFrame(
        {
            "sample_id": preds["sample_ids"],
            "subject": preds["subjects"],
            "label": preds["labels"],
            "pred": preds["preds"],
            "label_name": preds["label_names"],
            "pred_name": preds["pred_names"],
            "length": preds["lengths"],
            "apex": preds["apex"],
        }
    )
    if len(set(preds["parts"])) > 1:  # a composite: each clip's dataset
        frame.insert(1, "dataset", preds["parts"])
    if frame_scores:  # the model scores frames (`ModelSpec.frame_scores`)
        frame["max_b_frame"] = [int(np.argmax(s)) for s in preds["scores"]]
        frame["n_key"] = [int(round(sum(k))) for k in preds["keymask"]]
    for i, name in enumerate(classes):
        frame[f"score_{name}"] = [p[i] for p in preds["probs"]]
    return frame


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def _pick_keyframe_clips(preds: dict, n: int) -> list[int]:
    """Up to ``n`` clips for the key-frame figure, cycling through classes, known apex first."""
    order = sorted(range(len(preds["labels"])), key=lambda i: (preds["apex"][i] < 0, preds["sample_ids"][i]))
    by_class: dict[int, list[int]] = {}
    for i in order:
        by_class.setdefault(preds["labels"][i], []).append(i)
    chosen: list[int] = []
    while len(chosen) < n and any(by_class.values()):
        for label in sorted(by_class):
            if by_class[label] and len(chosen) < n:
                chosen.append(by_class[label].pop(0))
    return chosen


def optimistic_scores(folds: list[Path], summaries: list[dict], num_classes: int) -> dict:
    """Both readings of one run, from each fold's ``epoch_predictions.json``: ``fixed`` (the last epoch
    trained) and ``reference-optimistic`` (each fold's best epoch on its test subject from
    `optimistic_from` on, as the AKMNet reference selects; leaks the test subject). Each holds pooled
    ``accuracy``, ``uf1``, ``uar`` and ``fold_epochs``; ``from_epoch`` is the optimistic window's start."""
    config = summaries[0]["config"]  # a dict: its initial checkpoint need not exist any more
    first = optimistic_from(config["epochs"], config["optimistic_min_epoch"])
    labels: list[int] = []
    chosen: dict[str, list[int]] = {"fixed": [], "reference-optimistic": []}
    epochs: dict[str, dict[str, int]] = {"fixed": {}, "reference-optimistic": {}}
    for fold, summary in zip(folds, summaries):
        saved = json.loads((fold / "epoch_predictions.json").read_text())
        accuracy = [r["test_accuracy"] for r in summary["history"]]
        best = optimistic_epoch(accuracy, first)
        for name, epoch in (("fixed", len(accuracy)), ("reference-optimistic", best)):
            chosen[name] += saved["preds"][epoch - 1]
            epochs[name][summary["subject"]] = epoch
        labels += saved["labels"]
    out: dict = {"from_epoch": first}
    for name, preds in chosen.items():
        s = classification_metrics(labels, preds, num_classes)
        out[name] = {"accuracy": s["accuracy"], "uf1": s["uf1"], "uar": s["uar"], "fold_epochs": epochs[name]}
    return out


def aggregate(
    run_dir: str | os.PathLike, *, keyframe_clips: int = 6, configuration: list[str] | None = None
) -> RunMetrics:
    """Pool every finished fold under ``run_dir`` into ``predictions.csv``, ``metrics.json``,
    ``confusion.png``, ``per_subject.png``, ``keyframes.png`` and ``report.md``; returns the metrics.

    ``configuration`` (the configuration files the tasks used) is stored in metrics.json and the report."""
    run_dir = Path(run_dir)
    folds, summaries = _finished_folds(run_dir)
    first = summaries[0]
    classes = first["classes"]
    pooled: dict[str, list] = {}
    for fold in folds:
        for key, values in json.loads((fold / "predictions.json").read_text()).items():
            pooled.setdefault(key, []).extend(values)

    scores = classification_metrics(pooled["labels"], pooled["preds"], len(classes))
    per_subject = per_subject_table(pooled["subjects"], pooled["labels"], pooled["preds"], len(classes))
    metrics = RunMetrics(
        accuracy=scores["accuracy"],
        uf1=scores["uf1"],
        uar=scores["uar"],
        n_samples=scores["n_samples"],
        n_subjects=len(per_subject),
        classes=classes,
        per_subject=per_subject,
        protocol=first["protocol"],
        optimistic=PROTOCOLS[first["protocol"]].optimistic,
        confusion=scores["confusion"],
        per_class=scores["per_class"],
        apex_localisation=apex_localisation(pooled["scores"], pooled["apex"]),
        fold_epochs={s["subject"]: s["epoch"] for s in summaries},
        selection=optimistic_scores(folds, summaries, len(classes)),
        parts=part_scores(pooled["parts"], pooled["labels"], pooled["preds"], len(classes)),
        configuration=configuration,
        fold_threads={s["subject"]: s["config"].get("threads") for s in summaries},
        **{key: first[key] for key in _CARRIED},
    )
    frame_scores = MODELS[first["config"]["model"]].frame_scores
    _write_csv(_prediction_frame(pooled, classes, frame_scores), run_dir / "predictions.csv")
    _write_figures(run_dir, metrics, pooled, summaries, keyframe_clips if frame_scores else 0)
    write_text(run_dir / "report.md", render_report(metrics))
    metrics.write(run_dir / "metrics.json")
    refresh(run_dir)  # the status file says the run is aggregated
    log.info(
        "%s: accuracy %.4f, UF1 %.4f, UAR %.4f over %d clips (%s)",
        run_dir.name, metrics.accuracy, metrics.uf1, metrics.uar, metrics.n_samples, metrics.protocol,
    )  # fmt: skip
    return metrics


#: what a run's metrics carry over from its folds' summaries as they are
_CARRIED = (
    "grouping", "left_out", "init", "dataset", "cache", "params_hash", "content_hash", "data_fingerprint", "config",
)  # fmt: skip


def _finished_folds(run_dir: Path) -> tuple[list[Path], list[dict]]:
    """The finished folds under ``run_dir`` and their summaries, checked to share one training
    configuration, class list and cache (a ValueError naming the fold that differs)."""
    folds = sorted(p.parent for p in run_dir.glob(f"{FOLD_PREFIX}*/fold.json"))
    if not folds:
        raise ValueError(f"{run_dir}: no finished fold (no {FOLD_PREFIX}*/fold.json)")
    summaries = [json.loads((f / "fold.json").read_text()) for f in folds]
    first = summaries[0]
    for fold, s in zip(folds, summaries):
        for key in ("config", "classes", "params_hash", "content_hash"):
            mine, theirs = s.get(key), first.get(key)
            if key == "config":
                mine, theirs = train_identity(mine), train_identity(theirs)
            if mine != theirs:
                raise ValueError(f"{fold / 'fold.json'}: field {key!r} differs from {folds[0] / 'fold.json'}")
    return folds, summaries


def _write_figures(
    run_dir: Path, metrics: RunMetrics, pooled: dict, summaries: list[dict], keyframe_clips: int
):
    """confusion.png, per_subject.png, keyframes.png (``keyframe_clips`` clips, 0: none) and training.png."""
    from model import figures  # matplotlib: imported only to draw (0.3 s of every command's start)

    tag = " [reference-optimistic]" if metrics.optimistic else ""
    title = f"UF1 {metrics.uf1:.3f}, UAR {metrics.uar:.3f}{tag}"
    figures.plot_confusion(metrics.confusion, metrics.classes, run_dir / "confusion.png", title)
    figures.plot_per_subject(metrics.per_subject, run_dir / "per_subject.png", f"per subject{tag}")
    clips = [
        KeyframeClip(
            sample_id=pooled["sample_ids"][i],
            scores=pooled["scores"][i],
            keymask=pooled["keymask"][i],
            onset=int(pooled["onset"][i]),
            apex=int(pooled["apex"][i]),
            offset=int(pooled["offset"][i]),
            label_name=pooled["label_names"][i],
            pred_name=pooled["pred_names"][i],
        )
        for i in _pick_keyframe_clips(pooled, keyframe_clips)
    ]
    if clips:
        figures.plot_keyframes(clips, run_dir / "keyframes.png", f"b_t and key frames{tag}")
    histories = {s["subject"]: s["history"] for s in summaries if s.get("history")}
    if histories:
        figures.plot_training_curves(histories, run_dir / "training.png", f"training, {len(histories)} folds")


def run_loso(
    h5_path: str | os.PathLike,
    cfg: TrainConfig,
    run_dir: str | os.PathLike,
    subjects: list[str] | None = None,
    flow_path: str | os.PathLike | None = None,
    quiet: bool = True,
) -> RunMetrics:
    """Every fold (or only ``subjects``) in-process, then :func:`aggregate`; returns the metrics. A flow
    model without ``flow_path`` computes the flow file into ``run_dir/flow.h5`` first. The run's status
    file is kept (`model.status`); ``quiet=False`` shows every epoch on the console."""
    run_dir = Path(run_dir)
    if INPUTS[MODELS[cfg.model].input].artifact == "flow" and flow_path is None:
        from pipeline.flow import compute_flow_file, flow_params

        flow_path = run_dir / "flow.h5"
        if not flow_path.exists():
            compute_flow_file(
                h5_path, flow_path, flow_params(cfg.input_options.flow_method), source=cfg.source
            )
    info = grouped_cache(h5_path, cfg.grouping)
    folds = list(PROTOCOLS[cfg.protocol].folds(info))
    for subject in subjects or folds:
        progress = FoldProgress(run_dir, subject, folds, epochs=cfg.epochs,
                                name=f"{info.dataset}/{cfg.recipe}", quiet=quiet)  # fmt: skip
        train_fold(h5_path, subject, cfg, run_dir / fold_name(subject), flow_path, progress)
    return aggregate(run_dir)
